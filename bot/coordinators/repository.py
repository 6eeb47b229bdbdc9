"""The coordinator's queries: submissions per deadline, and what Loa's own records say about
reach. Counts and agency ids only: never a chat id, a name of a resident or a message text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.storage.models import BulkRun, CampaignEvent, OutboxMessage, ReportSubmission, Subscriber
from bot.storage.models import delivery as outbox_status
from bot.storage.models.events import DAILY_POST
from bot.storage.models.residents import SubscriberStatus

BROADCAST = "broadcast"  # the bulk-run kind of a coordinator's broadcast


@dataclass(frozen=True, slots=True)
class SentReport:
    """What one agency has sent for a deadline: its first and its counting (latest) version."""

    agency_id: str
    versions: int
    first_at: datetime
    first_on_time: bool
    latest: ReportSubmission


async def sent_reports(session: AsyncSession, *, deadline_id: str) -> dict[str, SentReport]:
    """agency id → what it sent for `deadline_id` (agencies that sent nothing are absent)."""
    rows = await session.execute(
        select(ReportSubmission)
        .where(col(ReportSubmission.deadline_id) == deadline_id)
        .order_by(col(ReportSubmission.agency_id), col(ReportSubmission.version))
    )
    grouped: dict[str, list[ReportSubmission]] = {}
    for row in rows.scalars():
        grouped.setdefault(row.agency_id, []).append(row)
    return {
        agency: SentReport(
            agency_id=agency,
            versions=len(versions),
            first_at=versions[0].submitted_at,
            first_on_time=versions[0].on_time,
            latest=versions[-1],
        )
        for agency, versions in grouped.items()
    }


async def posts_delivered(
    session: AsyncSession, *, campaign_id: str, since: datetime, until: datetime
) -> int:
    """Daily posts of the campaign that reached at least one chat in [since, until)."""
    stmt = (
        select(func.count(func.distinct(col(CampaignEvent.id))))
        .select_from(CampaignEvent)
        .join(OutboxMessage, col(OutboxMessage.run_id) == col(CampaignEvent.run_id))
        .where(
            col(CampaignEvent.campaign_id) == campaign_id,
            col(CampaignEvent.kind) == DAILY_POST,
            col(OutboxMessage.status) == outbox_status.SENT,
            col(OutboxMessage.sent_at) >= since,
            col(OutboxMessage.sent_at) < until,
        )
    )
    return int((await session.execute(stmt)).scalar_one())


async def groups_reached(session: AsyncSession, *, since: datetime, until: datetime) -> set[str]:
    """Residential groups with a subscriber who received a post or broadcast in [since, until)."""
    stmt = (
        select(col(Subscriber.group_code))
        .distinct()
        .select_from(Subscriber)
        .join(
            OutboxMessage,
            and_(
                col(OutboxMessage.channel) == col(Subscriber.channel),
                col(OutboxMessage.chat_id) == col(Subscriber.chat_id),
            ),
        )
        .join(BulkRun, col(BulkRun.id) == col(OutboxMessage.run_id))
        .where(
            col(Subscriber.group_code).is_not(None),
            col(BulkRun.kind).in_([DAILY_POST, BROADCAST]),
            col(OutboxMessage.status) == outbox_status.SENT,
            col(OutboxMessage.sent_at) >= since,
            col(OutboxMessage.sent_at) < until,
        )
    )
    return {str(group) for group in (await session.execute(stmt)).scalars()}


async def subscriber_counts(session: AsyncSession) -> dict[tuple[str | None, str], int]:
    """(residential group or None, channel) → number of active subscribers."""
    stmt = (
        select(col(Subscriber.group_code), col(Subscriber.channel), func.count())
        .where(col(Subscriber.status) == SubscriberStatus.ACTIVE)
        .group_by(col(Subscriber.group_code), col(Subscriber.channel))
    )
    return {
        (group, str(channel)): int(count)
        for group, channel, count in (await session.execute(stmt)).all()
    }
