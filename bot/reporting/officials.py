"""Officials and coordinators: one-time expiring invite codes, binding a chat, brute-force limits.

A code is 10 characters of an unambiguous alphabet (no 0/O, 1/I/L), drawn with `secrets`:
31¹⁰ ≈ 8·10¹⁴ codes, so five tries per quarter-hour per chat never find one by chance. Only
its SHA-256 is stored. A wrong, used or expired code gets the same answer, so an answer never
tells which codes exist. Typed codes are upper-cased first (phones capitalise as they please).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat.refusal import Refusal, Refused
from bot.clock import format_vn_datetime
from bot.domain.campaign import Agency, CampaignPack
from bot.domain.text import closest, fold
from bot.reporting import repository as repo
from bot.reporting.reports import name_order
from bot.storage.db import Database
from bot.storage.models import Official
from messages import t

log = logging.getLogger(__name__)

Role = Literal["official", "coordinator"]
ROLES: tuple[Role, ...] = ("official", "coordinator")

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
DEFAULT_TTL = timedelta(days=7)
MAX_FAILED_ATTEMPTS = 5
ATTEMPT_WINDOW = timedelta(minutes=15)
ATTEMPT_RETENTION = timedelta(days=1)
MAX_PAYLOAD = 64  # Telegram's deep-link payload limit; longer text is no code of ours


class InviteError(Refused, ValueError):
    """An invite cannot be made; the command line prints `refusal.render("vi")`."""


@dataclass(frozen=True, slots=True)
class Invite:
    """A freshly made invite: the code is shown once and never stored."""

    code: str
    role: Role
    agency_id: str | None
    expires_at: datetime

    def deep_link(self, bot_username: str) -> str:
        """`https://t.me/<bot>?start=<code>`: opening it sends `/start <code>`."""
        return f"https://t.me/{bot_username.lstrip('@')}?start={self.code}"


RedeemOutcome = Literal["bound", "rebound", "refused", "rate_limited"]


@dataclass(frozen=True, slots=True)
class Redeemed:
    """What `/start <code>` did."""

    outcome: RedeemOutcome
    official: Official | None = None


def hash_code(code: str) -> str:
    """The stored form of a code: SHA-256 of its upper-cased, trimmed text."""
    return hashlib.sha256(code.strip().upper().encode("utf-8")).hexdigest()


def new_code() -> str:
    """A fresh random code (valid as a Telegram deep-link payload)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def find_agency(pack: CampaignPack, text: str) -> Agency:
    """The agency whose id or name is `text` (diacritics and case ignored); InviteError if not one.

    An exact id or name wins; otherwise a unique name containing the text. Several candidates
    are listed in the error, in Vietnamese order.
    """
    wanted = fold(text)
    if not wanted:
        raise InviteError(Refusal("officials.cli.agency_empty"))
    for agency in pack.agencies:
        if agency.id == text.strip() or fold(agency.name) == wanted:
            return agency
    matches = [a for a in pack.agencies if wanted in fold(a.name) or wanted in a.id]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        near = closest(text, [a.name for a in pack.agencies])
        shown = ", ".join(f"«{name}»" for name in near) or "-"
        raise InviteError(
            Refusal("officials.cli.agency_unknown_near", {"text": text.strip()[:80], "near": shown})
        )
    matches.sort(key=lambda a: name_order(a.name))
    lines = "\n".join(
        t("officials.cli.candidate", "vi", id=a.id, name=a.name) for a in matches[:20]
    )
    more = len(matches) - 20
    if more > 0:
        lines += "\n" + t("officials.cli.more_candidates", "vi", n=more)
    raise InviteError(
        Refusal("officials.cli.agency_ambiguous", {"text": text.strip()[:80], "lines": lines})
    )


async def create_invite(
    db: Database,
    *,
    pack: CampaignPack,
    role: Role,
    agency_id: str | None,
    now: datetime,
    ttl: timedelta = DEFAULT_TTL,
) -> Invite:
    """Make a single-use invite for an agency's official, or for a coordinator (no agency)."""
    if role not in ROLES:
        raise InviteError(Refusal("officials.cli.bad_role"))
    if role == "official":
        if agency_id is None or agency_id not in {a.id for a in pack.agencies}:
            raise InviteError(
                Refusal("officials.cli.agency_unknown", {"text": str(agency_id)[:80]})
            )
    elif agency_id is not None:
        raise InviteError(Refusal("officials.cli.coordinator_no_agency"))
    if ttl <= timedelta(0):
        raise InviteError(Refusal("officials.cli.bad_ttl"))
    code = new_code()
    expires_at = now + ttl
    async with db.session() as session:
        await repo.add_invite(
            session,
            code_hash=hash_code(code),
            role=role,
            agency_id=agency_id,
            now=now,
            expires_at=expires_at,
        )
    log.info("invite created for role %s (agency %s)", role, agency_id or "-")
    return Invite(code=code, role=role, agency_id=agency_id, expires_at=expires_at)


async def invite_command(
    db: Database,
    pack: CampaignPack,
    *,
    role: Role,
    agency: str | None,
    bot_username: str | None,
    now: datetime,
) -> str:
    """`loa invite agency "<name or id>"` / `loa invite coordinator`: the lines to print.

    Raises InviteError (message ready to print) for an unknown or ambiguous agency.
    """
    if role == "official":
        found = find_agency(pack, agency or "")
        invite = await create_invite(db, pack=pack, role=role, agency_id=found.id, now=now)
        who = t("officials.cli.for_agency", "vi", name=found.name, id=found.id)
    else:
        invite = await create_invite(db, pack=pack, role=role, agency_id=None, now=now)
        who = t("officials.cli.for_coordinator", "vi")
    expires = format_vn_datetime(invite.expires_at)
    return t(
        "officials.cli.invite",
        "vi",
        who=who,
        code=invite.code,
        link=invite.deep_link(bot_username) if bot_username else t("officials.cli.no_link", "vi"),
        expires=expires,
    )


async def redeem_invite(
    session: AsyncSession,
    *,
    pack: CampaignPack,
    channel: str,
    chat_id: str,
    code: str,
    lang: str,
    now: datetime,
) -> Redeemed:
    """Bind the chat with `code` inside the caller's transaction; every try is recorded."""
    failed = await repo.count_failed_attempts(
        session, channel=channel, chat_id=chat_id, since=now - ATTEMPT_WINDOW
    )
    if failed >= MAX_FAILED_ATTEMPTS:
        # Counted as a failure too, so hammering keeps the chat locked out.
        await repo.record_attempt(session, channel=channel, chat_id=chat_id, ok=False, now=now)
        log.warning("invite code attempts refused: too many failures from one chat on %s", channel)
        return Redeemed("rate_limited")
    invite = None
    cleaned = code.strip()
    if 0 < len(cleaned) <= MAX_PAYLOAD:
        invite = await repo.find_invite(session, code_hash=hash_code(cleaned))
    usable = (
        invite is not None
        and invite.used_at is None
        and now < invite.expires_at
        and (invite.role == "coordinator" or invite.agency_id in {a.id for a in pack.agencies})
    )
    if invite is None or not usable:
        await repo.record_attempt(session, channel=channel, chat_id=chat_id, ok=False, now=now)
        log.info("invite code refused on %s", channel)
        return Redeemed("refused")
    official, existed = await repo.bind_official(
        session,
        channel=channel,
        chat_id=chat_id,
        role=invite.role,
        agency_id=invite.agency_id if invite.role == "official" else None,
        lang=lang,
        now=now,
    )
    invite.used_at = now
    invite.used_by_official_id = official.id
    await repo.record_attempt(session, channel=channel, chat_id=chat_id, ok=True, now=now)
    log.info("chat bound as %s on %s", invite.role, channel)
    return Redeemed("rebound" if existed else "bound", official)


def agency_of(pack: CampaignPack, agency_id: str | None) -> Agency | None:
    """The pack's agency with this id, if it still exists."""
    return next((a for a in pack.agencies if a.id == agency_id), None)
