"""A poster's deep link `/start g<n>` subscribes the resident to group n without asking it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from bot.chat.conversation import Conversation
from bot.chat.router import Router
from bot.clock import FakeClock
from bot.domain.deeplinks import group_number, group_payload, telegram_start_link
from bot.residents.chat import Residents
from bot.storage.db import Database
from bot.storage.models import Subscriber
from tests.support.chat import ChatDriver
from tests.support.pack import small_pack

START = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)


async def subscriber(db: Database, chat_id: str = "1001") -> Subscriber | None:
    async with db.session() as session:
        stmt = select(Subscriber).where(col(Subscriber.chat_id) == chat_id)
        return (await session.execute(stmt)).scalars().first()


@pytest.fixture
def chat(db: Database) -> ChatDriver:
    router = Router()
    Residents(small_pack(groups=12)).register(router)
    clock = FakeClock(START)
    return ChatDriver(Conversation(db, router, clock), clock)


def test_group_payloads_round_trip_and_reject_other_text() -> None:
    assert group_payload(12) == "g12"
    assert group_number("g12") == 12
    assert telegram_start_link("@loa_bot", "g3") == "https://t.me/loa_bot?start=g3"
    for other in ("g0", "g", "G12", "g12x", "ABCDEFGHJK", "g123456", ""):
        assert group_number(other) is None, other
    with pytest.raises(ValueError, match="start at 1"):
        group_payload(0)


async def test_the_link_picks_the_group_and_only_the_language_is_asked(
    db: Database, chat: ChatDriver
) -> None:
    await chat.type("/start g3")
    assert "Bạn thuộc Khối phố 3 (theo mã QR trên áp phích)" in chat.texts()
    assert "/khoi" in chat.texts()
    assert chat.labels() == ["Tiếng Việt", "English"]
    await chat.press_label("English")
    assert "English selected." in chat.texts()
    assert "Which khối phố" not in chat.texts()  # no group question
    assert "/khauhieu" in chat.texts()  # ready
    row = await subscriber(db)
    assert row is not None
    assert (row.status, row.lang, row.group_code) == ("active", "en", "Khối phố 3")
    await chat.type("/khoi")  # still changeable
    assert "Which khối phố" in chat.texts()


async def test_an_unknown_group_gets_the_normal_questions(db: Database, chat: ChatDriver) -> None:
    await chat.type("/start g99")
    assert "theo mã QR" not in chat.texts()
    await chat.press_label("Tiếng Việt")
    assert "Bạn sống ở khối phố nào?" in chat.texts()
    row = await subscriber(db)
    assert row is not None
    assert row.group_code is None


async def test_a_subscriber_scanning_another_poster_moves_group(
    db: Database, chat: ChatDriver
) -> None:
    await chat.type("/start")
    await chat.press_label("Tiếng Việt")
    await chat.press_label("Khối phố 1")
    await chat.type("/start g7")
    assert "Bạn thuộc Khối phố 7" in chat.texts()
    row = await subscriber(db)
    assert row is not None
    assert row.group_code == "Khối phố 7"


async def test_a_pending_theme_is_not_shown(db: Database) -> None:
    pack = small_pack()
    info = pack.campaign.model_copy(update={"theme": "", "theme_pending": True})
    router = Router()
    Residents(pack.model_copy(update={"campaign": info})).register(router)
    clock = FakeClock(START)
    chat = ChatDriver(Conversation(db, router, clock), clock)
    await chat.type("/start")
    assert "Xin chào! Mình là Loa" in chat.texts()
    assert "Chủ đề năm nay" not in chat.texts()
