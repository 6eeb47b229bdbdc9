"""A coordinator's broadcast on the ward's Zalo Official Account: residents inside the 7-day window
get it at once; those outside it are not dropped but held, and get it as soon as they write to
the OA again, unless it expired first. The fake OA (real HTTP) applies Zalo's window; the real
dispatcher sends; the figures are read where coordinators and operators read them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import col, select

from bot.channels.zalo_oa.cli import status_line
from bot.clock import FakeClock
from bot.coordinators import broadcasts
from bot.coordinators.board import board_view
from bot.coordinators.broadcasts import Audience
from bot.coordinators.progress import figures_text
from bot.delivery.status import format_status, runs_summary
from bot.delivery.window import window_counts
from bot.residents.repository import delete_person
from bot.storage.db import Database
from bot.storage.models import Broadcast, BulkRun, OutboxMessage
from tests.support.pack import small_pack
from tests.support.zalo_oa import OaHarness, oa_harness

from .test_zalo_oa_residents import START, subscribe

NEAR = "2468458835296117001"  # wrote two days ago: inside the window
AWAY = "2468458835296117002"  # silent for eight days: outside it
TEXT = "Mời bà con dự lễ phát động Tháng hành động tối thứ Bảy tại nhà văn hóa."
WEEK = timedelta(days=7)


@pytest.fixture
async def h(db: Database) -> AsyncIterator[OaHarness]:
    """The OA harness on SQLite and PostgreSQL."""
    async with oa_harness(db, small_pack(), FakeClock(START)) as harness:
        yield harness


async def near_and_away(h: OaHarness) -> None:
    """Both subscribe; NEAR writes six days later; two more days pass."""
    await subscribe(h, NEAR)
    await subscribe(h, AWAY)
    h.advance(timedelta(days=6))
    await h.say(NEAR, "xin chào")
    h.advance(timedelta(days=2))


async def broadcast(h: OaHarness, *, urgent: bool = False) -> int:
    """A coordinator's broadcast to all residents, confirmed now and sent; returns its id."""
    async with h.loa.db.session() as session:
        row = await broadcasts.create(
            session, author="x", channel="telegram", chat_id="", text=TEXT,
            audience=Audience("residents"), now=h.clock.now(),
        )  # fmt: skip
        assert row.id is not None
        await broadcasts.confirm(session, h.loa.pack, row.id, now=h.clock.now(), urgent=urgent)
    await h.drain()
    return row.id


async def row_to(h: OaHarness, user: str) -> OutboxMessage:
    async with h.loa.db.session() as session:
        stmt = select(OutboxMessage).where(
            col(OutboxMessage.chat_id) == user, col(OutboxMessage.run_id).is_not(None)
        )
        found = await session.execute(stmt.order_by(col(OutboxMessage.id).desc()))
        row = found.scalars().first()
    assert row is not None
    return row


async def figures(h: OaHarness, broadcast_id: int) -> broadcasts.Progress:
    async with h.loa.db.session() as session:
        row = await session.get(Broadcast, broadcast_id)
        assert row is not None
        assert row.run_id is not None
        return await broadcasts.progress(session, row.run_id)


async def test_the_preview_says_who_gets_it_now_and_who_when_they_write_again(
    h: OaHarness,
) -> None:
    await near_and_away(h)
    async with h.loa.db.session() as session:
        shown = await broadcasts.preview(
            session, h.loa.pack, Audience("residents"), TEXT, channels={}, now=h.clock.now()
        )
    assert (shown.oa_now, shown.oa_held) == (1, 1)


@pytest.mark.parametrize("urgent", [False, True])
async def test_a_resident_outside_the_window_gets_the_broadcast_when_they_write_again(
    h: OaHarness, urgent: bool
) -> None:
    await near_and_away(h)
    before = len(h.seen(AWAY))
    broadcast_id = await broadcast(h, urgent=urgent)
    assert h.seen(NEAR)[-1] == TEXT
    assert len(h.seen(AWAY)) == before  # not sent: the OA would refuse it …
    assert h.fake.errors_served == {}  # … and Loa did not even try
    held = await row_to(h, AWAY)
    assert held.status == "held"
    assert held.next_attempt_at == h.clock.now() + WEEK  # its expiry
    got = await figures(h, broadcast_id)
    assert (got.sent, got.held, got.open, got.percent) == (1, 1, 0, 100)
    assert figures_text(broadcast_id, got, "vi", finished=True) == (
        "✅ Thông báo #1 xong: đã gửi 1/2 · lỗi 0 · đã chặn Loa 0 · đang chờ người dân nhắn lại: 1"
    )

    await h.loa.dispatcher.stop()  # a restart: held rows stay held, nothing is sent
    await h.loa.dispatcher.start()
    h.advance(timedelta(days=3))
    await h.drain()
    assert len(h.seen(AWAY)) == before
    assert (await row_to(h, AWAY)).status == "held"

    answer = await h.say(AWAY, "xin chào")  # writing again opens the window: it goes now
    assert TEXT in answer
    assert len(answer) >= 2  # with the answer to what they wrote (after it, unless urgent)
    if not urgent:
        assert answer[-1] == TEXT
    assert (await row_to(h, AWAY)).status == "sent"
    got = await figures(h, broadcast_id)
    assert (got.sent, got.held) == (2, 0)
    await h.say(AWAY, "cảm ơn")
    assert h.seen(AWAY).count(TEXT) == 1  # once


async def test_held_broadcasts_are_counted_where_figures_show(h: OaHarness) -> None:
    await near_and_away(h)
    await broadcast(h)
    async with h.loa.db.session() as session:
        counts = await window_counts(session, "zalo_oa", WEEK, h.clock.now())
    assert counts.held == 1
    assert counts.skipped == {}  # held is not skipped
    board = await board_view(h.loa.db, h.loa.pack, h.clock, "vi")
    assert "0 tin không gửi theo quy định của Zalo; 1 thông báo đang chờ người dân nhắn lại" in (
        board.text
    )
    line = await status_line(h.loa.db, h.clock)
    assert line.endswith("broadcasts held until the resident writes again: 1")
    status = format_status(await runs_summary(h.loa.db), h.clock.now())
    assert "queued 2  sent 1  blocked 0  failed 0  held 1  open 0" in status


async def test_a_held_broadcast_expires_after_a_week_and_is_counted_skipped(h: OaHarness) -> None:
    await near_and_away(h)
    await broadcast(h)
    h.advance(WEEK + timedelta(minutes=1))
    await h.drain()
    expired = await row_to(h, AWAY)
    assert expired.status == "skipped"
    assert expired.last_error == "expired while outside the window"
    async with h.loa.db.session() as session:
        run = await session.get(BulkRun, expired.run_id)
        counts = await window_counts(session, "zalo_oa", WEEK, h.clock.now())
    assert run is not None
    assert (run.sent, run.skipped) == (1, 1)
    assert counts.held == 0
    assert counts.skipped == {"expired while outside the window": 1}
    answer = await h.say(AWAY, "xin chào")
    assert TEXT not in answer  # too late: a stale announcement is not delivered


async def test_held_rows_do_not_stop_other_sends(h: OaHarness) -> None:
    await near_and_away(h)
    for _ in range(3):
        await broadcast(h)
    assert h.seen(NEAR).count(TEXT) == 3
    h.advance(timedelta(days=1))
    assert await h.daily_post() == 2
    assert "Thông điệp ngày" in h.seen(NEAR)[-1]
    async with h.loa.db.session() as session:
        held = (
            await session.execute(select(OutboxMessage).where(col(OutboxMessage.status) == "held"))
        ).scalars().all()  # fmt: skip
    assert len(held) == 3  # the daily post to AWAY was skipped; the broadcasts still wait


async def test_an_unfollow_cancels_held_broadcasts(h: OaHarness) -> None:
    await near_and_away(h)
    await broadcast(h)
    assert (await row_to(h, AWAY)).status == "held"
    assert await h.fake.unfollow(AWAY) == 200
    await h.loa.inbox.drain()
    await h.drain()
    assert (await row_to(h, AWAY)).status == "cancelled"
    back = await h.follow(AWAY)
    assert TEXT not in back  # they left: nothing they were held is sent


async def test_deleting_a_persons_data_deletes_their_held_broadcasts(h: OaHarness) -> None:
    await near_and_away(h)
    await broadcast(h)
    assert (await row_to(h, AWAY)).status == "held"
    async with h.loa.db.session() as session:  # what /xoadulieu runs once confirmed
        await delete_person(session, channel="zalo_oa", chat_id=AWAY)
    async with h.loa.db.session() as session:
        left = await session.execute(
            select(col(OutboxMessage.id)).where(col(OutboxMessage.chat_id) == AWAY)
        )
        assert left.all() == []


# the update of `expire_held`: the one that counts an attempt and sets an error on the rows
# chosen by their `next_attempt_at` (mark_final chooses by id, the claim sets no error)
EXPIRY = ("UPDATE", "attempts + ", "last_error=", "next_attempt_at <=")


async def test_held_rows_are_looked_at_for_expiry_once_a_minute_not_every_claim_pass(
    h: OaHarness,
) -> None:
    expiries: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # expire_held: the only update that turns rows final by their `next_attempt_at`
        if all(part in statement for part in EXPIRY):
            expiries.append(statement)

    engine = h.loa.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        for _ in range(5):  # at least ten claim passes within the same wall-clock minute
            await h.drain()
        looked = len(expiries)
        assert looked <= 1
        h.advance(timedelta(minutes=1))
        await h.drain()
        assert len(expiries) == looked + 1  # looked again once the minute passed, once
    finally:
        event.remove(engine, "before_cursor_execute", seen)
