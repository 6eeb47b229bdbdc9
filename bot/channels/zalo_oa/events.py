"""OA webhook event → Inbound. The only place that reads the shape of the OA's events.

Message events: ``{"app_id", "user_id_by_app", "event_name": "user_send_text", "sender": {"id"},
"recipient": {"id"}, "message": {"msg_id", "text", "attachments"?}, "timestamp": "<ms>"}``;
follow / unfollow: ``{"oa_id", "follower": {"id"}, "event_name", "source", "app_id",
"timestamp"}`` (no sender). Ids are strings (large integers). Sources: README, "Zalo Official
Account". A follow becomes the command ``follow`` (an offer to subscribe), an unfollow the command
``unfollow`` (not an interaction); OA echoes and delivery receipts are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.channels.base import Inbound, InboundKind, parse_command

CHANNEL = "zalo_oa"
# Consultation messages reach a person only within 7 days of their last interaction (README).
WINDOW = timedelta(days=7)
TEXT_EVENTS = frozenset({"user_send_text", "user_send_link"})
# Things a person sent that Loa cannot read: answered with «I only read text».
OTHER_EVENTS = frozenset(
    {
        "user_send_image",
        "user_send_sticker",
        "user_send_gif",
        "user_send_audio",
        "user_send_video",
        "user_send_file",
        "user_send_location",
        "user_send_business_card",
        "user_submit_info",
    }
)
FOLLOW_EVENTS = frozenset({"follow", "unfollow"})
KNOWN_IGNORED = frozenset({"user_received_message", "user_seen_message", "anonymous_send_text"})


def event_name(payload: Mapping[str, Any]) -> str:
    """The event's name ('' when absent)."""
    name = payload.get("event_name")
    return name if isinstance(name, str) else ""


def user_id(payload: Mapping[str, Any]) -> str:
    """The person the event is about: follower.id for (un)follow, sender.id otherwise."""
    holder = payload.get("follower") if event_name(payload) in FOLLOW_EVENTS else None
    holder = holder if isinstance(holder, Mapping) else payload.get("sender")
    return _id(holder.get("id")) if isinstance(holder, Mapping) else ""


def event_key(payload: Mapping[str, Any]) -> str:
    """A stable id for de-duplication: the msg_id, or name:user:timestamp for other events."""
    message = payload.get("message")
    msg_id = _id(message.get("msg_id")) if isinstance(message, Mapping) else ""
    if msg_id:
        return msg_id[:64]
    return f"{event_name(payload)}:{user_id(payload)}:{_id(payload.get('timestamp'))}"[:64]


def timestamp_ms(payload: Mapping[str, Any]) -> int | None:
    """The event's timestamp (epoch milliseconds, sent as a string), or None if unreadable."""
    raw = _id(payload.get("timestamp"))
    return int(raw) if raw.isdigit() else None


def is_known(payload: Mapping[str, Any]) -> bool:
    """True for events Loa knows (handled or ignored on purpose)."""
    name = event_name(payload)
    return (
        name in TEXT_EVENTS
        or name in OTHER_EVENTS
        or name in FOLLOW_EVENTS
        or name in KNOWN_IGNORED
        or name.startswith("oa_send_")
    )


def parse_event(payload: Mapping[str, Any], *, now: datetime) -> Inbound | None:
    """The Inbound for an event, or None for events Loa ignores (echoes, receipts, unknown)."""
    name = event_name(payload)
    person = user_id(payload)
    if not person:
        return None
    common: dict[str, Any] = {
        "channel": CHANNEL,
        "chat_id": person,
        "update_id": event_key(payload),
        "received_at": now,
    }
    if name in FOLLOW_EVENTS:
        # an unfollow is not an interaction: it must not renew the 7-day window
        return Inbound(
            kind=InboundKind.COMMAND, command=name, interaction=name == "follow", **common
        )
    if name in OTHER_EVENTS:
        return Inbound(kind=InboundKind.OTHER, **common)
    if name not in TEXT_EVENTS:
        return None
    message = payload.get("message")
    text = message.get("text") if isinstance(message, Mapping) else None
    if not isinstance(text, str) or not text.strip():
        return Inbound(kind=InboundKind.OTHER, **common)
    command = parse_command(text)
    if command is not None:
        name_, args = command
        return Inbound(kind=InboundKind.COMMAND, text=text, command=name_, args=args, **common)
    return Inbound(kind=InboundKind.TEXT, text=text, **common)


def _id(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | str):
        return str(value).strip()
    return ""
