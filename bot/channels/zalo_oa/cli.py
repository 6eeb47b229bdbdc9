"""The `loa zalo-oa …` commands and the OA lines of `loa status` (the CLI only parses and calls)."""

from __future__ import annotations

from bot.channels.zalo_oa.client import OaClient, OaError
from bot.channels.zalo_oa.events import CHANNEL, WINDOW
from bot.channels.zalo_oa.login import login
from bot.channels.zalo_oa.tokens import TokenVault, new_key
from bot.clock import Clock
from bot.config import ZaloOaSettings
from bot.delivery.window import window_counts
from bot.storage.db import Database
from bot.storage.migrate import upgrade_async


def key_text() -> str:
    """`loa zalo-oa key`: a fresh ZALO_OA_TOKEN_KEY line."""
    return f"ZALO_OA_TOKEN_KEY={new_key()}"


async def run_login(oa: ZaloOaSettings, database_url: str, clock: Clock) -> None:
    """`loa zalo-oa login`: print the permission URL, read the code, store the pair sealed."""
    if not oa.redirect_uri:
        raise SystemExit("loa: setting error: ZALO_OA_REDIRECT_URI: missing (the app's callback)")
    await upgrade_async(database_url)
    db = Database(database_url)
    client = OaClient(
        app_id=oa.app_id,
        app_secret=oa.app_secret,
        oauth_base_url=oa.oauth_base_url,
        api_base_url=oa.api_base_url,
    )
    try:
        await _login(client, db, oa, clock)
    finally:
        await client.aclose()
        await db.dispose()


async def _login(client: OaClient, db: Database, oa: ZaloOaSettings, clock: Clock) -> None:
    try:
        await login(
            client,
            TokenVault(db, oa.oa_id, oa.token_key),
            clock,
            app_id=oa.app_id,
            redirect_uri=oa.redirect_uri,
            ask=input,
            say=print,
        )
    except (ValueError, EOFError) as exc:
        raise SystemExit(f"loa: zalo-oa login: {exc or 'no code given'}") from None
    except OaError as exc:  # the code expired (10 minutes), was used, or the app is wrong
        raise SystemExit(f"loa: zalo-oa login: Zalo refused the code ({exc.code})") from None


async def status_line(db: Database, clock: Clock, *, template_quota: int | None = None) -> str:
    """Residents of the OA in the 7-day window, out of it, not following; skipped sends; with
    `template_quota` (the template lane is on), the template notices of the day."""
    async with db.session() as session:
        counts = await window_counts(
            session, CHANNEL, WINDOW, clock.now(), template_quota=template_quota
        )
    return counts.describe(WINDOW)
