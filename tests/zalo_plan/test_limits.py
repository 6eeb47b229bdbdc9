"""The Zalo Bot's plan: the 51st person, hidden senders, a Zalo id equal to a Telegram id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import col

from bot.app import build_loa
from bot.channels.base import InboundKind, Outbound
from bot.clock import FakeClock
from bot.config import Settings
from bot.reporting.officials import create_invite
from bot.storage.db import Database
from bot.storage.models import SendCounter, Subscriber
from bot.zalo_plan.limits import plan_status
from tests.support.chat import ChatDriver
from tests.support.pack import small_pack

START = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)


def loa_with_cap(db: Database, clock: FakeClock, cap: int) -> ChatDriver:
    loa = build_loa(db=db, pack=small_pack(), clock=clock, channels={}, user_caps={"zalo": cap})
    driver = ChatDriver(loa.conversation, clock)
    driver.channel = "zalo"
    return driver


def person(driver: ChatDriver, chat_id: str) -> ChatDriver:
    other = ChatDriver(driver.conversation, driver.clock, chat_id)
    other.channel = driver.channel
    return other


async def hidden(driver: ChatDriver) -> list[Outbound]:
    return await driver.send(driver._inbound(InboundKind.HIDDEN))


async def count(db: Database, channel: str) -> int:
    async with db.session() as session:
        stmt = (
            select(func.count()).select_from(Subscriber).where(col(Subscriber.channel) == channel)
        )
        return int((await session.execute(stmt)).scalar_one())


async def test_the_person_past_the_cap_gets_a_clear_answer(db: Database) -> None:
    clock = FakeClock(START)
    first = loa_with_cap(db, clock, cap=3)
    for chat in ("z1", "z2", "z3"):
        await person(first, chat).type("/start")
    assert await count(db, "zalo") == 3
    fourth = person(first, "z4")
    replies = await fourth.type("/start")
    assert len(replies) == 1
    assert "đã đủ 3 người" in replies[0].text
    assert "111" in replies[0].text
    assert await count(db, "zalo") == 3
    assert "đã đủ" in (await fourth.type("xin chào")).pop().text
    # people already in keep talking
    assert "đã đủ" not in (await person(first, "z2").type("/trogiup"))[0].text


async def test_an_invite_code_gets_through_a_full_bot(db: Database) -> None:
    clock = FakeClock(START)
    driver = loa_with_cap(db, clock, cap=1)
    await person(driver, "z1").type("/start")
    invite = await create_invite(
        db, pack=small_pack(), role="coordinator", agency_id=None, now=clock.now()
    )
    official = person(driver, "z9")
    replies = await official.type(f"/start {invite.code}")
    assert "điều phối" in replies[0].text
    assert "đã đủ" not in replies[0].text
    assert "đã đủ" not in (await official.type("/baocaocuatoi"))[0].text  # bound: known now


async def test_a_zalo_id_equal_to_a_telegram_id_is_another_person(db: Database) -> None:
    clock = FakeClock(START)
    zalo = loa_with_cap(db, clock, cap=1)
    await person(zalo, "123456").type("/start")
    telegram = ChatDriver(zalo.conversation, clock, "123456")  # channel telegram
    replies = await telegram.type("/start")
    assert "Xin chào! Mình là Loa" in replies[0].text  # not counted against Zalo's cap
    assert (await count(db, "zalo"), await count(db, "telegram")) == (1, 1)
    stopped = await telegram.type("/huy")
    assert stopped[0].text.startswith("Bạn đã dừng nhận tin.")
    async with db.session() as session:
        rows = (
            await session.execute(select(col(Subscriber.channel), col(Subscriber.status)))
        ).all()
    assert sorted(rows) == [("telegram", "stopped"), ("zalo", "active")]


async def test_a_hidden_sender_subscribes_and_stops_without_text(db: Database) -> None:
    clock = FakeClock(START)
    someone = loa_with_cap(db, clock, cap=50)
    offer = await hidden(someone)
    assert "Zalo không cho Loa xem nội dung" in offer[0].text
    assert "111" in offer[0].text
    assert await count(db, "zalo") == 0
    clock.advance(timedelta(minutes=2))
    done = await hidden(someone)
    assert done[0].text.startswith("Đã đăng ký.")
    async with db.session() as session:
        row = (await session.execute(select(Subscriber))).scalars().one()
    assert (row.channel, row.status, row.lang, row.group_code) == ("zalo", "active", "vi", None)

    clock.advance(timedelta(hours=5))
    stop_offer = await hidden(someone)
    assert "Muốn dừng, hãy gửi thêm" in stop_offer[0].text
    clock.advance(timedelta(minutes=11))  # too late: this one is a new offer, not a stop
    again = await hidden(someone)
    assert "Muốn dừng, hãy gửi thêm" in again[0].text
    clock.advance(timedelta(minutes=1))
    stopped = await hidden(someone)
    assert stopped[0].text.startswith("Đã dừng")
    async with db.session() as session:
        row = (await session.execute(select(Subscriber))).scalars().one()
    assert row.status == "stopped"


async def test_a_late_confirmation_offers_again(db: Database) -> None:
    clock = FakeClock(START)
    someone = loa_with_cap(db, clock, cap=50)
    await hidden(someone)
    clock.advance(timedelta(minutes=30))
    again = await hidden(someone)
    assert "Zalo không cho Loa xem nội dung" in again[0].text
    assert await count(db, "zalo") == 0


async def test_a_hidden_sender_past_the_cap_gets_the_full_answer(db: Database) -> None:
    clock = FakeClock(START)
    driver = loa_with_cap(db, clock, cap=1)
    await person(driver, "z1").type("/start")
    replies = await hidden(person(driver, "z2"))
    assert "đã đủ 1 người" in replies[0].text


async def test_status_shows_the_months_messages_and_the_people(db: Database) -> None:
    clock = FakeClock(START)
    driver = loa_with_cap(db, clock, cap=2)
    for chat in ("z1", "z2"):
        await person(driver, chat).type("/start")
    async with db.session() as session:
        session.add(SendCounter(channel="zalo", month="2025-11", sent=2712, closed_at=START))
    settings = Settings(_env_file=None, zalo_user_cap=2)
    text = await plan_status(db, settings, clock.now())
    assert text.splitlines() == [
        "Zalo people: 2 / 2 — full: new people are turned away with the «full» answer",
        "Zalo messages in 2025-11: 2712 / 3000 (bulk stops at 2700, 300 kept for replies)"
        " — bulk paused until 01/12/2025 00:00",
    ]
