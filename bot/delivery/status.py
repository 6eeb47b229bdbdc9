"""Figures for `loa status`: the latest bulk runs and the outbox backlog, as operator text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from bot.clock import VN_TZ, format_vn_datetime
from bot.storage.db import Database
from bot.storage.models.delivery import HELD, PENDING, SENDING, BulkRun, OutboxMessage, RunStatus

RUNS = BulkRun.__table__.c  # type: ignore[attr-defined]
OUTBOX = OutboxMessage.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One bulk run as the status command shows it."""

    id: int
    kind: str
    label: str
    status: str
    queued: int
    sent: int
    failed: int
    blocked: int
    skipped: int
    started_at: datetime
    finished_at: datetime | None
    open_rows: int  # rows of the run not yet final (pending or sending)
    held: int = 0  # broadcast rows held until their readers write again (Zalo OA window)

    @property
    def done_count(self) -> int:
        """Rows with a final outcome."""
        return self.sent + self.failed + self.blocked + self.skipped


async def runs_summary(db: Database, *, limit: int = 5) -> list[RunSummary]:
    """The `limit` most recent runs, newest first, with their open row counts."""
    async with db.session() as session:
        runs = (
            await session.execute(
                select(
                    RUNS.id,
                    RUNS.kind,
                    RUNS.label,
                    RUNS.status,
                    RUNS.queued,
                    RUNS.sent,
                    RUNS.failed,
                    RUNS.blocked,
                    RUNS.skipped,
                    RUNS.started_at,
                    RUNS.finished_at,
                )
                .order_by(RUNS.id.desc())
                .limit(limit)
            )
        ).all()
        open_ids = [row.id for row in runs if row.status == RunStatus.RUNNING]
        pending: dict[int, int] = {}
        if open_ids:
            counts = await session.execute(
                select(OUTBOX.run_id, func.count())
                .where(OUTBOX.run_id.in_(open_ids), OUTBOX.status.in_((PENDING, SENDING)))
                .group_by(OUTBOX.run_id)
            )
            pending = {run_id: count for run_id, count in counts.all()}
        held_rows = await session.execute(
            select(OUTBOX.run_id, func.count())
            .where(OUTBOX.run_id.in_([row.id for row in runs]), OUTBOX.status == HELD)
            .group_by(OUTBOX.run_id)
        )
        held = {run_id: count for run_id, count in held_rows.all()}
    return [
        RunSummary(
            id=row.id,
            kind=row.kind,
            label=row.label,
            status=row.status,
            queued=row.queued,
            sent=row.sent,
            failed=row.failed,
            blocked=row.blocked,
            skipped=row.skipped,
            started_at=row.started_at,
            finished_at=row.finished_at,
            open_rows=pending.get(row.id, 0),
            held=held.get(row.id, 0),
        )
        for row in runs
    ]


def _rate(summary: RunSummary, now: datetime) -> float:
    end = summary.finished_at or now
    seconds = (end - summary.started_at).total_seconds()
    return summary.sent / seconds if seconds > 0 else 0.0


def format_status(summaries: list[RunSummary], now: datetime) -> str:
    """Plain operator text, one block per run (times on Vietnam's wall clock)."""
    if not summaries:
        return "No bulk runs yet."
    lines = []
    for s in summaries:
        started = format_vn_datetime(s.started_at)
        share = 100.0 * s.done_count / s.queued if s.queued else 100.0
        head = f"#{s.id} {s.kind} «{s.label}» — {s.status}, started {started}"
        if s.finished_at is not None:
            head += f", finished {s.finished_at.astimezone(VN_TZ).strftime('%H:%M:%S')}"
        lines.append(head)
        lines.append(
            f"   queued {s.queued}  sent {s.sent}  blocked {s.blocked}  failed {s.failed}"
            + (f"  skipped {s.skipped}" if s.skipped else "")
            + (f"  held {s.held}" if s.held else "")
            + f"  open {s.open_rows}  ({share:.0f}% done, {_rate(s, now):.1f}/s)"
        )
    return "\n".join(lines)
