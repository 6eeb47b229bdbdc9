"""Officials, invite codes and attempts, report drafts and submissions."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.storage.models import (
    InviteAttempt,
    InviteCode,
    Official,
    ReportDraft,
    ReportSubmission,
)

# ---- officials ----------------------------------------------------------------------------------


async def get_official(session: AsyncSession, *, channel: str, chat_id: str) -> Official | None:
    """The official or coordinator bound to a chat, if any."""
    stmt = select(Official).where(
        col(Official.channel) == channel, col(Official.chat_id) == chat_id
    )
    return (await session.execute(stmt)).scalars().first()


async def bind_official(
    session: AsyncSession,
    *,
    channel: str,
    chat_id: str,
    role: str,
    agency_id: str | None,
    lang: str,
    now: datetime,
) -> tuple[Official, bool]:
    """Bind a chat (or re-bind it to a new role/agency); returns (row, was already bound)."""
    row = await get_official(session, channel=channel, chat_id=chat_id)
    existed = row is not None
    if row is None:
        row = Official(channel=channel, chat_id=chat_id, role=role, bound_at=now)
        session.add(row)
    row.role = role
    row.agency_id = agency_id
    row.lang = lang
    row.bound_at = now
    await session.flush()
    return row, existed


async def officials_of(session: AsyncSession, *, agency_ids: Collection[str]) -> list[Official]:
    """Officials bound to any of `agency_ids`, oldest binding first."""
    if not agency_ids:
        return []
    stmt = (
        select(Official)
        .where(col(Official.role) == "official", col(Official.agency_id).in_(list(agency_ids)))
        .order_by(col(Official.id))
    )
    return list((await session.execute(stmt)).scalars())


async def coordinators(session: AsyncSession) -> list[Official]:
    """Every bound coordinator."""
    stmt = select(Official).where(col(Official.role) == "coordinator").order_by(col(Official.id))
    return list((await session.execute(stmt)).scalars())


# ---- invite codes -------------------------------------------------------------------------------


async def add_invite(
    session: AsyncSession,
    *,
    code_hash: str,
    role: str,
    agency_id: str | None,
    now: datetime,
    expires_at: datetime,
) -> InviteCode:
    """Store a new invite (its hash only)."""
    row = InviteCode(
        code_hash=code_hash, role=role, agency_id=agency_id, created_at=now, expires_at=expires_at
    )
    session.add(row)
    await session.flush()
    return row


async def find_invite(session: AsyncSession, *, code_hash: str) -> InviteCode | None:
    """The invite with this hash, locked for update where the database can."""
    stmt = select(InviteCode).where(col(InviteCode.code_hash) == code_hash).with_for_update()
    return (await session.execute(stmt)).scalars().first()


async def record_attempt(
    session: AsyncSession, *, channel: str, chat_id: str, ok: bool, now: datetime
) -> None:
    """Remember one code attempt of a chat."""
    session.add(InviteAttempt(channel=channel, chat_id=chat_id, at=now, ok=ok))
    await session.flush()


async def count_failed_attempts(
    session: AsyncSession, *, channel: str, chat_id: str, since: datetime
) -> int:
    """Failed code attempts of a chat since `since`."""
    stmt = (
        select(func.count())
        .select_from(InviteAttempt)
        .where(
            col(InviteAttempt.channel) == channel,
            col(InviteAttempt.chat_id) == chat_id,
            col(InviteAttempt.ok).is_(False),
            col(InviteAttempt.at) >= since,
        )
    )
    return int((await session.execute(stmt)).scalar_one())


async def forget_attempts_before(session: AsyncSession, *, before: datetime) -> int:
    """Drop attempts older than `before` (they only matter for a few minutes)."""
    result = await session.execute(delete(InviteAttempt).where(col(InviteAttempt.at) < before))
    return int(getattr(result, "rowcount", 0) or 0)


# ---- drafts -------------------------------------------------------------------------------------


async def get_draft(session: AsyncSession, *, channel: str, chat_id: str) -> ReportDraft | None:
    """The report draft of a chat, if any."""
    stmt = select(ReportDraft).where(
        col(ReportDraft.channel) == channel, col(ReportDraft.chat_id) == chat_id
    )
    return (await session.execute(stmt)).scalars().first()


async def save_draft(
    session: AsyncSession,
    *,
    row: ReportDraft | None,
    channel: str,
    chat_id: str,
    agency_id: str,
    deadline_id: str,
    state_json: str,
    now: datetime,
) -> ReportDraft:
    """Update the chat's draft `row` already loaded (None: create it); a touched draft may be
    warned about again later."""
    if row is None:
        row = ReportDraft(
            channel=channel,
            chat_id=chat_id,
            agency_id=agency_id,
            deadline_id=deadline_id,
            state_json=state_json,
            updated_at=now,
        )
        session.add(row)
    row.agency_id = agency_id
    row.deadline_id = deadline_id
    row.state_json = state_json
    row.updated_at = now
    row.warned_at = None
    await session.flush()
    return row


async def delete_draft(session: AsyncSession, *, channel: str, chat_id: str) -> None:
    """Drop a chat's draft (submitted, cancelled or expired)."""
    await session.execute(
        delete(ReportDraft).where(
            col(ReportDraft.channel) == channel, col(ReportDraft.chat_id) == chat_id
        )
    )


async def drafts_older_than(session: AsyncSession, *, before: datetime) -> list[ReportDraft]:
    """Drafts untouched since `before` or earlier (candidates for a warning or expiry)."""
    stmt = (
        select(ReportDraft)
        .where(col(ReportDraft.updated_at) <= before)
        .order_by(col(ReportDraft.id))
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars())


# ---- submissions --------------------------------------------------------------------------------


async def submissions(
    session: AsyncSession, *, agency_id: str, deadline_id: str
) -> list[ReportSubmission]:
    """Every version an agency sent for a deadline, oldest first."""
    stmt = (
        select(ReportSubmission)
        .where(
            col(ReportSubmission.agency_id) == agency_id,
            col(ReportSubmission.deadline_id) == deadline_id,
        )
        .order_by(col(ReportSubmission.version))
    )
    return list((await session.execute(stmt)).scalars())


async def add_submission(
    session: AsyncSession,
    *,
    agency_id: str,
    deadline_id: str,
    data_json: str,
    submitted_at: datetime,
    on_time: bool,
    official_id: int | None,
) -> ReportSubmission:
    """Store the next version (the unique key stops two concurrent sends taking one number)."""
    stmt = select(func.coalesce(func.max(col(ReportSubmission.version)), 0)).where(
        col(ReportSubmission.agency_id) == agency_id,
        col(ReportSubmission.deadline_id) == deadline_id,
    )
    version = int((await session.execute(stmt)).scalar_one()) + 1
    row = ReportSubmission(
        agency_id=agency_id,
        deadline_id=deadline_id,
        version=version,
        data_json=data_json,
        submitted_at=submitted_at,
        on_time=on_time,
        official_id=official_id,
    )
    session.add(row)
    await session.flush()
    return row


async def submitted_agency_ids(session: AsyncSession, *, deadline_id: str) -> set[str]:
    """Agencies with at least one submission for a deadline."""
    stmt = (
        select(col(ReportSubmission.agency_id))
        .where(col(ReportSubmission.deadline_id) == deadline_id)
        .distinct()
    )
    return {str(agency) for agency in (await session.execute(stmt)).scalars()}


# ---- forgetting a chat --------------------------------------------------------------------------


async def forget_chat(session: AsyncSession, *, channel: str, chat_id: str) -> int:
    """Delete what this area keeps about a chat (binding, draft, attempts); reports stay."""
    removed = 0
    for model in (ReportDraft, InviteAttempt, Official):
        result = await session.execute(
            delete(model).where(
                col(model.channel) == channel,
                col(model.chat_id) == chat_id,
            )
        )
        removed += int(getattr(result, "rowcount", 0) or 0)
    return removed
