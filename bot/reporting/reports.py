"""Reports: which deadline is open, drafts as form states, versioned submissions, draft expiry.

Rules (the tests pin them down):

- **The deadline** a report is for: the pack's next deadline not yet past, else the last one.
- **On time** means `submitted_at < deadline.due_at` (00:00 Vietnam time on the first late day).
- **Amendments** are allowed until the deadline; each is a new version and the highest counts.
  After the deadline an agency that never sent may still send (marked late); one that has sent
  cannot change its report any more (the coordinator already counts it).
- **Drafts** live one per chat and expire `draft_ttl_hours` after their last change, with one
  warning through the outbox first (`expire_drafts`, run by the scheduler).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Outbound
from bot.chat.refusal import Refusal, Refused
from bot.clock import Randomness, SystemRandomness
from bot.delivery import keys
from bot.delivery.outbox import OutboxItem, Priority, enqueue
from bot.domain.campaign import Agency, CampaignPack, Deadline, in_lang
from bot.domain.forms import (
    FormData,
    FormState,
    Row,
    draft_expired,
    draft_expiry_warning_due,
)
from bot.domain.text import name_order as name_order  # kept importable from here
from bot.reporting import repository as repo
from bot.storage.db import Database
from bot.storage.models import Official, ReportDraft, ReportSubmission
from messages import t

log = logging.getLogger(__name__)

DRAFT_WARN_BEFORE_HOURS = 12


class AmendClosed(Refused):
    """The deadline passed and the agency has already sent: no new version is accepted.

    The refusal's fields lack the agency's display name, which the chat adds."""


@dataclass(frozen=True, slots=True)
class AgencyReport:
    """What an agency has sent for a deadline."""

    versions: int
    latest: ReportSubmission | None
    first_on_time: bool | None  # None: nothing sent

    def latest_data(self) -> FormData | None:
        """The counting version's data."""
        if self.latest is None:
            return None
        return FormData.model_validate_json(self.latest.data_json)


@dataclass(frozen=True, slots=True)
class DraftSweepResult:
    """What one `expire_drafts` run did; counts only."""

    warned: int = 0
    expired: int = 0


def current_deadline(pack: CampaignPack, now: datetime) -> Deadline | None:
    """The next deadline not yet past, else the last one; None if the pack has none."""
    ordered = sorted(pack.deadlines, key=lambda d: d.due)
    for deadline in ordered:
        if now < deadline.due_at:
            return deadline
    return ordered[-1] if ordered else None


def deadline_by_id(pack: CampaignPack, deadline_id: str) -> Deadline | None:
    """The pack's deadline with this id, if it still exists."""
    return next((d for d in pack.deadlines if d.id == deadline_id), None)


def is_on_time(deadline: Deadline, submitted_at: datetime) -> bool:
    """True if sent before the first late day began (Vietnam time)."""
    return submitted_at < deadline.due_at


def format_due(deadline: Deadline) -> str:
    """The deadline as plans write it: «trước ngày 18/12/2025» → 18/12/2025."""
    return deadline.due.strftime("%d/%m/%Y")


def format_last_day(deadline: Deadline) -> str:
    """The last on-time day (the day before `due`), dd/mm/yyyy."""
    return (deadline.due - timedelta(days=1)).strftime("%d/%m/%Y")


def deadline_title(deadline: Deadline, lang: str) -> str:
    """The deadline's title in `lang` (Vietnamese when there is no translation)."""
    return in_lang(lang, deadline.title, deadline.title_en)


def reporting_agencies(pack: CampaignPack) -> list[Agency]:
    """Agencies that owe a report."""
    return [a for a in pack.agencies if a.reports]


def new_draft_id(randomness: Randomness | None = None) -> str:
    """A short random id telling one draft's buttons from another's (12 hex digits)."""
    return (randomness or SystemRandomness()).token_hex(6)


def amend_state(data: FormData, randomness: Randomness | None = None) -> FormState:
    """A draft holding a sent version, opened at its summary (so «sửa N» changes one item)."""
    return FormState(
        draft_id=new_draft_id(randomness),
        nonce=1,
        mode="summary",
        tables={k: [dict(r) for r in v] for k, v in data.tables.items()},
        values={k: dict(v) for k, v in data.values.items()},
    )


def add_row(state: FormState, section_id: str, row: Row) -> FormState:
    """The state with `row` appended to table `section_id`; buttons shown before go stale.

    Appending at the end never moves the person's position (section, row, field): if they are
    filling that very table, the engine walks the added row after theirs, showing its values.
    """
    tables = {k: [dict(r) for r in v] for k, v in state.tables.items()}
    tables.setdefault(section_id, []).append(dict(row))
    return state.model_copy(update={"tables": tables, "nonce": state.nonce + 1})


def quick_state(section_id: str, row: Row, randomness: Randomness | None = None) -> FormState:
    """A new draft made by `/nhanh`: the row, opened at the summary (the rest can follow)."""
    return FormState(
        draft_id=new_draft_id(randomness), nonce=1, mode="summary", tables={section_id: [dict(row)]}
    )


async def agency_report(session: AsyncSession, *, agency_id: str, deadline_id: str) -> AgencyReport:
    """What `agency_id` has sent for `deadline_id` (only ever asked for the caller's own agency)."""
    rows = await repo.submissions(session, agency_id=agency_id, deadline_id=deadline_id)
    if not rows:
        return AgencyReport(versions=0, latest=None, first_on_time=None)
    return AgencyReport(versions=len(rows), latest=rows[-1], first_on_time=rows[0].on_time)


async def submit_report(
    session: AsyncSession,
    *,
    official: Official,
    deadline: Deadline,
    data: FormData,
    now: datetime,
) -> ReportSubmission:
    """Store a new version of the official's agency report; AmendClosed after the deadline."""
    assert official.agency_id is not None
    previous = await repo.submissions(
        session, agency_id=official.agency_id, deadline_id=deadline.id
    )
    on_time = is_on_time(deadline, now)
    if previous and not on_time:
        raise AmendClosed(Refusal("reports.amend_closed", {"due": format_due(deadline)}))
    row = await repo.add_submission(
        session,
        agency_id=official.agency_id,
        deadline_id=deadline.id,
        data_json=data.model_dump_json(),
        submitted_at=now,
        on_time=on_time,
        official_id=official.id,
    )
    log.info(
        "report version %d stored for a deadline (%s)",
        row.version,
        "on time" if on_time else "late",
    )
    return row


async def missing_agencies(
    session: AsyncSession, pack: CampaignPack, deadline: Deadline
) -> list[Agency]:
    """Reporting agencies with no submission for `deadline`, in Vietnamese (numeric) order."""
    sent = await repo.submitted_agency_ids(session, deadline_id=deadline.id)
    missing = [a for a in reporting_agencies(pack) if a.id not in sent]
    return sorted(missing, key=lambda a: name_order(a.name))


def _draft_message(draft: ReportDraft, text: str) -> Outbound:
    return Outbound(channel=draft.channel, chat_id=draft.chat_id, text=text)


async def expire_drafts(db: Database, pack: CampaignPack, *, now: datetime) -> DraftSweepResult:
    """Warn once about drafts close to expiry, delete expired ones (both through the outbox).

    Idempotent: a warning's dedup key names the draft and its last change, so a second run (or
    a restart) sends nothing twice; touching the draft afterwards allows a new warning later.
    """
    form = pack.report_form
    if form is None:
        return DraftSweepResult()
    ttl = form.draft_ttl_hours
    lead = min(DRAFT_WARN_BEFORE_HOURS, max(ttl // 2, 1))
    warned = expired = 0
    async with db.session() as session:
        candidates = await repo.drafts_older_than(session, before=now - _hours(ttl) + _hours(lead))
        items: list[OutboxItem] = []
        for draft in candidates:
            official = await repo.get_official(
                session, channel=draft.channel, chat_id=draft.chat_id
            )
            lang = official.lang if official is not None else "vi"
            title = form.title
            if draft_expired(draft.updated_at, now, ttl):
                await session.delete(draft)
                expired += 1
                if official is not None:
                    text = t("reports.draft.expired", lang, title=title)
                    items.append(
                        OutboxItem(
                            message=_draft_message(draft, text),
                            priority=Priority.DIRECT,
                            dedup_key=keys.draft_expired_key(draft.id, draft.updated_at),
                        )
                    )
                continue
            already = draft.warned_at is not None and draft.warned_at >= draft.updated_at
            if official is None or not draft_expiry_warning_due(
                draft.updated_at, now, ttl, warned=already, warn_before_hours=lead
            ):
                continue
            left = max(1, round((draft.updated_at + _hours(ttl) - now).total_seconds() / 3600))
            text = t("reports.draft.expiry_warning", lang, title=title, hours=left)
            items.append(
                OutboxItem(
                    message=_draft_message(draft, text),
                    priority=Priority.DIRECT,
                    dedup_key=keys.draft_warning_key(draft.id, draft.updated_at),
                )
            )
            draft.warned_at = now
            warned += 1
        await enqueue(session, items, now=now)
    if warned or expired:
        log.info("report drafts: %d warned, %d expired", warned, expired)
    return DraftSweepResult(warned=warned, expired=expired)


def _hours(n: int) -> timedelta:
    return timedelta(hours=n)
