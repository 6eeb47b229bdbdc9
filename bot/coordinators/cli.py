"""`loa board` and `loa export`: the coordinator's tools on the office PC (the same services as
the chat commands)."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

from bot.clock import SystemClock
from bot.config import Settings
from bot.coordinators import audit, broadcasts
from bot.coordinators.board import board_view
from bot.coordinators.export.files import FORMATS, ExportFile, ExportFormat, export_report
from bot.coordinators.export.summary import NoDeadline
from bot.domain.campaign import CampaignPack
from bot.storage.db import Database
from bot.storage.migrate import upgrade_async
from messages import channel_name, t
from messages.packs import PackError, load_pack, unusable_text


def load_campaign(settings: Settings, campaign: str | None) -> CampaignPack:
    """The pack named by `--campaign`, else `LOA_CAMPAIGN`; exits with its problems."""
    name = campaign or settings.loa_campaign
    try:
        return load_pack(name)
    except PackError as exc:
        raise SystemExit(unusable_text(repr(name), exc.problems)) from None


async def _board_text(settings: Settings, pack: CampaignPack, lang: str) -> str:
    db = Database(settings.database_url)
    try:
        await upgrade_async(settings.database_url)
        quota = settings.zalo_oa_template_daily_quota if settings.zalo_oa_template_id else None
        return (await board_view(db, pack, SystemClock(), lang, template_quota=quota)).text
    finally:
        await db.dispose()


def board_command(settings: Settings, campaign: str | None, lang: str) -> int:
    """Print the board of the campaign."""
    pack = load_campaign(settings, campaign)
    print(asyncio.run(_board_text(settings, pack, lang)))
    return 0


async def _export(
    settings: Settings, pack: CampaignPack, fmt: ExportFormat, deadline: str | None, lang: str
) -> ExportFile:
    db = Database(settings.database_url)
    try:
        await upgrade_async(settings.database_url)
        now = SystemClock().now()
        return await export_report(db, pack, fmt, now=now, deadline_id=deadline, lang=lang)
    finally:
        await db.dispose()


def export_command(
    settings: Settings,
    campaign: str | None,
    *,
    fmt: ExportFormat,
    out: Path,
    deadline: str | None,
    lang: str,
) -> int:
    """Write one file of the summed report to `out` (its folder created if need be); 2 when the
    deadline does not exist or the file cannot be written."""
    suffix = out.suffix.lower().lstrip(".")
    if suffix in FORMATS and suffix != fmt:
        print(t("coordinators.export.wrong_suffix", lang, path=out, fmt=fmt), file=sys.stderr)
        return 2
    pack = load_campaign(settings, campaign)
    try:
        file = asyncio.run(_export(settings, pack, fmt, deadline, lang))
    except NoDeadline:
        if deadline is None:
            message = t("coordinators.export.no_deadline", lang)
        else:
            known = ", ".join(d.id for d in pack.deadlines)
            message = t(
                "coordinators.export.unknown_deadline", lang, deadline=deadline, known=known
            )
        print(message, file=sys.stderr)
        return 2
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(file.content)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        print(t("coordinators.export.cannot_write", lang, path=out, reason=reason), file=sys.stderr)
        return 2
    print(t("coordinators.cli.written", lang, path=out, size=len(file.content)))
    return 0


async def record_office_action(
    db: Database, *, action: str, detail: str, now: datetime | None = None
) -> None:
    """Audit something done on the office PC (`loa invite`)."""
    async with db.session() as session:
        await audit.record(
            session, now=now or SystemClock().now(), role=audit.OFFICE, actor="cli",
            action=action, detail=detail,
        )  # fmt: skip


async def _audit_lines(settings: Settings, limit: int) -> str:
    db = Database(settings.database_url)
    try:
        await upgrade_async(settings.database_url)
        async with db.session() as session:
            return audit.format_entries(await audit.recent(session, limit=limit))
    finally:
        await db.dispose()


def audit_command(settings: Settings, limit: int) -> int:
    """Print the newest audit entries (who, what, when; never a name or a message text)."""
    print(asyncio.run(_audit_lines(settings, limit)))
    return 0


async def _broadcast(
    settings: Settings,
    pack: CampaignPack,
    audience: str,
    text: str,
    at: str | None,
    urgent: bool,
    lang: str,
) -> str:
    db = Database(settings.database_url)
    now = SystemClock().now()
    try:
        await upgrade_async(settings.database_url)
        async with db.session() as session:
            chosen = broadcasts.Audience.parse(audience)
            send_at = broadcasts.parse_when(at, now=now) if at else None
            row = await broadcasts.create(
                session, author=audit.OFFICE, channel="", chat_id="", text=text,
                audience=chosen, now=now,
            )  # fmt: skip
            assert row.id is not None
            found = await broadcasts.recipients(session, pack, chosen)
            per_channel = Counter(r.channel for r in found)
            row = await broadcasts.confirm(
                session, pack, row.id, now=now, send_at=send_at, urgent=urgent
            )
            await audit.record(
                session, now=now, role=audit.OFFICE, actor="cli", action="broadcast",
                detail=f"#{row.id} {chosen.kind} {row.recipients}" + (" urgent" if urgent else ""),
            )  # fmt: skip
    finally:
        await db.dispose()
    channels = ", ".join(
        f"{channel_name(name, lang)} {count}" for name, count in sorted(per_channel.items())
    )
    fields: dict[str, object] = {"id": row.id, "people": row.recipients, "channels": channels}
    if at:
        return t("coordinators.cli.queued_at", lang, at=at, **fields)
    return t("coordinators.cli.queued", lang, **fields)


def broadcast_command(
    settings: Settings,
    campaign: str | None,
    *,
    audience: str,
    text_file: Path,
    at: str | None,
    urgent: bool,
    lang: str = "vi",
) -> int:
    """Queue a broadcast from the office PC; the running bot sends it (and reports progress)."""
    pack = load_campaign(settings, campaign)
    try:
        text = text_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        print(
            t("coordinators.cli.cannot_read", lang, path=text_file, reason=reason), file=sys.stderr
        )
        return 2
    try:
        print(asyncio.run(_broadcast(settings, pack, audience, text, at, urgent, lang)))
    except broadcasts.BroadcastError as err:
        print(f"loa: {t(err.key, lang, **err.fields)}", file=sys.stderr)
        return 2
    return 0
