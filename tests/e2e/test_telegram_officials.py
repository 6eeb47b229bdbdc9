"""End to end on Telegram (python-telegram-bot against the fake Bot API over real HTTP): an
official sends a photo mid-form, adds a row with /nhanh, answers «Không có», edits one figure
with «sửa», and sends; the stored report holds every figure they entered."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import select

from bot.app import Loa, build_loa
from bot.channels.telegram.receiver import TelegramReceiver
from bot.channels.telegram.sender import TelegramSender
from bot.clock import FakeClock
from bot.delivery.limiter import ChannelLimits
from bot.demo import DemoDriver, Person, Transcript
from bot.reporting.chat import SPENT_BUTTONS
from bot.reporting.officials import create_invite
from bot.storage.db import Database
from bot.storage.models import ReportDraft, ReportSubmission, Subscriber
from fakes.botapi import FakeBotApi
from tests.support.reporting import START, reporting_pack

TOKEN = "7000000002:e2e-officials"


@dataclass
class Officials:
    server: FakeBotApi
    loa: Loa
    driver: DemoDriver
    clock: FakeClock


@pytest.fixture
async def officials(tmp_path: Path) -> AsyncIterator[Officials]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}")
    await db.create_all()
    clock = FakeClock(START)
    async with FakeBotApi() as server:
        base_url = f"{server.url}/bot"
        sender = TelegramSender(TOKEN, base_url, timeout=2.0)
        driver = DemoDriver(server, Transcript())
        loa = build_loa(
            db=db,
            pack=reporting_pack(),
            clock=clock,
            channels={"telegram": sender},
            limits={"telegram": ChannelLimits(per_second=500.0, per_chat_per_second=100.0)},
            after_turn=driver.turned,
        )
        receiver = TelegramReceiver(
            token=TOKEN,
            base_url=base_url,
            accept=loa.inbox.accept_many,
            clock=clock,
            spent_buttons=SPENT_BUTTONS,
        )
        await loa.inbox.start()
        await loa.dispatcher.start()
        await receiver.start_polling(poll_seconds=1)
        try:
            yield Officials(server, loa, driver, clock)
        finally:
            await receiver.stop()
            await loa.inbox.stop()
            await loa.dispatcher.stop()
            await sender.aclose()
            await db.dispose()


def last_text(env: Officials, who: Person) -> str:
    return env.server.sent_to(who.chat_id, "sendMessage")[-1].text or ""


async def test_photo_quick_row_none_and_one_field_edit_keep_every_figure(
    officials: Officials,
) -> None:
    env, drv = officials, officials.driver
    invite = await create_invite(
        env.loa.db, pack=reporting_pack(), role="official", agency_id="kp-1", now=env.clock.now()
    )
    mai = Person("Mai", 3001)
    await drv.say(mai, f"/start {invite.code}")
    await drv.say(mai, "/baocao")
    question = env.server.sent_to(mai.chat_id, "sendMessage")[-1]
    assert question.message_id is not None
    assert env.server.markup_of(mai.chat_id, int(question.message_id)) is not None
    await drv.press(mai, "Lễ phát động")
    # the pressed message loses its buttons (editMessageReplyMarkup); the new question has its own
    await env.server.wait_for(1, chat_id=mai.chat_id, method="editMessageReplyMarkup", timeout=10)
    assert env.server.markup_of(mai.chat_id, int(question.message_id)) is None
    await drv.photo(mai)  # a photo of the event, in the middle of the row
    assert "đang điền báo cáo" in last_text(env, mai)
    assert "Số cuộc/đoàn" in last_text(env, mai)
    for answer in ("2", "40", "60"):
        await drv.say(mai, answer)
    await drv.press(mai, "Cấp xã (phường, xã)")
    await drv.press(mai, "Không")  # no other activity
    await drv.say(mai, "/nhanh sanpham tờ rơi 200 0 0")
    assert "Đã hiểu: Tờ rơi/tài liệu — số lượng 200, 0 nam, 0 nữ" in last_text(env, mai)
    await drv.press(mai, "Không có")  # media: none
    await drv.say(mai, "gửi")  # only what is missing: the product's level, the required text
    await drv.press(mai, "Cấp xã (phường, xã)")
    await drv.say(mai, "Người dân hưởng ứng tích cực.")
    assert "Tóm tắt báo cáo" in last_text(env, mai)
    await drv.say(mai, "sửa 1 nữ 65")
    assert "Lễ phát động — 2 cuộc/đoàn, 40 nam, 65 nữ" in last_text(env, mai)
    await drv.press(mai, "Gửi")
    assert "Đã nhận báo cáo" in last_text(env, mai)

    async with env.loa.db.session() as session:
        rows = list((await session.execute(select(ReportSubmission))).scalars())
        residents = list((await session.execute(select(Subscriber))).scalars())
    assert residents == []  # the photo never started the residents' sign-up
    assert len(rows) == 1
    data = json.loads(rows[0].data_json)
    assert data["tables"] == {
        "activities": [
            {"kind": "launch", "sessions": 2, "male": 40, "female": 65, "level": "commune"}
        ],
        "media": [],
        "products": [
            {"kind": "leaflet", "quantity": 200, "male": 0, "female": 0, "level": "commune"}
        ],
    }
    assert data["values"]["assessment"]["results"] == "Người dân hưởng ứng tích cực."


async def bind_and_send_a_report(env: Officials, who: Person) -> None:
    """Bind `who` to kp-1 and send one report (a /nhanh row, then what is missing)."""
    drv = env.driver
    invite = await create_invite(
        env.loa.db, pack=reporting_pack(), role="official", agency_id="kp-1", now=env.clock.now()
    )
    await drv.say(who, f"/start {invite.code}")
    await drv.say(who, "/nhanh hoatdong 2 40 60")
    await drv.say(who, "gửi")
    await drv.press(who, "Lễ phát động")
    await drv.press(who, "Cấp xã (phường, xã)")
    await drv.say(who, "Tốt.")
    await drv.press(who, "Gửi")
    assert "Đã nhận báo cáo" in last_text(env, who)


async def test_the_open_amendment_question_owns_what_is_typed(officials: Officials) -> None:
    env, drv = officials, officials.driver
    lan = Person("Lan", 3002)
    await bind_and_send_a_report(env, lan)
    await drv.say(lan, "/nhanh hoatdong 1 5 5")
    assert "Mở bản sửa đổi" in last_text(env, lan)
    for chat_chat in ("xin chào", "5"):  # neither an answer nor the residents' business
        await drv.say(lan, chat_chat)
        assert "Mình đang chờ câu trả lời" in last_text(env, lan)
        assert "«có» hoặc «không»" in last_text(env, lan)
    await drv.photo(lan)
    assert "Mình đang chờ câu trả lời" in last_text(env, lan)
    await drv.say(lan, "không")
    assert "Không thêm gì" in last_text(env, lan)
    await drv.say(lan, "/nhanh hoatdong 1 5 5")
    await drv.say(lan, "1")  # the first button: [Có]
    assert "Đã hiểu: 1 cuộc/đoàn, 5 nam, 5 nữ" in last_text(env, lan)
    async with env.loa.db.session() as session:
        drafts = list((await session.execute(select(ReportDraft))).scalars())
        residents = list((await session.execute(select(Subscriber))).scalars())
    assert residents == []
    assert len(drafts) == 1
    assert len(json.loads(drafts[0].state_json)["tables"]["activities"]) == 2


async def test_a_greeting_at_a_text_question_is_not_its_answer(officials: Officials) -> None:
    env, drv = officials, officials.driver
    invite = await create_invite(
        env.loa.db, pack=reporting_pack(), role="official", agency_id="kp-1", now=env.clock.now()
    )
    hoa = Person("Hoa", 3003)
    await drv.say(hoa, f"/start {invite.code}")
    await drv.say(hoa, "/nhanh hoatdong 2 40 60")
    await drv.say(hoa, "gửi")
    await drv.press(hoa, "Lễ phát động")
    await drv.press(hoa, "Cấp xã (phường, xã)")
    question = last_text(env, hoa)  # the required free-text question
    for chit_chat in ("xin chào", "Alo", "Cảm ơn!", "hello"):
        await drv.say(hoa, chit_chat)
        assert "Chào anh/chị!" in last_text(env, hoa)
        assert "tạm dừng" in last_text(env, hoa)
        assert question.split("\n")[-1] in last_text(env, hoa)
    await drv.say(hoa, "Xin chào bà con, buổi lễ đông vui.")  # a real answer is kept as typed
    assert "Tóm tắt báo cáo" in last_text(env, hoa)
    await drv.press(hoa, "Gửi")
    async with env.loa.db.session() as session:
        rows = list((await session.execute(select(ReportSubmission))).scalars())
    data = json.loads(rows[0].data_json)
    assert data["values"]["assessment"]["results"] == "Xin chào bà con, buổi lễ đông vui."


async def test_a_question_answered_by_typing_loses_its_buttons(officials: Officials) -> None:
    env, drv = officials, officials.driver
    invite = await create_invite(
        env.loa.db, pack=reporting_pack(), role="official", agency_id="kp-1", now=env.clock.now()
    )
    minh = Person("Minh", 3004)
    await drv.say(minh, f"/start {invite.code}")

    def with_buttons() -> list[int]:
        """The bot's messages in this chat whose keyboard is still there."""
        ids = [int(c.message_id or 0) for c in env.server.sent_to(minh.chat_id, "sendMessage")]
        return [i for i in ids if env.server.markup_of(minh.chat_id, i) is not None]

    await drv.say(minh, "/baocao")
    first = with_buttons()
    assert len(first) == 1
    await drv.say(minh, "1")  # typed, not pressed: «Lễ phát động»
    await drv.say(minh, "2")  # typed: the number of sessions
    await env.server.wait_for(2, chat_id=minh.chat_id, method="editMessageReplyMarkup", timeout=10)
    live = with_buttons()
    assert first[0] not in live
    assert len(live) == 1  # only the question now asked has live buttons
    assert "Số người tham gia – Nam" in last_text(env, minh)
    await drv.say(minh, "tạm dừng")  # leaving the form spends the last question's buttons
    await env.server.wait_for(3, chat_id=minh.chat_id, method="editMessageReplyMarkup", timeout=10)
    assert with_buttons() == []
