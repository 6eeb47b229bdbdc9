"""Logging: one format, and one filter on every handler so no personal data or secret is written.

- Libraries (python-telegram-bot, httpx, httpcore, aiohttp, apscheduler, sqlalchemy …) are capped
  at WARNING whatever `LOA_LOG_LEVEL` says: at DEBUG they print whole updates (names, texts, chat
  ids) and request URLs (the token). What they log at WARNING and above keeps only its template
  when it has arguments (the arguments are where an update would be).
- Every line, Loa's own included, and every traceback is scrubbed: known secrets, anything shaped
  like a bot token, SQL statements and their parameters, long numbers and long hex ids.
- Loa's own lines name a chat only as `chat_ref(channel, chat_id)`: a short keyed hash (HMAC with
  a per-install key), so two lines about one chat can be matched but not traced back to it.
- Uncaught exceptions (sys.excepthook, threads, the asyncio loop) go through the same handler.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any

OWN_LOGGERS = ("bot", "scheduler", "benchmarks", "messages", "loa", "__main__")
LIBRARY_LOGGERS = (
    "telegram",
    "httpx",
    "httpcore",
    "aiohttp",
    "apscheduler",
    "asyncio",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "tornado",
    "uvicorn",
    "starlette",
)

_TOKEN = re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{16,}")
_SQL = re.compile(r"\[(SQL|parameters|generated in)[^\]]*\]?", re.DOTALL)
_LONG_NUMBER = re.compile(r"(?<![\w.])-?\d{7,}(?![\w.])")
_HEX_ID = re.compile(r"\b[0-9a-fA-F]{16,}\b")

_key = [os.urandom(32)]


def set_chat_ref_key(key: bytes) -> None:
    """Set the per-install key of `chat_ref` (call once at start-up)."""
    _key[0] = key


def derive_key(*secrets: str) -> bytes:
    """A stable per-install key from the install's secrets (LOA_LOG_KEY, or the bot tokens)."""
    material = "\n".join(s for s in secrets if s)
    if not material:
        return os.urandom(32)
    return hashlib.sha256(b"loa chat refs\n" + material.encode()).digest()


def chat_ref(channel: str, chat_id: str) -> str:
    """A chat as it may appear in a log line: «c:1a2b3c4d5e», the same for the same chat."""
    digest = hmac.new(_key[0], f"{channel}\n{chat_id}".encode(), hashlib.sha256).hexdigest()
    return f"c:{digest[:10]}"


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without secrets, token-shaped strings, SQL and its parameters, long ids."""
    for secret in secrets:
        if len(secret) >= 6:
            text = text.replace(secret, "<redacted>")
    text = _TOKEN.sub("<token>", text)
    text = _SQL.sub("[…]", text)
    text = _HEX_ID.sub("<id>", text)
    return _LONG_NUMBER.sub("<n>", text)


class RedactSecrets(logging.Filter):
    """The one filter on every handler (see the module docstring)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        own = record.name.split(".", 1)[0] in OWN_LOGGERS
        if not own and record.levelno < logging.WARNING and record.name != "alembic.runtime":
            return False  # a library's debug/info line may hold a whole update
        # a library's arguments may be an update: keep its template only
        message = record.getMessage() if own or not record.args else str(record.msg)
        if record.exc_info and record.exc_info[0] is not None:
            trace = "".join(traceback.format_exception(*record.exc_info))
            message = f"{message}\n{trace.rstrip()}"
        elif record.exc_text:
            message = f"{message}\n{record.exc_text}"
        if record.stack_info:
            message = f"{message}\n{record.stack_info}"
        record.msg = scrub(message, self._secrets)
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


def _log_uncaught(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, trace)
        return
    logging.getLogger("loa").critical("uncaught exception", exc_info=(kind, error, trace))


def _log_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def asyncio_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The event loop's exception handler: the message and the exception, through the filter
    (the default handler prints the task and future reprs, which may hold an update)."""
    error = context.get("exception")
    what = str(context.get("message", "error in the event loop"))
    log = logging.getLogger("loa")
    if isinstance(error, BaseException):
        log.error("%s", what, exc_info=(type(error), error, error.__traceback__))
    else:
        log.error("%s", what)


def setup_logging(level: str, *, secrets: Iterable[str] = ()) -> None:
    """Configure the root logger with the one filter; cap the libraries; route uncaught errors."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    # a failing handler would otherwise print the record's exception to stderr unfiltered
    logging.raiseExceptions = False
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread
