"""Telegram Update → Inbound. The only place that reads python-telegram-bot's update objects."""

from __future__ import annotations

from datetime import datetime

from telegram import Update
from telegram.constants import MessageEntityType

from bot.channels.base import Inbound, InboundKind

CHANNEL = "telegram"


def to_inbound(update: Update, *, now: datetime) -> Inbound | None:
    """The Inbound for an update, or None for updates Loa ignores on purpose (edits, joins …)."""
    update_id = str(update.update_id)
    query = update.callback_query
    if query is not None:
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        return Inbound(
            channel=CHANNEL,
            chat_id=str(chat_id),
            update_id=update_id,
            kind=InboundKind.CHOICE,
            received_at=now,
            choice_data=query.data or "",
            language_hint=query.from_user.language_code,
        )
    message = update.message
    if message is None:
        return None  # edited messages, channel posts, member updates: nothing to answer
    user = message.from_user
    common = {
        "channel": CHANNEL,
        "chat_id": str(message.chat.id),
        "update_id": update_id,
        "received_at": now,
        "language_hint": user.language_code if user is not None else None,
    }
    text = message.text
    if text is None:
        return Inbound(kind=InboundKind.OTHER, **common)  # type: ignore[arg-type]
    entities = message.entities or ()
    if entities and entities[0].type == MessageEntityType.BOT_COMMAND and entities[0].offset == 0:
        length = entities[0].length
        command = text[1:length]
        return Inbound(
            kind=InboundKind.COMMAND,
            text=text,
            command=command,
            args=text[length:].strip(),
            **common,  # type: ignore[arg-type]
        )
    return Inbound(kind=InboundKind.TEXT, text=text, **common)  # type: ignore[arg-type]
