"""Reports as a conversation: drafts through the form engine, submissions, versions, expiry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.clock import FakeClock
from bot.delivery.outbox import Priority
from bot.domain.campaign import CampaignPack
from bot.domain.forms import FormData
from bot.reporting import reports as service
from bot.reporting import repository as repo
from bot.storage.db import Database
from bot.storage.models import OutboxMessage, ReportDraft
from tests.support.reporting import (
    START,
    bound_chat,
    reporting_pack,
)

# ---- services below the chat ---------------------------------------------------------------

DUE_AT = datetime(2025, 12, 17, 17, 0, tzinfo=UTC)  # 18/12/2025 00:00 in Vietnam


def test_current_deadline_is_the_next_open_one_else_the_last() -> None:
    pack = reporting_pack()
    data = pack.model_dump()
    data["deadlines"] = [
        {"id": "dot-1", "title": "Đợt 1", "due": date(2025, 11, 25)},
        {"id": "dot-2", "title": "Đợt 2", "due": date(2025, 12, 18)},
    ]
    two = CampaignPack.model_validate(data)
    assert service.current_deadline(two, datetime(2025, 11, 20, tzinfo=UTC)).id == "dot-1"  # type: ignore[union-attr]
    assert service.current_deadline(two, datetime(2025, 11, 24, 17, tzinfo=UTC)).id == "dot-2"  # type: ignore[union-attr]
    assert service.current_deadline(two, datetime(2026, 1, 5, tzinfo=UTC)).id == "dot-2"  # type: ignore[union-attr]


def test_on_time_means_before_midnight_vietnam_time_of_the_due_day() -> None:
    deadline = reporting_pack().deadlines[0]
    assert deadline.due_at == DUE_AT
    assert service.is_on_time(deadline, DUE_AT - timedelta(seconds=1))
    assert not service.is_on_time(deadline, DUE_AT)
    assert service.format_last_day(deadline) == "17/12/2025"


async def outbox_texts(db: Database) -> list[tuple[str, int, str | None, str]]:
    async with db.session() as session:
        rows = await session.execute(select(OutboxMessage).order_by(col(OutboxMessage.id)))
        return [(r.chat_id, r.priority, r.dedup_key, r.text) for r in rows.scalars()]


async def test_draft_expiry_warns_once_then_expires(db: Database) -> None:
    clock = FakeClock(START)
    pack = reporting_pack()
    chat = await bound_chat(db, clock, pack, "kp-1")
    await chat.type("/baocao")
    await chat.press_label("Lễ phát động")
    touched = clock.now()

    async def sweep(hours_after_touch: float) -> service.DraftSweepResult:
        clock.set(touched + timedelta(hours=hours_after_touch))
        return await service.expire_drafts(db, pack, now=clock.now())

    assert await sweep(59) == service.DraftSweepResult()
    assert await sweep(60) == service.DraftSweepResult(warned=1)  # 12 hours before the 72
    assert await sweep(61) == service.DraftSweepResult()  # once only
    direct = [row for row in await outbox_texts(db) if row[1] == Priority.DIRECT]
    assert len(direct) == 1
    assert direct[0][0] == "2001"
    assert "sẽ bị xóa sau khoảng 12 giờ nữa" in direct[0][3]
    # touching the draft (one more answer) restarts its life and allows a new warning later
    await chat.type("5")
    touched = clock.now()
    assert await sweep(30) == service.DraftSweepResult()
    assert await sweep(61) == service.DraftSweepResult(warned=1)
    assert await sweep(72) == service.DraftSweepResult(expired=1)
    assert await sweep(73) == service.DraftSweepResult()
    direct = [row for row in await outbox_texts(db) if row[1] == Priority.DIRECT]
    assert len(direct) == 3
    assert "đã bị xóa" in direct[-1][3]
    async with db.session() as session:
        assert (await session.execute(select(ReportDraft))).first() is None
    # the chat's next answer is told the form is gone; nothing is stored
    await chat.type("7")
    assert "Biểu mẫu này đã hết hạn" in chat.texts()
    async with db.session() as session:
        assert (await session.execute(select(ReportDraft))).first() is None


async def test_versions_are_numbered_per_agency_and_deadline(db: Database) -> None:
    pack = reporting_pack()
    deadline = pack.deadlines[0]
    empty = FormData()
    async with db.session() as session:
        a, _ = await repo.bind_official(
            session,
            channel="telegram",
            chat_id="1",
            role="official",
            agency_id="kp-1",
            lang="vi",
            now=START,
        )
        b, _ = await repo.bind_official(
            session,
            channel="telegram",
            chat_id="2",
            role="official",
            agency_id="kp-2",
            lang="vi",
            now=START,
        )
        versions = [
            (
                await service.submit_report(
                    session, official=o, deadline=deadline, data=empty, now=START
                )
            ).version
            for o in (a, a, b, a)
        ]
        assert versions == [1, 2, 1, 3]
        late = DUE_AT + timedelta(hours=1)
        with pytest.raises(service.AmendClosed) as closed:
            await service.submit_report(
                session, official=a, deadline=deadline, data=empty, now=late
            )
        refusal = closed.value.refusal.with_fields(agency="Công an phường")
        assert refusal.key == "reports.amend_closed"
        assert "«Công an phường» đã gửi báo cáo" in refusal.render("vi")
        assert service.format_due(deadline) in refusal.render("en")
        c, _ = await repo.bind_official(
            session,
            channel="telegram",
            chat_id="3",
            role="official",
            agency_id="kp-3",
            lang="vi",
            now=START,
        )
        row = await service.submit_report(
            session, official=c, deadline=deadline, data=empty, now=late
        )
        assert (row.version, row.on_time) == (1, False)
        missing = await service.missing_agencies(session, pack, deadline)
    assert [m.id for m in missing] == ["cong-an", "hoi-phu-nu", "tram-y-te", "truong-thcs"]
