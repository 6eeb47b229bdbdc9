"""The board: per deadline, who owes a report, who sent it (on time, late) and who is missing;
below it, what Loa's own records say about the plan's measurable targets.

`board_view(db, pack, clock, lang)` is what `/tinhhinh` and `loa board` call: the text to send
and the data behind it. Aggregates only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.zalo_oa.events import CHANNEL as OA_CHANNEL
from bot.channels.zalo_oa.events import WINDOW as OA_WINDOW
from bot.clock import VN_TZ, Clock
from bot.coordinators import repository as records
from bot.coordinators.board_text import render_board
from bot.delivery.window import WindowCounts, window_counts
from bot.domain.campaign import Agency, CampaignPack, Deadline, Target
from bot.reporting.gaps import TypeGap, group_gaps
from bot.reporting.reports import name_order, reporting_agencies
from bot.storage.db import Database


class ReportStatus(StrEnum):
    """Where an agency stands for a deadline (its first version decides on time or late)."""

    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class AgencyStatus:
    """One agency's standing for a deadline."""

    agency: Agency
    status: ReportStatus
    expected: bool
    report: records.SentReport | None


@dataclass(frozen=True, slots=True)
class DeadlineBoard:
    """The counts of one deadline and the missing agencies grouped by type."""

    deadline: Deadline
    expected: int
    submitted: int
    on_time: int
    late: int
    missing: int
    gaps: list[TypeGap]
    past: bool  # the deadline has passed: the missing are late already


@dataclass(frozen=True, slots=True)
class Reach:
    """What Loa delivered: posts this quarter, groups reached this year, subscribers."""

    quarter: int
    year: int
    posts_this_quarter: int
    posts_this_year: int
    groups_total: int
    groups_reached: int
    subscribers: dict[tuple[str | None, str], int]  # (group or None, channel) → active count
    oa: WindowCounts | None = None  # the Zalo OA's residents by reachability, when it has any

    @property
    def groups_reached_percent(self) -> float:
        """Share of the pack's residential groups reached this year, in %."""
        return 100 * self.groups_reached / self.groups_total if self.groups_total else 0.0

    def by_channel(self) -> dict[str, int]:
        """Active subscribers per channel."""
        totals: dict[str, int] = {}
        for (_, channel), count in self.subscribers.items():
            totals[channel] = totals.get(channel, 0) + count
        return dict(sorted(totals.items()))

    def groups_with_subscribers(self) -> int:
        """Residential groups with at least one active subscriber."""
        return len({group for group, _ in self.subscribers if group is not None})


@dataclass(frozen=True, slots=True)
class TargetProgress:
    """A target of the plan and, when Loa can count it, the figure so far."""

    target: Target
    measured: float | None


@dataclass(frozen=True, slots=True)
class Board:
    """Everything the board shows."""

    pack: CampaignPack
    generated_at: datetime
    deadlines: list[DeadlineBoard]
    reach: Reach
    targets: list[TargetProgress]


@dataclass(frozen=True, slots=True)
class BoardView:
    """The board's text for a chat message and the data behind it."""

    text: str
    board: Board


def quarter_bounds(now: datetime) -> tuple[datetime, datetime, int]:
    """Start and end (exclusive, Vietnam time) of `now`'s calendar quarter, and its number."""
    local = now.astimezone(VN_TZ)
    quarter = (local.month - 1) // 3 + 1
    start = datetime(local.year, 3 * quarter - 2, 1, tzinfo=VN_TZ)
    end = (
        datetime(local.year + 1, 1, 1, tzinfo=VN_TZ)
        if quarter == 4
        else datetime(local.year, 3 * quarter + 1, 1, tzinfo=VN_TZ)
    )
    return start, end, quarter


def year_bounds(now: datetime) -> tuple[datetime, datetime]:
    """Start and end (exclusive) of `now`'s calendar year, Vietnam time."""
    year = now.astimezone(VN_TZ).year
    return datetime(year, 1, 1, tzinfo=VN_TZ), datetime(year + 1, 1, 1, tzinfo=VN_TZ)


def agency_statuses(pack: CampaignPack, sent: dict[str, records.SentReport]) -> list[AgencyStatus]:
    """Every expected agency, plus any other agency of the pack that sent anyway, in order."""
    statuses = []
    expected_ids = {a.id for a in reporting_agencies(pack)}
    for agency in sorted(pack.agencies, key=lambda a: name_order(a.name)):
        report = sent.get(agency.id)
        expected = agency.id in expected_ids
        if report is None and not expected:
            continue
        if report is None:
            status = ReportStatus.MISSING
        else:
            status = ReportStatus.ON_TIME if report.first_on_time else ReportStatus.LATE
        statuses.append(AgencyStatus(agency, status, expected, report))
    return statuses


def deadline_board(
    pack: CampaignPack,
    deadline: Deadline,
    sent: dict[str, records.SentReport],
    *,
    now: datetime,
    lang: str,
) -> DeadlineBoard:
    """The counts of one deadline over the agencies the pack expects a report from."""
    expected = [s for s in agency_statuses(pack, sent) if s.expected]
    missing_ids = {s.agency.id for s in expected if s.status is ReportStatus.MISSING}
    on_time = sum(s.status is ReportStatus.ON_TIME for s in expected)
    late = sum(s.status is ReportStatus.LATE for s in expected)
    return DeadlineBoard(
        deadline=deadline,
        expected=len(expected),
        submitted=on_time + late,
        on_time=on_time,
        late=late,
        missing=len(missing_ids),
        gaps=group_gaps([s.agency for s in expected], missing_ids, lang),
        past=now >= deadline.due_at,
    )


def _progress(target: Target, reach: Reach) -> TargetProgress:
    if target.measure == "posts":
        per = reach.posts_this_quarter if target.period == "quarter" else reach.posts_this_year
        return TargetProgress(target, float(per))
    if target.measure == "groups_reached":
        return TargetProgress(target, round(reach.groups_reached_percent, 1))
    return TargetProgress(target, None)


async def build_board(
    db: Database,
    pack: CampaignPack,
    *,
    now: datetime,
    lang: str,
    template_quota: int | None = None,
) -> Board:
    """Read the board's figures in one transaction."""
    async with db.session() as session:
        return await read_board(session, pack, now=now, lang=lang, template_quota=template_quota)


async def read_board(
    session: AsyncSession,
    pack: CampaignPack,
    *,
    now: datetime,
    lang: str,
    template_quota: int | None = None,
) -> Board:
    """The board's figures read in the caller's transaction (a chat turn's); the OA's template
    notices with `template_quota` (the lane is on)."""
    q_start, q_end, quarter = quarter_bounds(now)
    y_start, y_end = year_bounds(now)
    group_names = pack.residential_groups.all_names()
    deadlines = []
    for deadline in sorted(pack.deadlines, key=lambda d: d.due):
        sent = await records.sent_reports(session, deadline_id=deadline.id)
        deadlines.append(deadline_board(pack, deadline, sent, now=now, lang=lang))
    campaign_id = pack.campaign.id
    posts_q = await records.posts_delivered(
        session, campaign_id=campaign_id, since=q_start, until=q_end
    )
    posts_y = await records.posts_delivered(
        session, campaign_id=campaign_id, since=y_start, until=y_end
    )
    reached = await records.groups_reached(session, since=y_start, until=y_end)
    subscribers = await records.subscriber_counts(session)
    oa = await window_counts(session, OA_CHANNEL, OA_WINDOW, now, template_quota=template_quota)
    reach = Reach(
        quarter=quarter,
        year=y_start.year,
        posts_this_quarter=posts_q,
        posts_this_year=posts_y,
        groups_total=len(group_names),
        groups_reached=len(reached & set(group_names)),
        subscribers=subscribers,
        oa=oa if oa.in_window + oa.out_of_window + oa.not_following else None,
    )
    targets = [_progress(target, reach) for target in pack.targets]
    return Board(pack, now, deadlines, reach, targets)


async def board_view(
    db: Database,
    pack: CampaignPack,
    clock: Clock,
    lang: str,
    *,
    template_quota: int | None = None,
) -> BoardView:
    """The board as text for a chat message (Vietnamese or English) and its data;
    `template_quota` when the OA's template lane is on."""
    board = await build_board(db, pack, now=clock.now(), lang=lang, template_quota=template_quota)
    return BoardView(render_board(board, lang), board)
