"""Zalo update → Inbound. The only place that reads the shape of Zalo's updates.

An update is ``{"event_name": "message.text.received", "message": {"message_id", "date",
"chat": {"id", "chat_type"}, "from": {"id", "display_name", "is_bot"}, "text" …}}``. Zalo has
no command entities, so a text whose first word starts with «/» is a command. Zalo has no update
id either: the message id (unique per message) plays that part for de-duplication.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.channels.base import Inbound, InboundKind, parse_command

CHANNEL = "zalo"
TEXT_EVENT = "message.text.received"
# Messages Loa cannot read but should answer («I only read text»); any other event is ignored.
OTHER_EVENTS = frozenset(
    {
        "message.image.received",
        "message.sticker.received",
        "message.unsupported.received",
    }
)


def to_inbound(update: Mapping[str, Any], *, now: datetime) -> Inbound | None:
    """The Inbound for an update, or None for updates Loa ignores on purpose."""
    event = update.get("event_name")
    if event != TEXT_EVENT and event not in OTHER_EVENTS:
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
    if event != TEXT_EVENT or not isinstance(text, str):
        return Inbound(kind=InboundKind.OTHER, **common)
    command = parse_command(text)
    if command is not None:
        name_, args = command
        return Inbound(kind=InboundKind.COMMAND, text=text, command=name_, args=args, **common)
    return Inbound(kind=InboundKind.TEXT, text=text, **common)


def _id(value: object) -> str:
    """Ids as text, whatever JSON type Zalo used (strings today; numbers would be exact too)."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | str):
        return str(value).strip()
    return ""
