"""A poster's deep link `/start g-<group slug>` subscribes the resident to that group without
asking it, and keeps doing so when the pack's groups are later reordered or extended."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from bot.chat.conversation import Conversation
from bot.chat.router import Router
from bot.clock import FakeClock
from bot.domain.deeplinks import find_group, group_payload, is_group_payload, telegram_start_link
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
    names = ["Khối phố 1", "Khối phố 12", "Tổ dân phố Đồng Tâm"]
    assert group_payload("Khối phố 12") == "g-khoi-pho-12"
    assert group_payload("Tổ dân phố Đồng Tâm") == "g-to-dan-pho-dong-tam"
    assert find_group("g-khoi-pho-12", names) == "Khối phố 12"
    assert telegram_start_link("@loa_bot", "g-x") == "https://t.me/loa_bot?start=g-x"
    for other in ("g-khoi-pho-3", "g-", "G-KHOI-PHO-1", "g12", "ABCDEFGHJK", ""):
        assert find_group(other, names) is None, other
    assert is_group_payload("g-khoi-pho-99")
    assert not is_group_payload("ABCDEFGHJK")


def test_a_long_or_symbol_only_name_still_gets_a_short_unique_payload() -> None:
    long_a = "Tổ dân phố " + "rất dài " * 10 + "A"
    long_b = "Tổ dân phố " + "rất dài " * 10 + "B"
    payloads = {group_payload(name) for name in (long_a, long_b, "★", "☆")}
    assert len(payloads) == 4
    for payload in payloads:
        assert len(payload) <= 64
        assert all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in payload), payload
    assert find_group(group_payload(long_b), [long_a, long_b]) == long_b


def test_two_names_with_one_slug_are_not_guessed() -> None:
    assert find_group("g-to-1", ["Tổ 1", "Tổ-1"]) is None


async def test_a_printed_poster_still_finds_its_group_after_the_pack_is_reordered(
    db: Database,
) -> None:
    """Posters are printed once; a pack edited later (a group added in front) must not send
    the poster's residents to another group."""
    printed = group_payload("Khối phố 3")
    reordered = small_pack(groups=12)
    names = reordered.residential_groups.all_names()
    groups = reordered.residential_groups.model_copy(
        update={"names": ["Khối phố 0", *names], "count": None}
    )
    router = Router()
    Residents(reordered.model_copy(update={"residential_groups": groups})).register(router)
    clock = FakeClock(START)
    driver = ChatDriver(Conversation(db, router, clock), clock)
    await driver.type(f"/start {printed}")
    await driver.press_label("Tiếng Việt")
    row = await subscriber(db)
    assert row is not None
    assert row.group_code == "Khối phố 3"


async def test_the_link_picks_the_group_and_only_the_language_is_asked(
    db: Database, chat: ChatDriver
) -> None:
    await chat.type(f"/start {group_payload('Khối phố 3')}")
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
    await chat.type("/start g-khoi-pho-99")
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
    await chat.type(f"/start {group_payload('Khối phố 7')}")
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
