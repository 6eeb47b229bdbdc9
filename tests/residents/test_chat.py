"""The resident conversation, played as a chat against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import unicodedata
from datetime import UTC, datetime

import pytest
from sqlmodel import col, func, select

from bot.channels.base import Inbound, InboundKind
from bot.chat.conversation import Conversation
from bot.chat.router import Router
from bot.clock import FakeClock, SeededRandomness
from bot.residents.chat import Residents
from bot.storage.db import Database
from bot.storage.models import ChatState, OutboxMessage, Subscriber
from tests.support.chat import ChatDriver, find_subscriber
from tests.support.pack import small_pack

START = datetime(2025, 11, 16, 2, 0, tzinfo=UTC)


def make_conversation(db: Database, clock: FakeClock, *, groups: int = 12) -> Conversation:
    router = Router()
    Residents(small_pack(groups=groups)).register(router)
    return Conversation(db, router, clock)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


async def subscriber(db: Database, chat_id: str = "1001") -> Subscriber | None:
    return await find_subscriber(db, chat_id)


async def outbox_count(db: Database, chat_id: str = "1001") -> int:
    async with db.session() as session:
        stmt = (
            select(func.count())
            .select_from(OutboxMessage)
            .where(col(OutboxMessage.chat_id) == chat_id)
        )
        return int((await session.execute(stmt)).scalar_one())


async def test_start_asks_language_then_group_then_is_ready(db: Database, clock: FakeClock) -> None:
    chat = ChatDriver(make_conversation(db, clock), clock)
    await chat.type("/start")
    assert "Bình đẳng giới và an toàn cho phụ nữ và trẻ em gái trong kỷ nguyên số" in chat.texts()
    assert chat.labels() == ["Tiếng Việt", "English"]
    await chat.press_label("Tiếng Việt")
    assert "khối phố" in chat.texts()
    assert chat.labels()[:2] == ["Khối phố 1", "Khối phố 2"]
    assert "Trang sau ›" in chat.labels()
    await chat.press_label("Trang sau ›")
    assert "Khối phố 9" in chat.labels()
    await chat.press_label("Khối phố 10")
    assert "Đã ghi nhận: Khối phố 10." in chat.texts()
    assert "/khauhieu" in chat.texts()
    row = await subscriber(db)
    assert row is not None
    assert (row.status, row.lang, row.group_code) == ("active", "vi", "Khối phố 10")
    # every reply went into the outbox, as replies (priority 0)
    assert await outbox_count(db) == 7


async def test_english_and_numbered_replies_and_typed_group(db: Database, clock: FakeClock) -> None:
    chat = ChatDriver(make_conversation(db, clock), clock)
    await chat.type("/start")
    await chat.type("2")  # numbered reply: the second choice, English
    assert "English selected." in chat.texts()
    assert "Which khối phố" in chat.texts()
    await chat.type("khoi pho 11")  # typed without diacritics
    assert "Noted: Khối phố 11." in chat.texts()
    row = await subscriber(db)
    assert row is not None
    assert (row.lang, row.group_code) == ("en", "Khối phố 11")


async def test_group_can_be_skipped_and_unknown_name_is_answered(
    db: Database, clock: FakeClock
) -> None:
    chat = ChatDriver(make_conversation(db, clock), clock)
    await chat.type("/start")
    await chat.press("lang:vi")
    await chat.type("Khối Mặt Trăng")
    assert "Mình chưa tìm thấy «Khối Mặt Trăng»" in chat.texts()
    await chat.press_label("Không muốn nói")
    assert "Không sao" in chat.texts()
    row = await subscriber(db)
    assert row is not None
    assert row.group_code is None


async def test_slogans_are_grouped_and_verbatim(db: Database, clock: FakeClock) -> None:
    chat = ChatDriver(make_conversation(db, clock), clock)
    await chat.type("/khauhieu")
    assert chat.labels() == [
        "Luật pháp, chính sách, chủ trương",
        "Huy động sự tham gia của nam giới và xã hội",
    ]
    await chat.press_label("Huy động sự tham gia của nam giới và xã hội")
    assert (
        "1. Chia sẻ việc nhà, gia đình hạnh phúc.\n2. Việc nhà không của riêng ai." in chat.texts()
    )


async def test_help_lists_hotlines(db: Database, clock: FakeClock) -> None:
    chat = ChatDriver(make_conversation(db, clock), clock)
    await chat.type("/trogiup")
    assert "• 111 – Tổng đài quốc gia bảo vệ trẻ em (miễn phí)" in chat.texts()
    assert "Địa chỉ tin cậy tại cộng đồng" in chat.texts()


async def test_stop_and_resume(db: Database, clock: FakeClock) -> None:
    chat = ChatDriver(make_conversation(db, clock), clock)
    await chat.type("/huy")
    assert "chưa đăng ký" in chat.texts()
    await chat.type("/start")
    await chat.type("/huy")
    assert "dừng nhận tin" in chat.texts()
    row = await subscriber(db)
    assert row is not None
    assert row.status == "stopped"
    await chat.type("/huy")
    assert "đang không nhận tin" in chat.texts()
    await chat.type("/batdau")
    row = await subscriber(db)
    assert row is not None
    assert row.status == "active"


async def test_stop_cancels_queued_bulk_messages(db: Database, clock: FakeClock) -> None:
    chat = ChatDriver(make_conversation(db, clock), clock)
    await chat.type("/start")
    async with db.session() as session:
        session.add(
            OutboxMessage(
                channel="telegram",
                chat_id="1001",
                text="Thông điệp ngày 2.",
                priority=2,
                next_attempt_at=START,
                created_at=START,
            )
        )
    await chat.type("/huy")
    async with db.session() as session:
        stmt = select(OutboxMessage.status).where(col(OutboxMessage.priority) == 2)
        assert (await session.execute(stmt)).scalars().all() == ["cancelled"]


async def test_delete_data_needs_the_latest_confirmation(db: Database, clock: FakeClock) -> None:
    chat = ChatDriver(make_conversation(db, clock), clock)
    await chat.type("/start")
    await chat.press("lang:vi")
    await chat.type("/xoadulieu")
    old_yes = chat.last[-1].choices[0].data
    await chat.type("/xoadulieu")  # a second request: the first one's buttons are now stale
    new_yes, new_no = (c.data for c in chat.last[-1].choices)
    assert old_yes != new_yes
    await chat.press(old_yes)
    assert "Nút này đã cũ" in chat.texts()
    assert await subscriber(db) is not None
    await chat.press(new_no)
    assert "dữ liệu của bạn vẫn giữ nguyên" in chat.texts()
    await chat.type("/xoadulieu")
    await chat.press_label("Xóa dữ liệu")
    assert "Đã xóa toàn bộ dữ liệu" in chat.texts()
    assert await subscriber(db) is None
    async with db.session() as session:
        assert (await session.execute(select(ChatState))).scalars().all() == []
    # only the confirmation itself remains queued for this chat
    assert await outbox_count(db) == 1
    await chat.press(new_yes)  # pressed again from the old message
    assert "Nút này đã cũ" in chat.texts()
    assert await subscriber(db) is None


async def test_bad_input_always_gets_an_answer(db: Database, clock: FakeClock) -> None:
    chat = ChatDriver(make_conversation(db, clock), clock)
    await chat.type("xin chào")
    assert "/start" in chat.texts()
    await chat.type("/start")
    await chat.press("lang:vi")
    await chat.press("grp:skip")
    for text in ["😀🎉", "a" * 5000, unicodedata.normalize("NFD", "tôi cần giúp đỡ")]:
        replies = await chat.type(text)
        assert len(replies) == 1
        assert "Mình là bot tự động" in replies[0].text
        assert len(replies[0].text) < 300  # a long message is never echoed back
    await chat.sticker()
    assert "Mình chỉ đọc được tin nhắn chữ" in chat.texts()
    await chat.type("/khongco")
    assert "Mình không biết lệnh «/khongco»" in chat.texts()
    await chat.press("lang:xx")
    assert "Nút này đã cũ" in chat.texts()
    await chat.press("nothing:here")
    assert "Nút này đã cũ" in chat.texts()
    await chat.press("grp:999")
    assert "Nút này đã cũ" in chat.texts()


async def test_nfd_command_and_button_pressed_twice(db: Database, clock: FakeClock) -> None:
    chat = ChatDriver(make_conversation(db, clock), clock)
    await chat.type("/start")
    await chat.press("lang:vi")
    await chat.press("grp:3")
    await chat.press("grp:3")  # pressed twice: same result, nothing duplicated
    row = await subscriber(db)
    assert row is not None
    assert row.group_code == "Khối phố 4"
    async with db.session() as session:
        count = (await session.execute(select(func.count()).select_from(Subscriber))).scalar_one()
    assert count == 1


async def test_same_update_twice_is_handled_once(db: Database, clock: FakeClock) -> None:
    conversation = make_conversation(db, clock)
    inbound = Inbound(
        channel="telegram",
        chat_id="7",
        update_id="555",
        kind=InboundKind.COMMAND,
        received_at=START,
        text="/start",
        command="start",
    )
    first = await conversation.handle(inbound)
    second = await conversation.handle(inbound)
    assert first
    assert second == []
    assert await outbox_count(db, "7") == len(first)


async def test_two_updates_from_one_person_at_once(db: Database, clock: FakeClock) -> None:
    conversation = make_conversation(db, clock)

    def command(update_id: str, name: str) -> Inbound:
        return Inbound(
            channel="telegram",
            chat_id="8",
            update_id=update_id,
            kind=InboundKind.COMMAND,
            received_at=START,
            text="/" + name,
            command=name,
        )

    results = await asyncio.gather(
        conversation.handle(command("1", "start")),
        conversation.handle(command("2", "start")),
        conversation.handle(command("3", "khauhieu")),
    )
    assert all(results)
    async with db.session() as session:
        count = (await session.execute(select(func.count()).select_from(Subscriber))).scalar_one()
    assert count == 1


async def test_hour_and_muting(db: Database, clock: FakeClock) -> None:
    chat = ChatDriver(make_conversation(db, clock), clock)
    await chat.type("/gio 18:00")
    assert "chưa đăng ký" in chat.texts()
    await chat.type("/start")
    await chat.type("/gio")
    assert "lúc 07:30 mỗi ngày" in chat.texts()
    await chat.type("/gio 22:30")
    assert "giờ yên tĩnh" in chat.texts()
    await chat.type("/gio 25:00")
    assert "Giờ chưa đúng" in chat.texts()
    await chat.type("/gio 18h")
    assert "lúc 18:00" in chat.texts()
    row = await subscriber(db)
    assert row is not None
    assert row.delivery_hour == "18:00"
    await chat.type("/gio chung")
    await chat.type("/tatbai")
    assert "Đã tắt bài đăng hằng ngày" in chat.texts()
    await chat.type("/tatbai")
    assert "đang tắt" in chat.texts()
    row = await subscriber(db)
    assert row is not None
    assert (row.delivery_hour, row.posts_muted) == (None, True)
    await chat.type("/batbai")
    row = await subscriber(db)
    assert row is not None
    assert row.posts_muted is False


async def test_a_typed_number_is_the_groups_place_in_the_whole_list(
    db: Database, clock: FakeClock
) -> None:
    chat = ChatDriver(make_conversation(db, clock), clock)
    await chat.type("/start")
    await chat.type("1")  # the language question is numbered: Tiếng Việt
    assert chat.last[-1].numbered is False  # the group question is not
    await chat.type("trang sau")  # a typed label still works
    assert "(Trang 2/2)" in chat.texts()
    await chat.type("9")  # «9» is Khối phố 9, not the ninth button of page 2
    assert "Đã ghi nhận: Khối phố 9." in chat.texts()
    await chat.type("/khoi")
    await chat.type("13")
    assert "Mình chưa tìm thấy «13»" in chat.texts()


async def test_a_wrong_answer_to_the_language_question_asks_it_again(
    db: Database, clock: FakeClock
) -> None:
    chat = ChatDriver(make_conversation(db, clock), clock)
    await chat.type("/start")
    await chat.type("99")
    assert "Mình chưa hiểu «99»" in chat.texts()
    assert chat.labels() == ["Tiếng Việt", "English"]
    await chat.type("ENGLISH")  # a typed language name works too
    assert "English selected." in chat.texts()
    await chat.type("/ngonngu")
    await chat.type(unicodedata.normalize("NFD", "Tiếng Việt"))
    assert "Đã chọn tiếng Việt." in chat.texts()


async def test_a_language_name_typed_after_another_answer_still_counts(
    db: Database, clock: FakeClock
) -> None:
    chat = ChatDriver(make_conversation(db, clock), clock)
    await chat.type("/start")
    await chat.sticker()  # the menu replaces the language buttons as the last choices
    await chat.type(unicodedata.normalize("NFD", "Tiếng Việt"))
    assert "Đã chọn tiếng Việt." in chat.texts()
    await chat.type("khoi pho 12")
    assert "Đã ghi nhận: Khối phố 12." in chat.texts()


async def test_page_buttons_use_the_codec_and_an_old_page_button_is_stale(
    db: Database, clock: FakeClock
) -> None:
    chat = ChatDriver(make_conversation(db, clock), clock)
    await chat.type("/start")
    await chat.press("lang:vi")
    await chat.press("grp:p:2")
    assert chat.labels()[0] == "Khối phố 9"
    await chat.press("grp:p2")  # the page button's format before the codec
    assert "Nút này đã cũ" in chat.texts()


async def test_delete_confirmation_nonces_come_from_the_injected_randomness(
    db: Database, clock: FakeClock
) -> None:
    router = Router()
    Residents(small_pack()).register(router)
    conversation = Conversation(db, router, clock, randomness=SeededRandomness(7))
    chats = [ChatDriver(conversation, clock, str(n)) for n in (1, 2)]
    data = []
    for chat in chats:
        await chat.type("/start")
        await chat.type("/xoadulieu")
        data.append([c.data for c in chat.last[-1].choices])
    expected = SeededRandomness(7)
    expected.token_hex(4)  # /start draws one for the onboarding flow
    nonce = expected.token_hex(4)
    assert data[0] == [f"del:yes:{nonce}", f"del:no:{nonce}"]
    assert data[1] != data[0]  # one source for the process: the next chat draws the next nonce
    await chats[0].press(f"del:yes:{nonce[::-1]}")
    assert "Nút này đã cũ" in chats[0].texts()
    await chats[0].press(f"del:no:{nonce}")
    assert await subscriber(db, "1") is not None


@pytest.mark.parametrize("command", ["/khauhieu", "/trogiup"])
async def test_another_command_leaves_the_group_question(
    db: Database, clock: FakeClock, command: str
) -> None:
    """After /khoi then /khauhieu, the slogan menu is what the resident sees: a number beyond it
    must not quietly move them to another group."""
    chat = ChatDriver(make_conversation(db, clock), clock)
    await chat.type("/start")
    await chat.type("1")
    await chat.type("khoi pho 12")
    await chat.type("/khoi")
    await chat.type(command)
    await chat.type("4")
    row = await subscriber(db)
    assert row is not None
    assert row.group_code == "Khối phố 12"
    assert "Đã ghi nhận: Khối phố 4." not in chat.texts()


async def test_a_command_during_onboarding_leaves_it_and_the_group_stays_optional(
    db: Database, clock: FakeClock
) -> None:
    chat = ChatDriver(make_conversation(db, clock), clock)
    await chat.type("/start")
    await chat.type("1")  # Tiếng Việt; the group question follows
    await chat.type("/khauhieu")
    await chat.type("5")  # beyond the slogan menu: not «Khối phố 5»
    row = await subscriber(db)
    assert row is not None
    assert row.group_code is None
    await chat.type("/khoi")  # the group can still be chosen
    await chat.type("5")
    assert "Đã ghi nhận: Khối phố 5." in chat.texts()
