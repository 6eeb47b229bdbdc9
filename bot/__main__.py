"""The `loa` command line (also `python -m bot`).

loa run                      serve the bot on Telegram (polling, or webhook when configured)
loa demo                     play residents against a local fake Bot API and print the chat
loa chat                     talk to the bot in this terminal as a resident
loa status                   the running and the last bulk runs
loa zalo-oa login            authorise the app for the ward's Zalo OA (stores the token pair)
loa zalo-oa key              print a new ZALO_OA_TOKEN_KEY
loa db upgrade               apply database migrations
loa campaign list            the shipped campaign packs, their windows and states
loa campaign check PATH      every problem of a pack, with file and line
loa campaign roll PACK --year N   next year's pack, and the lines left to review
loa campaign new --locality … --agencies FILE --groups FILE   a ward's own pack from its lists
loa poster --group NAME | --all-groups   printable A4 posters with QR codes
loa agencies                 the agencies of the campaign pack (for `loa invite agency`)
loa board [--campaign PACK]  who has reported, and the plan's measurable targets
loa export --format F --out FILE [--campaign PACK] [--deadline ID]   the summed report
loa broadcast --audience A --text-file F [--at "dd/mm hh:mm"] [--urgent]   an announcement
loa audit [--limit N]        who broadcast, exported, invited, was refused, when

A failure prints one line (`loa: …`) and exits non-zero; `loa --debug …` shows the traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.clock import Clock, SystemClock
from bot.config import Settings, SettingsError, load_settings
from bot.domain.campaign import CampaignPack


def _settings() -> Settings:
    try:
        return load_settings(Path(".env"))
    except SettingsError as exc:
        raise SystemExit(f"loa: setting error: {exc}") from None


def _pack(settings: Settings) -> CampaignPack:
    from messages.packs import PackError, load_pack, unusable_text

    try:
        return load_pack(settings.loa_campaign)
    except PackError as exc:
        name = f"LOA_CAMPAIGN={settings.loa_campaign!r}"
        raise SystemExit(unusable_text(name, exc.problems)) from None


def _refuse_ended(pack: CampaignPack, args: argparse.Namespace) -> None:
    """Stop a command for a campaign that is over, unless --allow-ended."""
    from bot.adoption.lifecycle import ended_refusal, vn_today

    refusal = ended_refusal(pack, vn_today(_clock(args).now()))
    if refusal is not None and not args.allow_ended:
        raise SystemExit(refusal)


def _clock(args: argparse.Namespace) -> Clock:
    clock: Clock | None = getattr(args, "clock", None)
    return clock or SystemClock()


def cmd_run(args: argparse.Namespace) -> int:
    """Serve the real bot."""
    from bot.app import run_bot
    from bot.logs import derive_key, set_chat_ref_key, setup_logging

    settings = _settings()
    try:
        tokens = settings.bot_tokens()
    except SettingsError as exc:
        raise SystemExit(f"loa: setting error: {exc}") from None
    hook_secrets = [settings.webhook_secret("telegram"), settings.webhook_secret("zalo")]
    secrets = [value for value in (*tokens, *hook_secrets) if value]
    setup_logging(
        settings.loa_log_level,
        secrets=[*secrets, settings.telegram_proxy_url] if settings.telegram_proxy_url else secrets,
    )
    log_key = settings.loa_log_key.get_secret_value()
    set_chat_ref_key(derive_key(log_key) if log_key else derive_key(*secrets))
    pack = _pack(settings)
    _refuse_ended(pack, args)
    try:
        asyncio.run(run_bot(settings, pack))
    except SettingsError as exc:
        raise SystemExit(f"loa: setting error: {exc}") from None
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


def cmd_chat(args: argparse.Namespace) -> int:
    """Talk to the bot in the terminal (a scratch database unless --database is given)."""
    from bot.console_chat import run_chat

    settings = _settings()
    pack = _pack(settings)
    return asyncio.run(run_chat(pack, database_url=args.database))


def cmd_status(_: argparse.Namespace) -> int:
    """Print the bulk runs, the inbox backlog and each channel's limits."""
    from bot.chat.inbox import backlog
    from bot.clock import SystemClock
    from bot.delivery.status import format_status, runs_summary
    from bot.storage.db import Database
    from bot.storage.migrate import upgrade_async
    from bot.zalo_plan.limits import plan_status

    settings = _settings()

    async def show() -> None:
        db = Database(settings.database_url)
        try:
            await upgrade_async(settings.database_url)
            now = SystemClock().now()
            print(format_status(await runs_summary(db), now))
            async with db.session() as session:
                print((await backlog(session)).describe())
            if "zalo" in settings.configured_channels():
                print(await plan_status(db, settings, now))
            if settings.zalo_oa_app_id:
                from bot.channels.zalo_oa.cli import status_line

                quota = settings.zalo_oa_template_daily_quota
                on = bool(settings.zalo_oa_template_id)
                print(await status_line(db, SystemClock(), template_quota=quota if on else None))
        finally:
            await db.dispose()

    asyncio.run(show())
    return 0


def cmd_zalo_oa(args: argparse.Namespace) -> int:
    """`loa zalo-oa key | login`."""
    from bot.channels.zalo_oa.cli import key_text, run_login
    from bot.clock import SystemClock

    if args.oa_command == "key":
        print(key_text())
        return 0
    settings = _settings()
    try:
        oa = settings.zalo_oa()
    except SettingsError as exc:
        raise SystemExit(f"loa: setting error: {exc}") from None
    if oa is None:
        raise SystemExit("loa: setting error: ZALO_OA_APP_ID: missing (the app to authorise)")
    asyncio.run(run_login(oa, settings.database_url, SystemClock()))
    return 0


def cmd_db_upgrade(_: argparse.Namespace) -> int:
    """Apply migrations."""
    from bot.storage.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    print("database is up to date")
    return 0


def cmd_campaign_list(args: argparse.Namespace) -> int:
    """List the shipped packs with their windows and states (Vietnam time)."""
    from bot.adoption.lifecycle import list_lines, vn_today

    print("\n".join(list_lines(vn_today(_clock(args).now()))))
    return 0


def cmd_campaign_roll(args: argparse.Namespace) -> int:
    """Write next year's pack and list what a person must review."""
    from bot.adoption.files import AdoptionError
    from bot.adoption.roll import format_rolled, roll_pack
    from messages.packs import PackError, resolve_pack_path

    try:
        source = resolve_pack_path(args.pack)
        rolled = roll_pack(source, args.year, args.out, force=args.force)
    except (AdoptionError, PackError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(format_rolled(rolled))
    return 0


def cmd_campaign_check(args: argparse.Namespace) -> int:
    """Check a pack file (or a shipped pack's name); exit 1 when it has problems."""
    from messages import both
    from messages.packs import PackError, check_pack, errors_of, resolve_pack_path

    try:
        path = resolve_pack_path(args.path)
    except (PackError, FileNotFoundError, ValueError) as exc:
        print(f"loa: {exc}", file=sys.stderr)
        return 1
    problems = check_pack(path)
    for problem in problems:
        print(problem.describe())
    errors = len(errors_of(problems))
    if errors:
        print(both("packcheck.cli.errors", errors=errors, path=path), file=sys.stderr)
        return 1
    if problems:
        print(both("packcheck.cli.ok_warnings", path=path, warnings=len(problems)))
    else:
        print(both("packcheck.cli.ok", path=path))
    return 0


def cmd_campaign_new(args: argparse.Namespace) -> int:
    """Write a ward's own pack from its agency and group lists."""
    from bot.adoption.files import AdoptionError
    from bot.adoption.new_pack import format_written, new_pack
    from messages.packs import PackError, resolve_pack_path

    try:
        template = resolve_pack_path(args.template or _settings().loa_campaign)
        result = new_pack(
            locality=args.locality,
            agencies_file=args.agencies,
            groups_file=args.groups,
            template=template,
            out=args.out,
            force=args.force,
            skip_bad_rows=args.skip_bad_rows,
        )
    except (AdoptionError, PackError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(format_written(result))
    return 0


def cmd_invite(args: argparse.Namespace) -> int:
    """Print a one-time invite code and deep link."""
    from bot.coordinators.cli import record_office_action
    from bot.reporting.officials import InviteError, invite_command
    from bot.storage.db import Database
    from bot.storage.migrate import upgrade_async

    settings = _settings()
    pack = _pack(settings)
    _refuse_ended(pack, args)

    async def invite() -> int:
        from bot.channels.telegram.identity import UsernameUnavailable, bot_username

        username, missing = None, ""
        channels = settings.configured_channels() or ("telegram", "zalo")
        try:
            username = await bot_username(settings) if "telegram" in channels else None
        except UsernameUnavailable as exc:
            missing = str(exc)
        db = Database(settings.database_url)
        try:
            await upgrade_async(settings.database_url)
            lines = await invite_command(
                db,
                pack,
                role="official" if args.role == "agency" else "coordinator",
                agency=args.name,
                bot_username=username,
                now=_clock(args).now(),
                channels=channels,
            )
            role = "coordinator" if args.role != "agency" else f"official {args.name}"[:80]
            await record_office_action(db, action="invite", detail=role, now=_clock(args).now())
        except InviteError as exc:
            print(f"loa: {exc.refusal.render('vi')}", file=sys.stderr)
            return 2
        finally:
            await db.dispose()
        print(lines)
        if missing:
            print(missing, file=sys.stderr)
        return 0

    return asyncio.run(invite())


def cmd_agencies(_: argparse.Namespace) -> int:
    """List the pack's agencies."""
    from bot.adoption.agencies import agency_lines

    print("\n".join(agency_lines(_pack(_settings()))))
    return 0


def cmd_poster(args: argparse.Namespace) -> int:
    """Write the posters of one group or of every group."""
    from bot.adoption.files import AdoptionError
    from bot.adoption.poster import run_poster_command
    from bot.channels.telegram.identity import UsernameUnavailable

    settings = _settings()
    try:
        print(asyncio.run(run_poster_command(settings, _pack(settings), args)))
    except (AdoptionError, UsernameUnavailable) as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


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
        lang=args.lang,
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `loa`."""
    parser = argparse.ArgumentParser(prog="loa", description="Loa – the ward's campaign bot.")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback when a command fails"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve the bot on Telegram")
    run.add_argument("--allow-ended", action="store_true", help="serve a campaign that is over")
    run.set_defaults(func=cmd_run)
    demo = sub.add_parser("demo", help="offline demo with a transcript")
    demo.add_argument("--days", type=int, default=3, help="days of daily posts to show")
    demo.set_defaults(func=cmd_demo)
    chat = sub.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument(
        "--database",
        metavar="URL",
        help="the database to use (default: a scratch SQLite file, deleted at the end)",
    )
    chat.set_defaults(func=cmd_chat)
    sub.add_parser("status", help="bulk runs").set_defaults(func=cmd_status)
    oa = sub.add_parser("zalo-oa", help="the ward's Zalo Official Account").add_subparsers(
        dest="oa_command", required=True
    )
    oa.add_parser("login", help="authorise the app for the OA").set_defaults(func=cmd_zalo_oa)
    oa.add_parser("key", help="print a new token key").set_defaults(func=cmd_zalo_oa)
    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    campaign = sub.add_parser("campaign", help="campaign packs").add_subparsers(
        dest="campaign_command", required=True
    )
    campaign.add_parser("list", help="shipped packs").set_defaults(func=cmd_campaign_list)
    check = campaign.add_parser("check", help="check a pack file")
    check.add_argument("path", help="a pack file path, or a shipped pack's name")
    check.set_defaults(func=cmd_campaign_check)
    roll = campaign.add_parser("roll", help="next year's pack from this one")
    roll.add_argument("pack", help="a pack file path, or a shipped pack's name")
    roll.add_argument("--year", type=int, required=True, help="the new campaign year")
    roll.add_argument("--out", type=Path, help="the new pack file (default ./<new id>.toml)")
    roll.add_argument("--force", action="store_true", help="replace an existing file")
    roll.set_defaults(func=cmd_campaign_roll)
    new = campaign.add_parser("new", help="a ward's own pack from its .xlsx/.csv lists")
    new.add_argument("--locality", required=True, help='e.g. "Phường Đồng Tâm"')
    new.add_argument("--agencies", type=Path, required=True, help="agency list: name, type")
    new.add_argument("--groups", type=Path, required=True, help="group list: name, focal point")
    new.add_argument("--from", dest="template", help="template pack (default LOA_CAMPAIGN)")
    new.add_argument("--out", type=Path, help="the new pack file (default ./<id>.toml)")
    new.add_argument("--force", action="store_true", help="replace an existing file")
    new.add_argument("--skip-bad-rows", action="store_true", help="leave refused rows out")
    new.set_defaults(func=cmd_campaign_new)
    sub.add_parser("agencies", help="the pack's agencies").set_defaults(func=cmd_agencies)
    poster = sub.add_parser("poster", help="A4 posters with QR codes, one per group")
    which = poster.add_mutually_exclusive_group(required=True)
    which.add_argument("--group", help='the residential group\'s name, e.g. "Khối phố 12"')
    which.add_argument("--all-groups", action="store_true", help="one poster per group")
    which.add_argument("--list", action="store_true", help="list the groups and their numbers")
    poster.add_argument("--out", type=Path, default=Path("posters"), help="folder (./posters)")
    poster.add_argument("--format", choices=["pdf", "png"], default="pdf")
    poster.set_defaults(func=cmd_poster)
    invite = sub.add_parser("invite", help="one-time invite codes").add_subparsers(
        dest="role", required=True
    )
    agency = invite.add_parser("agency", help="bind an official to an agency")
    agency.add_argument("name", help="the agency's id or name (see the campaign pack)")
    agency.set_defaults(func=cmd_invite)
    coordinator = invite.add_parser("coordinator", help="bind a coordinator")
    coordinator.set_defaults(func=cmd_invite, name=None)
    for role in (agency, coordinator):
        role.add_argument("--allow-ended", action="store_true", help="for a campaign that is over")
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
    broadcast.add_argument("--lang", choices=["vi", "en"], default="vi")
    broadcast.set_defaults(func=cmd_broadcast)
    audit = sub.add_parser("audit", help="who broadcast, exported, invited, was refused, when")
    audit.add_argument("--limit", type=int, default=50, help="newest entries to show")
    audit.set_defaults(func=cmd_audit)
    return parser


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    """Entry point of the `loa` script (tests pass a clock to set "today"): a failure is one
    line on stderr and a non-zero exit."""
    from bot.storage.lease import LeaseHeld

    args = build_parser().parse_args(argv)
    args.clock = clock
    try:
        code: int = args.func(args)
    except LeaseHeld as held:
        print(f"loa: {held}", file=sys.stderr)
        return 3
    except Exception as error:
        if args.debug:
            raise
        print(_one_line(error), file=sys.stderr)
        return 1
    return code


def _one_line(error: BaseException) -> str:
    from bot.app import RunStopped
    from bot.startup import explain
    from bot.storage.retry import GaveUp

    if isinstance(error, RunStopped):
        return f"loa: {error}"
    if isinstance(error, GaveUp) and error.__cause__ is not None:
        error = error.__cause__
    return explain(error)


if __name__ == "__main__":
    sys.exit(main())
