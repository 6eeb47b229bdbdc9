"""The `loa` command line (also `python -m bot`).

loa run                      serve the bot on Telegram (polling, or webhook when configured)
loa demo                     play residents against a local fake Bot API and print the chat
loa chat                     talk to the bot in this terminal as a resident
loa status                   the running and the last bulk runs
loa db upgrade               apply database migrations
loa campaign list            the shipped campaign packs
loa campaign check PATH      every problem of a pack, with file and line
loa board [--campaign PACK]  who has reported, and the plan's measurable targets
loa export --format F --out FILE [--campaign PACK] [--deadline ID]   the summed report
loa broadcast --audience A --text-file F [--at "dd/mm hh:mm"] [--urgent]   an announcement
loa audit [--limit N]        who broadcast, exported, invited, was refused, when
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import Settings, SettingsError, load_settings
from bot.domain.campaign import CampaignPack


def _settings() -> Settings:
    try:
        return load_settings(Path(".env"))
    except SettingsError as exc:
        raise SystemExit(f"loa: setting error: {exc}") from None


def _pack(settings: Settings) -> CampaignPack:
    from messages.packs import PackError, load_pack

    try:
        return load_pack(settings.loa_campaign)
    except PackError as exc:
        lines = "\n".join(f"  {p}" for p in exc.problems)
        raise SystemExit(
            f"loa: LOA_CAMPAIGN={settings.loa_campaign!r} cannot be used:\n{lines}"
        ) from None


def cmd_run(_: argparse.Namespace) -> int:
    """Serve the real bot."""
    from bot.app import run_bot
    from bot.logs import setup_logging

    settings = _settings()
    try:
        tokens = settings.bot_tokens()
    except SettingsError as exc:
        raise SystemExit(f"loa: setting error: {exc}") from None
    secret = settings.telegram_webhook_secret
    setup_logging(
        settings.loa_log_level,
        secrets=[*(t for t in tokens if t), secret.get_secret_value() if secret else ""],
    )
    pack = _pack(settings)
    asyncio.run(run_bot(settings, pack))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the offline demo and print its transcript (the fake servers come with the checkout)."""
    try:
        from bot.demo import run_demo
    except ModuleNotFoundError as exc:
        if exc.name != "fakes" and not (exc.name or "").startswith("fakes."):
            raise
        from messages import t

        print(t("demo.needs_checkout"))
        return 1
    return asyncio.run(run_demo(days=args.days))


def cmd_chat(_: argparse.Namespace) -> int:
    """Talk to the bot in the terminal."""
    from bot.console_chat import run_chat

    settings = _settings()
    pack = _pack(settings)
    return asyncio.run(run_chat(settings, pack))


def cmd_status(_: argparse.Namespace) -> int:
    """Print the bulk runs."""
    from bot.clock import SystemClock
    from bot.delivery.status import format_status, runs_summary
    from bot.storage.db import Database
    from bot.storage.migrate import upgrade_async

    settings = _settings()

    async def show() -> None:
        db = Database(settings.database_url)
        try:
            await upgrade_async(settings.database_url)
            print(format_status(await runs_summary(db), SystemClock().now()))
        finally:
            await db.dispose()

    asyncio.run(show())
    return 0


def cmd_db_upgrade(_: argparse.Namespace) -> int:
    """Apply migrations."""
    from bot.storage.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    print("database is up to date")
    return 0


def cmd_campaign_list(_: argparse.Namespace) -> int:
    """List the shipped packs."""
    from messages.packs import list_packs

    for pack in list_packs():
        print(
            f"{pack.id:<22} {pack.locality}, {pack.year}: "
            f"{pack.start:%d/%m/%Y}–{pack.end:%d/%m/%Y}  ({pack.file.name})"
        )
    return 0


def cmd_campaign_check(args: argparse.Namespace) -> int:
    """Check a pack file (or a shipped pack's name); exit 1 when it has problems."""
    from messages.packs import PackError, check_pack, resolve_pack_path

    try:
        path = resolve_pack_path(args.path)
    except (PackError, FileNotFoundError, ValueError) as exc:
        print(f"loa: {exc}", file=sys.stderr)
        return 1
    problems = check_pack(path)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {path}", file=sys.stderr)
        return 1
    print(f"{path}: ok")
    return 0


def cmd_invite(args: argparse.Namespace) -> int:
    """Print a one-time invite code and deep link."""
    from bot.clock import SystemClock
    from bot.coordinators.cli import record_office_action
    from bot.reporting.officials import InviteError, invite_command
    from bot.storage.db import Database
    from bot.storage.migrate import upgrade_async

    settings = _settings()
    pack = _pack(settings)

    async def invite() -> int:
        db = Database(settings.database_url)
        try:
            await upgrade_async(settings.database_url)
            lines = await invite_command(
                db,
                pack,
                role="official" if args.role == "agency" else "coordinator",
                agency=args.name,
                bot_username=settings.telegram_bot_username.lstrip("@") or "<bot>",
                now=SystemClock().now(),
            )
            role = "coordinator" if args.role != "agency" else f"official {args.name}"[:80]
            await record_office_action(db, action="invite", detail=role)
        except InviteError as exc:
            print(f"loa: {exc}", file=sys.stderr)
            return 2
        finally:
            await db.dispose()
        print(lines)
        return 0

    return asyncio.run(invite())


def cmd_board(args: argparse.Namespace) -> int:
    """Print the coordinator's board."""
    from bot.coordinators.cli import board_command

    return board_command(_settings(), args.campaign, args.lang)


def cmd_export(args: argparse.Namespace) -> int:
    """Write one file of the summed report."""
    from bot.coordinators.cli import export_command

    return export_command(
        _settings(),
        args.campaign,
        fmt=args.format,
        out=Path(args.out),
        deadline=args.deadline,
        lang=args.lang,
    )


def cmd_audit(args: argparse.Namespace) -> int:
    """Print the audit log."""
    from bot.coordinators.cli import audit_command

    return audit_command(_settings(), args.limit)


def cmd_broadcast(args: argparse.Namespace) -> int:
    """Queue a broadcast."""
    from bot.coordinators.cli import broadcast_command

    return broadcast_command(
        _settings(),
        args.campaign,
        audience=args.audience,
        text_file=Path(args.text_file),
        at=args.at,
        urgent=args.urgent,
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `loa`."""
    parser = argparse.ArgumentParser(prog="loa", description="Loa – the ward's campaign bot.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="serve the bot on Telegram").set_defaults(func=cmd_run)
    demo = sub.add_parser("demo", help="offline demo with a transcript")
    demo.add_argument("--days", type=int, default=3, help="days of daily posts to show")
    demo.set_defaults(func=cmd_demo)
    sub.add_parser("chat", help="talk to the bot in this terminal").set_defaults(func=cmd_chat)
    sub.add_parser("status", help="bulk runs").set_defaults(func=cmd_status)
    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    campaign = sub.add_parser("campaign", help="campaign packs").add_subparsers(
        dest="campaign_command", required=True
    )
    campaign.add_parser("list", help="shipped packs").set_defaults(func=cmd_campaign_list)
    check = campaign.add_parser("check", help="check a pack file")
    check.add_argument("path", help="a pack file path, or a shipped pack's name")
    check.set_defaults(func=cmd_campaign_check)
    invite = sub.add_parser("invite", help="one-time invite codes").add_subparsers(
        dest="role", required=True
    )
    agency = invite.add_parser("agency", help="bind an official to an agency")
    agency.add_argument("name", help="the agency's id or name (see the campaign pack)")
    agency.set_defaults(func=cmd_invite)
    coordinator = invite.add_parser("coordinator", help="bind a coordinator")
    coordinator.set_defaults(func=cmd_invite, name=None)
    board = sub.add_parser("board", help="who has reported; the plan's measurable targets")
    board.add_argument("--campaign", help="a pack name or file (default: LOA_CAMPAIGN)")
    board.add_argument("--lang", choices=["vi", "en"], default="vi")
    board.set_defaults(func=cmd_board)
    export = sub.add_parser("export", help="the summed report as xlsx, docx, csv or png")
    export.add_argument("--campaign", help="a pack name or file (default: LOA_CAMPAIGN)")
    export.add_argument("--format", choices=["xlsx", "docx", "csv", "png"], required=True)
    export.add_argument("--out", required=True, help="the file to write")
    export.add_argument("--deadline", help="a deadline id of the pack (default: the current one)")
    export.add_argument("--lang", choices=["vi", "en"], default="vi")
    export.set_defaults(func=cmd_export)
    broadcast = sub.add_parser("broadcast", help="an announcement to residents or agencies")
    broadcast.add_argument("--campaign", help="a pack name or file (default: LOA_CAMPAIGN)")
    broadcast.add_argument(
        "--audience",
        required=True,
        help="residents | groups:NAME,NAME | lang:vi | agencies | type:TYPE | missing:DEADLINE",
    )
    broadcast.add_argument("--text-file", required=True, help="the text (UTF-8)")
    broadcast.add_argument("--at", help='"dd/mm hh:mm", Vietnam time (default: now)')
    broadcast.add_argument("--urgent", action="store_true", help="also during quiet hours")
    broadcast.set_defaults(func=cmd_broadcast)
    audit = sub.add_parser("audit", help="who broadcast, exported, invited, was refused, when")
    audit.add_argument("--limit", type=int, default=50, help="newest entries to show")
    audit.set_defaults(func=cmd_audit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `loa` script."""
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
