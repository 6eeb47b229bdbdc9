"""A person in danger always gets help: recognised before anything else (also inside a form),
answered at once with the numbers, the places and the group's contact, and never stored."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from bot.chat.conversation import Conversation
from bot.chat.router import Router
from bot.clock import FakeClock
from bot.delivery.outbox import Priority
from bot.domain.campaign import CampaignPack, ResidentialGroups
from bot.residents.chat import Residents
from bot.residents.distress import Distress, is_distress
from bot.storage.db import Database
from bot.storage.models import ChatState, OutboxMessage
from tests.support.chat import ChatDriver
from tests.support.pack import small_pack
from tests.support.reporting import bound_chat, reporting_pack

START = datetime(2025, 11, 16, 2, 0, tzinfo=UTC)
DISCLOSURE = "chồng tôi đánh tôi, tôi phải làm sao"


@pytest.mark.parametrize(
    "typed",
    [
        DISCLOSURE,
        "cứu tôi với",
        "cuu toi voi",
        "CỨU!!!",
        "giúp tôi với",
        "giup toi",
        "tôi sợ lắm",
        "con tôi bị xâm hại",
        "anh ta đe doạ giết tôi",
        "anh ta đe dọa tôi",
        "bị đánh suốt",
        "tôi bị bạo hành",
        "hiếp dâm",
        "Help me please",
        "he hits me every night",
        "I am scared",
        unicodedata.normalize("NFD", "chồng tôi đánh tôi"),  # phones send decomposed letters
    ],
)
def test_words_of_danger_are_recognised(typed: str) -> None:
    assert is_distress(typed)


@pytest.mark.parametrize(
    "typed",
    [
        "giúp",  # bare: the help command
        "help",
        "dừng",
        "stop",
        "đánh giá kết quả tuyên truyền",
        "danh sách khối phố",  # «đánh» only with its diacritics
        "số điện thoại của phường",  # «sợ» without diacritics is «số»
        "từ từ đã",  # «tự tử» without diacritics
        "Tổ chức 3 buổi tuyên truyền phòng chống bạo lực gia đình",
        "Hội thảo về bạo lực trên cơ sở giới",
        "hiệp hội phụ nữ",
        "nghiên cứu khoa học",
        "Khối phố 5",
        "cứu trợ lũ lụt",
        "",
    ],
)
def test_ordinary_words_are_not_mistaken_for_danger(typed: str) -> None:
    assert not is_distress(typed)


def pack_with_contact() -> CampaignPack:
    pack = small_pack()
    groups = ResidentialGroups(
        kind="khối phố", count=12, focal_points={"Khối phố 5": "bà Lò Thị Hoa, 0912 000 111"}
    )
    return pack.model_copy(update={"residential_groups": groups})


def conversation(db: Database, pack: CampaignPack) -> Conversation:
    router = Router()
    Distress(pack).register(router)
    Residents(pack).register(router)
    return Conversation(db, router, FakeClock(START))


async def subscribed(db: Database, pack: CampaignPack, lang: str = "Tiếng Việt") -> ChatDriver:
    chat = ChatDriver(conversation(db, pack), FakeClock(START))
    await chat.type("/start")
    await chat.press_label(lang)
    await chat.press_label("Khối phố 5")
    return chat


async def test_the_answer_gives_numbers_places_contact_and_how_to_delete(db: Database) -> None:
    chat = await subscribed(db, pack_with_contact())
    replies = await chat.type(DISCLOSURE)
    answer = chat.texts()
    assert len(replies) == 1
    for line in ("• 113 – Công an", "• 115 – Cấp cứu", "• 111 – Tổng đài bảo vệ trẻ em"):
        assert line in answer
    assert "Địa chỉ tin cậy tại cộng đồng" in answer  # the pack's trusted address
    assert "Người liên hệ của Khối phố 5: bà Lò Thị Hoa, 0912 000 111" in answer
    assert "xóa cuộc trò chuyện này" in answer
    assert "bạo lực" not in answer  # discreet: the words an onlooker would notice stay out
    async with db.session() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
        values: list[str] = []
        for table in ("chat_state", "outbox", "processed_update", "subscriber"):
            for row in (await session.execute(text(f"SELECT * FROM {table}"))).all():
                values.extend(str(value) for value in row)
    stored = " ".join(values)
    assert rows[-1].priority == Priority.REPLY  # the reply lane, ahead of any bulk post
    assert "chồng tôi" not in stored  # the text itself is kept nowhere


async def test_the_answer_in_english_without_a_contact(db: Database) -> None:
    chat = await subscribed(db, small_pack(), lang="English")
    await chat.type("cứu tôi với")
    answer = chat.texts()
    assert "• 113 – Police" in answer
    assert "Contact person" not in answer  # the pack names none for this group
    assert "delete this conversation" in answer


async def test_inside_a_report_form_the_answer_comes_first_and_the_form_waits(
    db: Database,
) -> None:
    clock = FakeClock(START)
    pack = reporting_pack()
    chat = await bound_chat(db, clock, pack, "tram-y-te")
    await chat.type("/baocao")
    async with db.session() as session:
        before = await session.get(ChatState, ("telegram", chat.chat_id))
        assert before is not None
        flow, step, data = before.flow, before.step, before.data
    assert flow == "report"
    await chat.type("giúp tôi với, tôi đang gặp nguy hiểm")
    assert "113" in chat.texts()
    assert "gõ lại câu trả lời để tiếp tục" in chat.texts()
    async with db.session() as session:
        after = await session.get(ChatState, ("telegram", chat.chat_id))
        assert after is not None
        assert (after.flow, after.step, after.data) == (flow, step, data)


async def test_every_fallback_carries_the_hotline_line(db: Database) -> None:
    pack = small_pack()
    stranger = ChatDriver(conversation(db, pack), FakeClock(START), chat_id="9101")
    await stranger.type("xin chào")
    assert "113 (công an), 115 (cấp cứu), 111" in stranger.texts()
    chat = await subscribed(db, pack)
    await chat.type("hôm nay trời đẹp")
    assert "Mình là bot tự động" in chat.texts()
    assert "113 (công an), 115 (cấp cứu), 111" in chat.texts()
    await chat.sticker()
    assert "113 (công an)" in chat.texts()


async def test_bare_words_work_as_commands(db: Database) -> None:
    chat = await subscribed(db, small_pack())
    await chat.type("giúp")
    assert "Các lệnh:" in chat.texts()
    await chat.type("Help")
    assert "Các lệnh:" in chat.texts()
    await chat.type("dừng")
    assert "Bạn đã dừng nhận tin" in chat.texts()
    await chat.type("/batdau")
    await chat.type("STOP")
    assert "Bạn đã dừng nhận tin" in chat.texts()
