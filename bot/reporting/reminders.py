"""Deadline reminders to agencies that have not reported, and one escalation to coordinators.

`activate_reminders` materialises, for each deadline of the pack, one `reminder` event per
offset (`due − offset days` at `reminder_hour`, Vietnam time) and, unless `escalate = false`, one
`escalation` event on the morning of the first late day (`due` at `reminder_hour`). Keys are
unique (`<campaign>:reminder:<deadline>:<offset>`), so activating twice creates nothing twice.

`sweep_reminders` (scheduler, every minute) turns due events into DIRECT outbox rows:

- a reminder goes to every official of each reporting agency with no submission for that
  deadline, read at sweep time (an agency that has sent is never reminded); offset ≥ 2 reads
  «còn N ngày», 1 «hôm nay là ngày cuối», 0 «đã quá hạn»;
- the escalation goes to every coordinator, listing the missing agencies grouped by type as on
  the board (numbered ones as «Khối phố: 45/47 chưa gửi — trừ 3, 12», others one per line, in
  Vietnamese order), split into parts that fit a Zalo message (2,000 characters);
- **quiet hours**: nothing is enqueued; due events wait until they end;
- a reminder is only sent on its own Vietnam calendar day: one whose day passed (the bot was
  down) is closed as `missed` rather than sent with a wrong «còn N ngày»; an escalation is sent
  late rather than never;
- each round opens one BulkRun; rows carry dedup keys (built in bot/delivery/keys.py) and, for
  reminders, the deadline and the agency as their topic; the event is closed in the same
  transaction, so a crash, a restart or a second sweep sends nothing twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.campaign.events import ActivationResult, WantedEvents, sync_events
from bot.channels.base import Outbound
from bot.clock import VN_TZ
from bot.delivery import keys
from bot.delivery.outbox import OutboxItem, Priority, enqueue, start_run
from bot.domain.campaign import Agency, CampaignPack, Deadline
from bot.domain.text import ZALO_MAX_TEXT
from bot.reporting import reports
from bot.reporting import repository as repo
from bot.reporting.gaps import gap_lines, group_gaps
from bot.storage.db import Database
from bot.storage.models import CampaignEvent, OutboxMessage
from bot.storage.models import delivery as outbox_status
from bot.storage.models.events import CANCELLED, DONE, MISSED, PENDING, EventKind
from messages import t

log = logging.getLogger(__name__)

REMINDER = EventKind.REMINDER
ESCALATION = EventKind.ESCALATION
KINDS = (REMINDER, ESCALATION)


@dataclass(frozen=True, slots=True)
class ReminderSweepResult:
    """What one sweep did; counts only, never who."""

    reminders: int = 0  # outbox rows for officials
    escalations: int = 0  # outbox rows for coordinators
    events_done: int = 0
    events_missed: int = 0
    runs: int = 0
    quiet: bool = False


def reminder_key(campaign_id: str, deadline_id: str, offset: int) -> str:
    """The unique key of a reminder event."""
    return f"{campaign_id}:reminder:{deadline_id}:{offset}"


def escalation_key(campaign_id: str, deadline_id: str) -> str:
    """The unique key of an escalation event."""
    return f"{campaign_id}:escalation:{deadline_id}"


def _at(deadline: Deadline, day_offset: int) -> datetime:
    hour = time.fromisoformat(deadline.reminder_hour)
    return datetime.combine(deadline.due - timedelta(days=day_offset), hour, tzinfo=VN_TZ)


def planned_events(pack: CampaignPack) -> WantedEvents:
    """key → (kind, due_at, payload JSON) for every reminder and escalation of the pack."""
    campaign_id = pack.campaign.id
    wanted: WantedEvents = {}
    for deadline in pack.deadlines:
        for offset in deadline.reminder_days_before:
            payload = json.dumps({"deadline": deadline.id, "offset": offset}, sort_keys=True)
            wanted[reminder_key(campaign_id, deadline.id, offset)] = (
                REMINDER,
                _at(deadline, offset),
                payload,
            )
        if deadline.escalate:
            payload = json.dumps({"deadline": deadline.id}, sort_keys=True)
            wanted[escalation_key(campaign_id, deadline.id)] = (
                ESCALATION,
                _at(deadline, 0),
                payload,
            )
    return wanted


async def activate_reminders(
    db: Database, pack: CampaignPack, *, now: datetime
) -> ActivationResult:
    """Materialise the pack's reminder and escalation events; idempotent, follows pack edits."""
    campaign_id = pack.campaign.id
    wanted = planned_events(pack)
    async with db.session() as session:
        return await sync_events(
            session, campaign_id=campaign_id, wanted=wanted, kinds=KINDS, now=now
        )


async def sweep_reminders(
    db: Database, pack: CampaignPack, *, now: datetime
) -> ReminderSweepResult:
    """Turn due reminder and escalation events into DIRECT outbox rows (see the module doc)."""
    now_local = now.astimezone(VN_TZ)
    if pack.delivery.is_quiet(now_local.time()):
        return ReminderSweepResult(quiet=True)
    reminders = escalations = done = missed = runs = 0
    async with db.session() as session:
        due = await session.execute(
            select(CampaignEvent)
            .where(
                col(CampaignEvent.campaign_id) == pack.campaign.id,
                col(CampaignEvent.kind).in_(KINDS),
                col(CampaignEvent.status) == PENDING,
                col(CampaignEvent.due_at) <= now,
            )
            .order_by(col(CampaignEvent.due_at), col(CampaignEvent.id))
            .with_for_update(skip_locked=True)
        )
        for event in due.scalars():
            payload = json.loads(event.payload)
            deadline = reports.deadline_by_id(pack, str(payload.get("deadline", "")))
            event.processed_at, event.updated_at = now, now
            if deadline is None:
                event.status = CANCELLED
                continue
            if event.kind == REMINDER and event.due_at.astimezone(VN_TZ).date() < now_local.date():
                event.status = MISSED
                missed += 1
                log.warning("a deadline reminder was missed: its day passed before it went out")
                continue
            if event.kind == REMINDER:
                count, run_id = await _remind(
                    session, pack, deadline, int(payload.get("offset", 0)), now
                )
                reminders += count
            else:
                count, run_id = await _escalate(session, pack, deadline, now)
                escalations += count
            event.run_id = run_id
            event.status = DONE
            done += 1
            runs += run_id is not None
    if reminders or escalations or missed:
        log.info(
            "reminders: %d to officials, %d to coordinators, %d events done, %d missed",
            reminders,
            escalations,
            done,
            missed,
        )
    return ReminderSweepResult(
        reminders=reminders,
        escalations=escalations,
        events_done=done,
        events_missed=missed,
        runs=runs,
    )


def _reminder_text(deadline: Deadline, offset: int, agency_name: str, lang: str) -> str:
    fields: dict[str, object] = {
        "deadline": reports.deadline_title(deadline, lang),
        "agency": agency_name,
        "due": reports.format_due(deadline),
    }
    if offset >= 2:
        return t("reports.reminder.days_left", lang, days=offset, **fields)
    if offset == 1:
        return t("reports.reminder.last_day", lang, **fields)
    return t("reports.reminder.overdue", lang, **fields)


async def _remind(
    session: AsyncSession, pack: CampaignPack, deadline: Deadline, offset: int, now: datetime
) -> tuple[int, int | None]:
    missing = await reports.missing_agencies(session, pack, deadline)
    names = {a.id: a.name for a in missing}
    recipients = await repo.officials_of(session, agency_ids=list(names))
    if not recipients:
        return 0, None
    label = t(
        "reports.reminder.run_label",
        "vi",
        deadline=deadline.title,
        days=offset,
        due=reports.format_due(deadline),
    )
    run_id = await start_run(session, kind=REMINDER, label=label, now=now)
    items = []
    for official in recipients:
        assert official.agency_id is not None
        assert official.id is not None
        text = _reminder_text(deadline, offset, names[official.agency_id], official.lang)
        items.append(
            OutboxItem(
                message=Outbound(channel=official.channel, chat_id=official.chat_id, text=text),
                priority=Priority.DIRECT,
                run_id=run_id,
                dedup_key=keys.reminder_key(
                    pack.campaign.id, deadline.id, offset, official.agency_id, official.id
                ),
                topic=keys.reminder_topic(pack.campaign.id, deadline.id),
                topic_ref=official.agency_id,
            )
        )
    return await enqueue(session, items, now=now), run_id


def escalation_parts(
    pack: CampaignPack, deadline: Deadline, missing: list[Agency], lang: str
) -> list[str]:
    """The escalation text in parts of at most 2,000 characters, whole lines only.

    The missing agencies are grouped by type as on the coordinator's board («Khối phố: 45/47
    chưa gửi — trừ 3, 12»), so 47 khối phố take one line instead of 47.
    """
    title = reports.deadline_title(deadline, lang)
    due = reports.format_due(deadline)
    expected = reports.reporting_agencies(pack)
    total = len(expected)
    if not missing:
        return [t("reports.escalation.none", lang, deadline=title, due=due, total=total)]
    head = t(
        "reports.escalation.head", lang, deadline=title, due=due, missing=len(missing), total=total
    )
    lines = gap_lines(group_gaps(expected, {a.id for a in missing}, lang), lang)
    # Room for the «(continued, 2/3)» header of later parts.
    room = ZALO_MAX_TEXT - 40
    chunks: list[list[str]] = [[head]]
    size = len(head)
    for line in lines:
        if size + 1 + len(line) > room:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 1
    parts = len(chunks)
    texts = []
    for number, chunk in enumerate(chunks, start=1):
        body = "\n".join(chunk)
        if number > 1:
            body = t("reports.escalation.continued", lang, part=number, parts=parts) + "\n" + body
        texts.append(body)
    return texts


async def _escalate(
    session: AsyncSession, pack: CampaignPack, deadline: Deadline, now: datetime
) -> tuple[int, int | None]:
    recipients = await repo.coordinators(session)
    if not recipients:
        log.warning("no coordinator is bound: the escalation of a deadline reaches nobody")
        return 0, None
    missing = await reports.missing_agencies(session, pack, deadline)
    label = t(
        "reports.escalation.run_label",
        "vi",
        deadline=deadline.title,
        due=reports.format_due(deadline),
    )
    run_id = await start_run(session, kind=ESCALATION, label=label, now=now)
    items = []
    for coordinator in recipients:
        parts = escalation_parts(pack, deadline, missing, coordinator.lang)
        for number, text in enumerate(parts, 1):
            items.append(
                OutboxItem(
                    message=Outbound(
                        channel=coordinator.channel, chat_id=coordinator.chat_id, text=text
                    ),
                    priority=Priority.DIRECT,
                    run_id=run_id,
                    dedup_key=keys.escalation_key(
                        pack.campaign.id, deadline.id, coordinator.id, number
                    ),
                )
            )
    return await enqueue(session, items, now=now), run_id


async def cancel_pending_reminders(
    session: AsyncSession, *, campaign_id: str, deadline_id: str, agency_id: str
) -> int:
    """Cancel reminder rows not yet sent to an agency that has just reported."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.status) == outbox_status.PENDING,
            col(OutboxMessage.topic) == keys.reminder_topic(campaign_id, deadline_id),
            col(OutboxMessage.topic_ref) == agency_id,
        )
        .values(status=outbox_status.CANCELLED)
    )
    return int(getattr(result, "rowcount", 0) or 0)
