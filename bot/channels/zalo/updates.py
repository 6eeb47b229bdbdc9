"""Zalo update → Inbound. The only place that reads the shape of Zalo's updates.

An update is ``{"event_name": "message.text.received", "message": {"message_id", "date",
"chat": {"id", "chat_type"}, "from": {"id", "display_name", "is_bot"}, "text" …}}`` (Zalo Bot
Platform docs, Webhook). Zalo has no command entities, so a text whose first word starts with
«/» is a command. Zalo has no update id either: the message id (unique per message) plays that
part for de-duplication.

Events: text; image (``photo_url`` in real payloads and in python-zalo-bot, ``photo`` in the
docs: both read, only to tell an image from an empty message — never kept or logged), sticker
and voice are answered as "something else than text"; ``message.unsupported.received`` is what
Zalo sends instead of the content for people in protected groups (children, people with
disabilities, people who cannot read …, per the docs' warning): HIDDEN, answered by a flow that
needs no text. Any other event is ignored on purpose (answered 200, nothing sent).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.channels.base import Inbound, InboundKind, parse_command

CHANNEL = "zalo"
TEXT_EVENT = "message.text.received"
HIDDEN_EVENT = "message.unsupported.received"
IMAGE_EVENT = "message.image.received"
# Messages Loa cannot read but should answer («I only read text»); any other event is ignored.
OTHER_EVENTS = frozenset({IMAGE_EVENT, "message.sticker.received", "message.voice.received"})


def to_inbound(update: Mapping[str, Any], *, now: datetime) -> Inbound | None:
    """The Inbound for an update, or None for updates Loa ignores on purpose."""
    event = update.get("event_name")
    if event != TEXT_EVENT and event != HIDDEN_EVENT and event not in OTHER_EVENTS:
        return None
    message = update.get("message")
    if not isinstance(message, Mapping):
        return None
    sender = message.get("from")
    sender = sender if isinstance(sender, Mapping) else {}
    if sender.get("is_bot") is True:
        return None  # never answer a bot (or our own echo)
    chat = message.get("chat")
    chat_id = _id(chat.get("id")) if isinstance(chat, Mapping) else ""
    chat_id = chat_id or _id(sender.get("id"))
    if not chat_id:
        return None
    message_id = _id(message.get("message_id")) or f"{chat_id}:{_id(message.get('date'))}"
    common: dict[str, Any] = {
        "channel": CHANNEL,
        "chat_id": chat_id,
        "update_id": message_id,
        "received_at": now,
    }
    text = message.get("text")
    if event == HIDDEN_EVENT:
        return Inbound(kind=InboundKind.HIDDEN, **common)
    if event == IMAGE_EVENT and not _photo(message):
        return None  # an image event without an image: nothing to answer
    if event != TEXT_EVENT or not isinstance(text, str):
        return Inbound(kind=InboundKind.OTHER, **common)
    command = parse_command(text)
    if command is not None:
        name_, args = command
        return Inbound(kind=InboundKind.COMMAND, text=text, command=name_, args=args, **common)
    return Inbound(kind=InboundKind.TEXT, text=text, **common)


def _photo(message: Mapping[str, Any]) -> str:
    """The image URL of an image message: ``photo_url`` (real payloads), else ``photo`` (docs)."""
    for key in ("photo_url", "photo"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _id(value: object) -> str:
    """Ids as text, whatever JSON type Zalo used (strings today; numbers would be exact too)."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | str):
        return str(value).strip()
    return ""
