"""Broadcasts: who an audience reaches, the preview, confirming once, scheduling, cancelling,
and the history. The chat flow (`broadcast_chat`) and `loa broadcast` call these.

A broadcast is one row (status draft → scheduled | sending → done | cancelled) and, once
confirmed, one bulk run whose outbox rows are written in the same transaction, so a kill -9 at
any point leaves either nothing queued or everything queued; the dispatcher resumes the rest
after a restart (only rows in flight at the kill can go twice). Confirming is a conditional
update (draft → sending): two coordinators confirming at once send it once.

Residents who stopped the bot (status other than active) are never counted nor messaged; a
resident who stops meanwhile has the queued rows cancelled by /huy. Non-urgent broadcasts are
bulk rows, held by the pack's quiet hours; urgent ones go with reply priority. On the Zalo OA a
resident outside the 7-day window cannot be messaged: their row is held until they write again
(bot/delivery/window.py); the preview and the figures count those rows.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.channels.base import Capabilities, Outbound, split_for
from bot.channels.zalo_oa.events import CHANNEL as OA_CHANNEL
from bot.channels.zalo_oa.events import WINDOW as OA_WINDOW
from bot.clock import VN_TZ
from bot.delivery.keys import BROADCAST_TOPIC
from bot.delivery.outbox import OutboxItem, Priority, enqueue, start_run
from bot.delivery.window import last_interactions, outside_reason
from bot.domain.campaign import CampaignPack
from bot.domain.text import ZALO_MAX_TEXT
from bot.reporting import reports
from bot.reporting import repository as officials_repo
from bot.storage.models import Broadcast, OutboxMessage, Subscriber
from bot.storage.models.delivery import CANCELLED, HELD, PENDING, SENDING

MAX_TEXT = 12_000  # about three Telegram messages or six Zalo messages
AUDIENCE_KINDS = ("residents", "groups", "lang", "agencies", "type", "missing")
UNKNOWN_CHANNEL = Capabilities(max_text=ZALO_MAX_TEXT, buttons=False, utf16=True)


class BroadcastError(ValueError):
    """A broadcast cannot go as asked; `key` and `fields` are the message to show."""

    def __init__(self, key: str, **fields: object) -> None:
        super().__init__(key)
        self.key = key
        self.fields = fields


@dataclass(frozen=True, slots=True)
class Audience:
    """Who receives it: all residents, residents of groups, by language, all agencies, agencies
    of a type, or agencies still missing a deadline's report."""

    kind: str
    values: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "values": list(self.values)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Audience:
        data = json.loads(raw or "{}")
        return cls(str(data.get("kind", "")), tuple(str(v) for v in data.get("values", [])))

    @classmethod
    def parse(cls, text: str) -> Audience:
        """`residents`, `groups:Khối phố 1,Khối phố 2`, `lang:vi`, `agencies`, `type:school`,
        `missing:<deadline id>` (the CLI's --audience)."""
        kind, _, rest = text.strip().partition(":")
        values = tuple(v.strip() for v in rest.split(",") if v.strip())
        if kind not in AUDIENCE_KINDS:
            raise BroadcastError("coordinators.broadcast.bad_audience", audience=text[:60])
        return cls(kind, values)


@dataclass(frozen=True, slots=True)
class Recipient:
    channel: str
    chat_id: str


@dataclass
class Preview:
    """What the coordinator sees before confirming."""

    recipients: list[Recipient]
    per_channel: dict[str, int] = field(default_factory=dict)
    parts: dict[str, list[str]] = field(default_factory=dict)  # the text as each channel splits it
    oa_now: int = 0  # Zalo OA recipients inside the 7-day window: they get it now …
    oa_held: int = 0  # … and those outside it: held until they write to the OA again


def check_text(text: str) -> str:
    """The broadcast's text, trimmed; refuses an empty or an overlong one."""
    cleaned = text.strip()
    if not cleaned:
        raise BroadcastError("coordinators.broadcast.empty")
    if len(cleaned) > MAX_TEXT:
        raise BroadcastError("coordinators.broadcast.too_long", length=len(cleaned), limit=MAX_TEXT)
    return cleaned


async def recipients(
    session: AsyncSession, pack: CampaignPack, audience: Audience
) -> list[Recipient]:
    """Every chat the audience reaches, once each, in a stable order."""
    if audience.kind in ("residents", "groups", "lang"):
        stmt = select(col(Subscriber.channel), col(Subscriber.chat_id)).where(
            col(Subscriber.status) == "active"
        )
        if audience.kind == "groups":
            stmt = stmt.where(col(Subscriber.group_code).in_(audience.values))
        elif audience.kind == "lang":
            stmt = stmt.where(col(Subscriber.lang).in_(audience.values))
        rows = (await session.execute(stmt.order_by(col(Subscriber.id)))).all()
        return [Recipient(channel, chat_id) for channel, chat_id in rows]
    if audience.kind == "agencies":
        agency_ids = [a.id for a in pack.agencies]
    elif audience.kind == "type":
        agency_ids = [a.id for a in pack.agencies if a.type in audience.values]
    elif audience.kind == "missing":
        deadline = reports.deadline_by_id(pack, audience.values[0] if audience.values else "")
        if deadline is None:
            raise BroadcastError("coordinators.broadcast.bad_audience", audience="missing")
        agency_ids = [a.id for a in await reports.missing_agencies(session, pack, deadline)]
    else:
        raise BroadcastError("coordinators.broadcast.bad_audience", audience=audience.kind)
    officials = await officials_repo.officials_of(session, agency_ids=agency_ids)
    seen: dict[tuple[str, str], Recipient] = {}
    for official in officials:
        seen.setdefault(
            (official.channel, official.chat_id), Recipient(official.channel, official.chat_id)
        )
    return list(seen.values())


async def preview(
    session: AsyncSession,
    pack: CampaignPack,
    audience: Audience,
    text: str,
    *,
    channels: Mapping[str, Capabilities],
    now: datetime,
) -> Preview:
    """The recipients per channel and the text split as each channel will split it."""
    found = await recipients(session, pack, audience)
    per_channel = Counter(r.channel for r in found)
    parts = {channel: parts_for(channels, channel, text) for channel in sorted(per_channel)}
    shown = Preview(found, dict(sorted(per_channel.items())), parts)
    oa_chats = [r.chat_id for r in found if r.channel == OA_CHANNEL]
    if oa_chats:
        last = await last_interactions(session, OA_CHANNEL, oa_chats)
        shown.oa_held = sum(
            1 for c in oa_chats if c in last and outside_reason(last[c], OA_WINDOW, now)
        )
        shown.oa_now = len(oa_chats) - shown.oa_held
    return shown


def parts_for(channels: Mapping[str, Capabilities], channel: str, text: str) -> list[str]:
    """`text` cut into the messages `channel` sends it as (a channel that is not configured:
    cut at Zalo's 2,000, the shortest limit)."""
    return split_for(channels.get(channel, UNKNOWN_CHANNEL), text)


_WHEN = re.compile(r"^\s*(\d{1,2})/(\d{1,2})\s+(\d{1,2})[:h](\d{2})\s*$")


def parse_when(text: str, *, now: datetime) -> datetime:
    """«dd/mm hh:mm» in Vietnam time, this year; refused when malformed or in the past."""
    match = _WHEN.match(text)
    if match is None:
        raise BroadcastError("coordinators.broadcast.bad_time", typed=text.strip()[:40])
    day, month, hour, minute = (int(g) for g in match.groups())
    try:
        local = datetime(now.astimezone(VN_TZ).year, month, day, hour, minute, tzinfo=VN_TZ)
    except ValueError:
        raise BroadcastError("coordinators.broadcast.bad_time", typed=text.strip()[:40]) from None
    if local <= now:
        raise BroadcastError("coordinators.broadcast.in_past", typed=text.strip()[:40])
    return local


async def create(
    session: AsyncSession,
    *,
    author: str,
    channel: str,
    chat_id: str,
    text: str,
    audience: Audience,
    now: datetime,
) -> Broadcast:
    """A draft broadcast."""
    row = Broadcast(
        author=author,
        channel=channel,
        chat_id=chat_id,
        text=check_text(text),
        audience=audience.to_json(),
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def draft_text(session: AsyncSession, broadcast_id: int) -> str | None:
    """The text of a draft not yet confirmed; None when it is gone or was confirmed."""
    row = await session.get(Broadcast, broadcast_id)
    return row.text if row is not None and row.status == "draft" else None


async def confirm(
    session: AsyncSession,
    pack: CampaignPack,
    broadcast_id: int,
    *,
    now: datetime,
    send_at: datetime | None = None,
    urgent: bool = False,
) -> Broadcast:
    """Confirm a draft: queue every message (held until `send_at` if given). Once only."""
    status = "scheduled" if send_at is not None else "sending"
    draft = await session.get(Broadcast, broadcast_id)
    if draft is None:
        raise BroadcastError("coordinators.broadcast.gone")
    found = await recipients(session, pack, Audience.from_json(draft.audience))
    if not found:
        raise BroadcastError("coordinators.broadcast.nobody")
    claimed = await session.execute(
        update(Broadcast)
        .where(col(Broadcast.id) == broadcast_id, col(Broadcast.status) == "draft")
        .values(status=status, confirmed_at=now, send_at=send_at, urgent=urgent)
    )
    row = await session.get(Broadcast, broadcast_id, populate_existing=True)
    if row is None:
        raise BroadcastError("coordinators.broadcast.gone")
    if not getattr(claimed, "rowcount", 0):
        raise BroadcastError("coordinators.broadcast.already")
    run_id = await start_run(session, kind="broadcast", label=f"broadcast {row.id}", now=now)
    priority = Priority.REPLY if urgent else Priority.BULK
    items = [
        OutboxItem(
            message=Outbound(channel=r.channel, chat_id=r.chat_id, text=row.text),
            priority=priority,
            run_id=run_id,
            dedup_key=f"bc:{row.id}:{r.channel}:{r.chat_id}"[:160],
            not_before=send_at,
            topic=BROADCAST_TOPIC,
            topic_ref=str(row.id),
        )
        for r in found
    ]
    row.recipients = await enqueue(session, items, now=now)
    row.run_id = run_id
    return row


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a broadcast's run stands."""

    total: int
    sent: int
    failed: int
    blocked: int
    open: int
    held: int = 0  # outside a messaging window, waiting for the reader to write again

    @property
    def percent(self) -> int:
        done = self.total - self.open
        return 100 if self.total == 0 else 100 * done // self.total


async def progress(session: AsyncSession, run_id: int) -> Progress:
    """Counts of the run's rows by outcome (cancelled rows count as done, not sent)."""
    rows = await session.execute(
        select(col(OutboxMessage.status), func.count())
        .where(col(OutboxMessage.run_id) == run_id)
        .group_by(col(OutboxMessage.status))
    )
    counts: Counter[str] = Counter({status: n for status, n in rows.all()})
    return Progress(
        total=sum(counts.values()),
        sent=counts["sent"],
        failed=counts["failed"],
        blocked=counts["blocked"],
        open=counts[PENDING] + counts[SENDING],
        held=counts[HELD],
    )


async def cancel(
    session: AsyncSession, broadcast_id: int, *, now: datetime
) -> tuple[bool, str, int]:
    """Stop what is not yet sent, held rows included: (True, «cancelled», rows stopped); or
    (False, its status, 0) when it had finished (nothing held) or was cancelled already."""
    stoppable = ["sending", "scheduled", "draft"]
    if await _holds_rows(session, broadcast_id):
        stoppable.append("done")  # done sending, some rows still wait for their readers
    claimed = await session.execute(
        update(Broadcast)
        .where(col(Broadcast.id) == broadcast_id, col(Broadcast.status).in_(stoppable))
        .values(status="cancelled", finished_at=now)
    )
    row = await session.get(Broadcast, broadcast_id, populate_existing=True)
    if row is None:
        raise BroadcastError("coordinators.broadcast.gone")
    if not getattr(claimed, "rowcount", 0):
        return False, row.status, 0
    if row.run_id is None:
        return True, "cancelled", 0
    stopped = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.run_id) == row.run_id,
            col(OutboxMessage.status).in_((PENDING, HELD)),
        )
        .values(status=CANCELLED)
    )
    return True, "cancelled", int(getattr(stopped, "rowcount", 0) or 0)


async def _holds_rows(session: AsyncSession, broadcast_id: int) -> bool:
    """Whether some of the broadcast's rows are held for their readers."""
    found = await session.execute(
        select(col(OutboxMessage.id))
        .where(
            col(OutboxMessage.topic) == BROADCAST_TOPIC,
            col(OutboxMessage.topic_ref) == str(broadcast_id),
            col(OutboxMessage.status) == HELD,
        )
        .limit(1)
    )
    return found.first() is not None


async def running(session: AsyncSession) -> list[Broadcast]:
    """Broadcasts being sent or waiting for their time."""
    stmt = select(Broadcast).where(col(Broadcast.status).in_(("sending", "scheduled")))
    return list((await session.execute(stmt.order_by(col(Broadcast.id)))).scalars())


async def history(session: AsyncSession, *, limit: int = 10) -> list[Broadcast]:
    """The newest confirmed broadcasts (drafts left unconfirmed are not history)."""
    stmt = (
        select(Broadcast)
        .where(col(Broadcast.status) != "draft")
        .order_by(col(Broadcast.id).desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


def audience_values(pack: CampaignPack, kind: str) -> Sequence[str]:
    """The choices for an audience kind: group names, languages, agency types, deadline ids."""
    if kind == "groups":
        return pack.residential_groups.all_names()
    if kind == "lang":
        return ("vi", "en")
    if kind == "type":
        return sorted({a.type for a in pack.agencies})
    if kind == "missing":
        return [d.id for d in pack.deadlines]
    return ()
