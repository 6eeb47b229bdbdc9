"""The audit log: every broadcast, export, invite, binding, nudge and refusal, as who/what/when.

Who is a role and, for a chat, a keyed short hash of (channel, chat id) — stable for one
deployment's key, meaningless without it — or an agency id for an official; never a name, never
a message text. `loa audit` prints the newest entries.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.clock import format_vn_datetime
from bot.storage.models import AuditEntry

OFFICE = "office"  # the role of the office PC's command line
HASH_CHARS = 12


def chat_hash(key: bytes, channel: str, chat_id: str) -> str:
    """«tg:3f9a0c…»: a keyed short hash naming a chat in the log without its id."""
    digest = hmac.new(key, f"{channel}\0{chat_id}".encode(), hashlib.sha256).hexdigest()
    return f"{channel[:2]}:{digest[:HASH_CHARS]}"


async def record(
    session: AsyncSession,
    *,
    now: datetime,
    role: str,
    actor: str,
    action: str,
    detail: str = "",
) -> None:
    """Add one entry inside the caller's transaction (it commits with what it describes)."""
    entry = AuditEntry(at=now, role=role[:16], actor=actor[:64], action=action[:32])
    entry.detail = detail[:200]
    session.add(entry)


async def last_at(session: AsyncSession, *, action: str, detail: str) -> datetime | None:
    """When `action` with exactly `detail` was last recorded."""
    stmt = (
        select(col(AuditEntry.at))
        .where(col(AuditEntry.action) == action, col(AuditEntry.detail) == detail)
        .order_by(col(AuditEntry.at).desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalars().first()


async def recent(session: AsyncSession, *, limit: int = 50) -> list[AuditEntry]:
    """The newest `limit` entries, oldest first."""
    stmt = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    rows = list((await session.execute(stmt)).scalars())
    rows.reverse()
    return rows


def format_entries(entries: Sequence[AuditEntry]) -> str:
    """One line per entry: when (Vietnam time), role, who, what, detail."""
    if not entries:
        return "(no entries)"
    lines = [
        f"{format_vn_datetime(e.at)}  {e.role:<11} {e.actor:<16} {e.action:<12} {e.detail}".rstrip()
        for e in entries
    ]
    return "\n".join(lines)
