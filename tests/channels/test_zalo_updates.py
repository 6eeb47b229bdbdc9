"""Zalo update → Inbound, on the shapes the fake server (and the Zalo docs) use."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.channels.base import InboundKind, parse_command
from bot.channels.zalo.updates import to_inbound

NOW = datetime(2025, 11, 20, 1, 0, tzinfo=UTC)


def update(event: str = "message.text.received", **message: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "message_id": "16f6366b3f02645a3d15",
        "from": {"id": "8e1b2c", "display_name": "Lan", "is_bot": False},
        "chat": {"id": "8e1b2c", "chat_type": "PRIVATE"},
        "date": 1763600400000,
    }
    base.update(message)
    return {"event_name": event, "message": base}


def test_text_is_text_with_string_ids() -> None:
    inbound = to_inbound(update(text="khoi pho 5"), now=NOW)
    assert inbound is not None
    assert inbound.kind is InboundKind.TEXT
    assert (inbound.channel, inbound.chat_id, inbound.update_id) == (
        "zalo",
        "8e1b2c",
        "16f6366b3f02645a3d15",
    )
    assert (inbound.text, inbound.received_at) == ("khoi pho 5", NOW)
    assert "Lan" not in repr(inbound)  # the person's name is not carried into the core


def test_numeric_ids_stay_exact_text() -> None:
    big = 9007199254740993  # beyond a float's exact range
    raw = update(text="1", message_id=big, chat={"id": big, "chat_type": "PRIVATE"})
    inbound = to_inbound(raw, now=NOW)
    assert inbound is not None
    assert (inbound.chat_id, inbound.update_id) == (str(big), str(big))


def test_command_with_arguments() -> None:
    inbound = to_inbound(update(text="/gio 18:00"), now=NOW)
    assert inbound is not None
    assert inbound.kind is InboundKind.COMMAND
    assert (inbound.command, inbound.args, inbound.text) == ("gio", "18:00", "/gio 18:00")


def test_command_alone_and_with_spaces_around() -> None:
    inbound = to_inbound(update(text="  /start  "), now=NOW)
    assert inbound is not None
    assert (inbound.kind, inbound.command, inbound.args) == (InboundKind.COMMAND, "start", "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/khauhieu", ("khauhieu", "")),
        ("/start abc123", ("start", "abc123")),
        ("/gio\n18:00", ("gio", "18:00")),
        ("/Start@loa_bot", ("Start@loa_bot", "")),  # the core folds case and drops @bot
        ("/", None),
        ("//", None),
        ("a /start", None),
        ("1/2", None),
    ],
)
def test_parse_command(text: str, expected: tuple[str, str] | None) -> None:
    assert parse_command(text) == expected


def test_slash_alone_is_text() -> None:
    inbound = to_inbound(update(text="/"), now=NOW)
    assert inbound is not None
    assert inbound.kind is InboundKind.TEXT


@pytest.mark.parametrize(
    ("event", "fields"),
    [
        ("message.sticker.received", {"sticker": "0e07", "url": "https://x/s.webp"}),
        # real payloads and python-zalo-bot: photo_url; the docs: photo
        ("message.image.received", {"photo_url": "https://x/y.jpg", "message_type": "CHAT_PHOTO"}),
        ("message.image.received", {"photo": "https://x/y.jpg", "caption": "ảnh"}),
        ("message.voice.received", {"voice_url": "https://x/v.aac", "message_type": "CHAT_VOICE"}),
    ],
)
def test_stickers_images_and_voice_are_other(event: str, fields: dict[str, str]) -> None:
    inbound = to_inbound(update(event, **fields), now=NOW)
    assert inbound is not None
    assert inbound.kind is InboundKind.OTHER
    assert inbound.chat_id == "8e1b2c"
    assert "https://" not in repr(inbound)  # the media URL is not carried into the core


def test_an_image_event_without_an_image_is_ignored() -> None:
    assert to_inbound(update("message.image.received"), now=NOW) is None


def test_unsupported_is_hidden_content() -> None:
    inbound = to_inbound(update("message.unsupported.received"), now=NOW)
    assert inbound is not None
    assert (inbound.kind, inbound.text, inbound.chat_id) == (InboundKind.HIDDEN, "", "8e1b2c")


@pytest.mark.parametrize(
    "raw",
    [
        {"event_name": "user.follow", "message": {"chat": {"id": "1"}}},
        {"event_name": "message.reaction.received", "message": {"chat": {"id": "1"}}},
        {"message": {"chat": {"id": "1"}, "text": "hi"}},
        {"event_name": "message.text.received"},
        {"event_name": "message.text.received", "message": "not an object"},
        {"event_name": "message.text.received", "message": {"text": "no chat"}},
    ],
)
def test_unknown_or_broken_updates_are_ignored(raw: dict[str, Any]) -> None:
    assert to_inbound(raw, now=NOW) is None


def test_messages_from_bots_are_ignored() -> None:
    raw = update(text="hi")
    raw["message"]["from"]["is_bot"] = True
    assert to_inbound(raw, now=NOW) is None


def test_missing_message_id_falls_back_to_chat_and_date() -> None:
    raw = update(text="hi")
    del raw["message"]["message_id"]
    inbound = to_inbound(raw, now=NOW)
    assert inbound is not None
    assert inbound.update_id == "8e1b2c:1763600400000"


def test_text_event_without_text_is_other() -> None:
    inbound = to_inbound(update(), now=NOW)
    assert inbound is not None
    assert inbound.kind is InboundKind.OTHER
