"""The OA's optional template lane: a resident outside the 7-day window whose broadcast is held
gets ONE template notice (a ZBS template by user id) inviting them to write again, within the
ward's daily quota and 07:00–22:00 Vietnam time; the held broadcast still goes only when they
write. The fake OA (real HTTP) answers the template endpoint; the real dispatcher sends."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.channels.zalo_oa.cli import status_line
from bot.clock import FakeClock
from bot.coordinators.board import board_view
from bot.delivery.keys import TEMPLATE_TOPIC
from bot.delivery.templates import TemplateNotices
from bot.storage.db import Database
from bot.storage.models import Official, OutboxMessage
from tests.support.pack import small_pack
from tests.support.zalo_oa import OaHarness, oa_harness

from .test_zalo_oa_broadcasts import TEXT, broadcast
from .test_zalo_oa_residents import START, subscribe

NEAR = "2468458835296117001"  # wrote two days ago: inside the window
AWAY = "2468458835296117002"  # silent for eight days
GONE = "2468458835296117003"  # silent for eight days too
LANE = TemplateNotices(daily_quota=500, fields=(("ward", "phường Thử Nghiệm"),), date_field="date")


@asynccontextmanager
async def harness(
    db: Database, lane: TemplateNotices | None = LANE, *, quiet: tuple[str, str] | None = None
) -> AsyncIterator[OaHarness]:
    pack = small_pack()
    if quiet is not None:  # the pack's own quiet hours (21:00–07:00 by default) moved
        hours = {"quiet_start": quiet[0], "quiet_end": quiet[1]}
        pack = pack.model_copy(update={"delivery": pack.delivery.model_copy(update=hours)})
    async with oa_harness(db, pack, FakeClock(START), templates=lane) as h:
        yield h


@pytest.fixture
async def h(db: Database) -> AsyncIterator[OaHarness]:
    """The harness with the template lane on, on SQLite and PostgreSQL."""
    async with harness(db) as built:
        yield built


async def three_residents(h: OaHarness) -> None:
    """All subscribe; NEAR writes six days later; two more days pass (09:00 in Vietnam)."""
    for user in (NEAR, AWAY, GONE):
        await subscribe(h, user)
    h.advance(timedelta(days=6))
    await h.say(NEAR, "xin chào")
    h.advance(timedelta(days=2))


async def statuses(h: OaHarness, user: str, topic: str | None = None) -> list[str]:
    async with h.loa.db.session() as session:
        stmt = select(col(OutboxMessage.status)).where(col(OutboxMessage.chat_id) == user)
        if topic is not None:
            stmt = stmt.where(col(OutboxMessage.topic) == topic)
        return list((await session.execute(stmt.order_by(col(OutboxMessage.id)))).scalars())


def notices_to(h: OaHarness, user: str) -> int:
    return len(h.fake.template_sent.select(user))


async def test_with_the_lane_off_nothing_is_sent_by_template(db: Database) -> None:
    async with harness(db, lane=None) as h:
        await three_residents(h)
        await broadcast(h)
        assert h.fake.template_sent.calls == []
        assert "held" in await statuses(h, AWAY)


async def test_one_notice_per_held_resident_and_the_reply_releases_the_broadcasts(
    h: OaHarness,
) -> None:
    await three_residents(h)
    await broadcast(h)
    await broadcast(h)  # a second held broadcast: still one notice
    assert (notices_to(h, AWAY), notices_to(h, GONE), notices_to(h, NEAR)) == (1, 1, 0)
    call = h.fake.template_sent.select(AWAY)[0]
    assert call.params["template_id"] == "480001"
    assert call.params["template_data"] == {"ward": "phường Thử Nghiệm", "date": "24/11/2025"}
    assert h.seen(NEAR).count(TEXT) == 2
    assert TEXT not in h.seen(AWAY)  # the notice is not an interaction: still held
    assert (await statuses(h, AWAY)).count("held") == 2
    answer = await h.say(AWAY, "xin chào")
    assert answer.count(TEXT) == 2
    assert notices_to(h, AWAY) == 1
    line = await status_line(h.loa.db, h.clock, template_quota=500)
    assert line.endswith("template notices sent today: 2/500, residents waiting for one: 0")
    board = await board_view(h.loa.db, h.loa.pack, h.clock, "vi", template_quota=500)
    assert "tin mẫu mời nhắn lại: hôm nay đã gửi 2/500; 0 người đang chờ được gửi" in board.text


async def test_notices_beyond_the_daily_quota_wait_for_the_next_vietnam_day(db: Database) -> None:
    async with harness(db, TemplateNotices(daily_quota=1)) as h:
        await three_residents(h)
        await broadcast(h)
        assert notices_to(h, AWAY) + notices_to(h, GONE) == 1
        line = await status_line(h.loa.db, h.clock, template_quota=1)
        assert line.endswith("template notices sent today: 1/1, residents waiting for one: 1")
        h.advance(timedelta(hours=14))  # 23:00: still the same day, and past the hours
        await h.drain()
        assert notices_to(h, AWAY) + notices_to(h, GONE) == 1
        h.advance(timedelta(hours=8))  # 07:00 the next day
        await h.drain()
        assert (notices_to(h, AWAY), notices_to(h, GONE)) == (1, 1)


async def test_notices_wait_outside_the_sending_hours(db: Database) -> None:
    async with harness(db, quiet=("23:00", "06:00")) as h:  # quiet hours shorter than 7–22
        await three_residents(h)
        h.advance(timedelta(hours=13, minutes=30))  # 22:30 in Vietnam
        await broadcast(h)
        assert h.fake.template_sent.calls == []
        assert await statuses(h, AWAY, TEMPLATE_TOPIC) == ["pending"]
        h.advance(timedelta(hours=8))  # 06:30: no longer quiet, not yet 07:00
        await h.drain()
        assert h.fake.template_sent.calls == []
        h.advance(timedelta(minutes=30))  # 07:00
        await h.drain()
        assert (notices_to(h, AWAY), notices_to(h, GONE)) == (1, 1)


async def test_a_template_refused_for_user_ids_stops_the_lane_with_one_alert(
    h: OaHarness, caplog: pytest.LogCaptureFixture
) -> None:
    async with h.loa.db.session() as session:
        session.add(Official(channel="zalo_oa", chat_id="9001", role="coordinator", bound_at=START))
    await three_residents(h)
    h.fake.template_error = -249
    with caplog.at_level(logging.ERROR, logger="bot.channels.zalo_oa.templates"):
        await broadcast(h)
        refused = h.fake.template_errors[-249]
        assert refused <= 2  # the notices in flight when the first answer came
        h.advance(timedelta(hours=2))
        await h.drain()
    assert h.fake.template_errors == {-249: refused}  # the lane stopped: no further call
    assert h.fake.template_sent.calls == []
    stopped = [r for r in caplog.records if "template notices stopped" in r.getMessage()]
    assert len(stopped) == 1
    assert await statuses(h, AWAY, TEMPLATE_TOPIC) == ["pending"]  # kept, not failed
    assert await statuses(h, GONE, TEMPLATE_TOPIC) == ["pending"]
    async with h.loa.db.session() as session:
        alerts = await session.execute(
            select(col(OutboxMessage.text)).where(col(OutboxMessage.chat_id) == "9001")
        )
        texts = list(alerts.scalars())
    assert len(texts) == 1
    assert texts[0].startswith("⚠️ Zalo từ chối mẫu tin")


async def test_a_notice_sent_before_a_restart_is_not_sent_again(h: OaHarness) -> None:
    await three_residents(h)
    await broadcast(h)
    assert notices_to(h, AWAY) == 1
    await h.loa.dispatcher.stop()
    await h.loa.dispatcher.start()  # queues notices for residents held before the start
    h.advance(timedelta(days=2))
    await broadcast(h)
    await h.drain()
    assert (notices_to(h, AWAY), notices_to(h, GONE)) == (1, 1)
    h.advance(timedelta(days=6))  # a week after the first: a new held broadcast, a new notice
    await broadcast(h)
    assert (notices_to(h, AWAY), notices_to(h, GONE)) == (2, 2)
