"""What a failed command prints: one line naming the cause and what to check, never a traceback
(`loa --debug …` shows it). The line is scrubbed like a log line (no token, no id)."""

from __future__ import annotations

import errno
import socket

from sqlalchemy import exc as sa_exc
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.logs import scrub
from bot.storage.db import DatabaseUrlError


def _database_line(error: BaseException) -> str | None:
    if isinstance(error, DatabaseUrlError):
        return str(error)
    if isinstance(error, sa_exc.ArgumentError | sa_exc.NoSuchModuleError):
        return "DATABASE_URL: malformed (expected sqlite+aiosqlite:///path or postgresql+asyncpg://user@host:port/db)"
    if isinstance(error, OverflowError) or (
        isinstance(error, ValueError) and "port" in str(error).lower()
    ):
        return "DATABASE_URL: the port must be between 1 and 65535"
    if isinstance(error, sa_exc.DBAPIError):
        text = str(error.orig if error.orig is not None else error).lower()
        if "unable to open database file" in text:
            return "DATABASE_URL: the SQLite file cannot be opened (does its folder exist?)"
        if "role" in text and "does not exist" in text:
            return "DATABASE_URL: PostgreSQL refused the user (the role does not exist)"
        if "password authentication failed" in text:
            return "DATABASE_URL: PostgreSQL refused the password"
        if "database" in text and "does not exist" in text:
            return "DATABASE_URL: the PostgreSQL database does not exist"
        return f"database error ({type(error.orig or error).__name__}); check DATABASE_URL"
    if isinstance(error, ConnectionRefusedError) or (
        isinstance(error, OSError) and error.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH)
    ):
        return "DATABASE_URL: the database server does not answer (connection refused)"
    if isinstance(error, socket.gaierror):
        return "DATABASE_URL: the database host name does not resolve"
    return None


def explain(error: BaseException, *, during: str = "") -> str:
    """One line for `error` (a start-up or command failure)."""
    line = _database_line(error)
    if line is None:
        if isinstance(error, InvalidToken):
            line = "TELEGRAM_BOT_TOKEN: rejected by Telegram (check the token from @BotFather)"
        elif isinstance(error, NetworkError):
            line = "Telegram cannot be reached (check the network, proxy or TELEGRAM_API_BASE_URL)"
        elif isinstance(error, TelegramError):
            line = f"Telegram refused a start-up call ({type(error).__name__})"
        elif isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
            line = "the webhook port is already in use (TELEGRAM_WEBHOOK_PORT)"
        elif isinstance(error, TimeoutError):
            line = "timed out (the database or Telegram did not answer)"
        else:
            line = f"{type(error).__name__}: {error}"
    prefix = f"{during}: " if during else ""
    return scrub(f"loa: {prefix}{line}")
