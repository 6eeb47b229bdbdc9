"""The one log filter: libraries capped, every line and traceback scrubbed, chats as keyed hashes,
uncaught exceptions through the same handler."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.exc import IntegrityError
from telegram.error import InvalidToken

from bot.logs import chat_ref, derive_key, scrub, set_chat_ref_key, setup_logging

TOKEN = "123456789:AAE-secretTokenPart_abcdefghij"


@pytest.fixture
def configured(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """`setup_logging` at DEBUG writing into capsys; everything restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, sys.excepthook, threading.excepthook
    levels = {name: logging.getLogger(name).level for name in ("telegram", "httpx", "aiohttp")}
    raise_exceptions = logging.raiseExceptions
    try:
        yield capsys
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        sys.excepthook, threading.excepthook = saved[2], saved[3]
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        logging.raiseExceptions = raise_exceptions


def setup() -> None:
    """Inside the test, so the handler writes to the stream capsys reads."""
    setup_logging("DEBUG", secrets=[TOKEN])


def test_libraries_stay_quiet_even_at_debug(configured: pytest.CaptureFixture[str]) -> None:
    setup()
    update = {"message": {"from": {"first_name": "Xuyến"}, "text": "tôi sợ lắm"}}
    logging.getLogger("telegram.ext.Application").debug("Processing update %s", update)
    logging.getLogger("httpx").info("HTTP Request: POST https://api/bot%s/getUpdates", TOKEN)
    logging.getLogger("aiohttp.access").info("127.0.0.1 POST /hook %s", update)
    logging.getLogger("telegram.ext.Updater").error("Error while handling %s", update)
    logging.getLogger("bot.x").debug("own debug line")
    err = configured.readouterr().err
    assert "Xuyến" not in err
    assert "sợ lắm" not in err
    assert "getUpdates" not in err
    assert "Error while handling %s" in err  # a library's warning keeps only its template
    assert "own debug line" in err


def test_a_rejected_token_in_a_traceback_is_redacted(
    configured: pytest.CaptureFixture[str],
) -> None:
    setup()
    try:
        raise InvalidToken(f"The token `{TOKEN}` was rejected by the server.")
    except InvalidToken:
        logging.getLogger("telegram.ext").exception("start-up failed")
    try:
        raise ValueError("token 987654321:AAF-another_token_never_configured was refused")
    except ValueError:
        logging.getLogger("bot.app").exception("start-up failed")
    err = configured.readouterr().err
    assert "InvalidToken" in err
    assert "Traceback" in err
    assert TOKEN.split(":")[1] not in err
    assert "another_token_never_configured" not in err


def test_database_errors_lose_their_statements_and_parameters(
    configured: pytest.CaptureFixture[str],
) -> None:
    setup()
    error = IntegrityError(
        "INSERT INTO subscriber (chat_id, text) VALUES (?, ?)",
        ("731200456", "chồng tôi đánh tôi"),
        Exception("UNIQUE constraint failed"),
    )
    logging.getLogger("bot.chat.inbox").error("turn failed", exc_info=error)
    err = configured.readouterr().err
    assert "IntegrityError" in err
    assert "731200456" not in err
    assert "chồng tôi" not in err


def test_uncaught_exceptions_go_through_the_filter(
    configured: pytest.CaptureFixture[str],
) -> None:
    setup()
    try:
        raise RuntimeError(f"crashed with {TOKEN} for chat 731200456")
    except RuntimeError as error:
        sys.excepthook(type(error), error, error.__traceback__)

    def worker() -> None:
        raise RuntimeError(f"thread crashed with {TOKEN}")

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    err = configured.readouterr().err
    assert err.count("uncaught exception") == 2
    assert TOKEN not in err
    assert "731200456" not in err


async def test_the_event_loop_handler_goes_through_the_filter(
    configured: pytest.CaptureFixture[str],
) -> None:
    setup()
    from bot.logs import asyncio_exception_handler

    loop = asyncio.get_running_loop()
    error = RuntimeError(f"task died holding {TOKEN}")
    asyncio_exception_handler(
        loop, {"message": "Task exception was never retrieved", "exception": error}
    )
    err = configured.readouterr().err
    assert "Task exception was never retrieved" in err
    assert TOKEN not in err


def test_chat_refs_match_lines_about_one_chat_without_naming_it() -> None:
    set_chat_ref_key(derive_key("install-a"))
    first, again, other = (
        chat_ref("telegram", "731200456"),
        chat_ref("telegram", "731200456"),
        chat_ref("telegram", "731200457"),
    )
    assert first == again
    assert first != other
    assert "731200456" not in first
    assert len(first) == len("c:") + 10
    set_chat_ref_key(derive_key("install-b"))
    assert chat_ref("telegram", "731200456") != first  # the key is per install


def test_scrub() -> None:
    assert scrub("url /bot123456:ABCDEFGHIJKLMNOPQRSTUV/x") == "url /bot<token>/x"
    assert scrub("chat -1001234567890 and 731200456") == "chat <n> and <n>"
    assert scrub("zalo id 8a1b2c3d4e5f60718293a4b5") == "zalo id <id>"
    assert scrub("sent 1500 of 20000 in 12.5s") == "sent 1500 of 20000 in 12.5s"
