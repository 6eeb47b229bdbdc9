"""The bot's @username, needed for deep links: from TELEGRAM_BOT_USERNAME, else from getMe."""

from __future__ import annotations

import httpx

from bot.channels.telegram.sender import TelegramSender
from bot.config import Settings
from messages import LANGUAGES, t


class UsernameUnavailable(Exception):
    """No username: the message says which setting to set (Vietnamese, then English)."""

    def __init__(self, key: str, /, **fields: object) -> None:
        super().__init__("\n".join(t(key, lang, **fields) for lang in LANGUAGES))


async def bot_username(settings: Settings, *, request_timeout_s: float = 10.0) -> str:
    """TELEGRAM_BOT_USERNAME when set; otherwise asked from Telegram with the token (getMe)."""
    if settings.telegram_bot_username:
        return settings.telegram_bot_username.lstrip("@")
    token = settings.telegram_token()
    if token is None:
        raise UsernameUnavailable("adoption.username_missing")
    sender = TelegramSender(token, settings.telegram_api_base_url, timeout=request_timeout_s)
    try:
        me = await sender.get_me()
    except (httpx.HTTPError, ValueError) as exc:
        raise UsernameUnavailable("adoption.username_getme_failed", reason=str(exc)[:80]) from None
    finally:
        await sender.aclose()
    username = me.get("username")
    if not isinstance(username, str) or not username:
        raise UsernameUnavailable("adoption.username_getme_failed", reason="no username")
    return username
