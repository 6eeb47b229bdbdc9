"""The Channel protocol: what the core knows of a messenger (Telegram, Zalo, console).

Services build `Outbound` values and read `Inbound` values; only channel packages import
platform libraries. A choice is data: an inline keyboard on Telegram, a numbered reply elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, runtime_checkable

from bot.domain.text import split_text


class NotAnEvent(ValueError):
    """A webhook body that is JSON but none of the platform's events: the web server answers
    400, since delivering it again would not help (a storage fault, by contrast, answers 5xx)."""


class InboundKind(StrEnum):
    """What a person sent."""

    TEXT = "text"  # free text (may be a numbered reply to a choice)
    COMMAND = "command"  # /start, /khauhieu …
    CHOICE = "choice"  # a button press, carrying Choice.data
    OTHER = "other"  # sticker, photo, voice … where text was expected
    HIDDEN = "hidden"  # the platform withheld the content (Zalo's protected-group senders)
    DISTRESS = "distress"  # text that signals danger; the text itself is dropped at once


@dataclass(frozen=True, slots=True)
class Inbound:
    """One update from a person, already normalised (NFC text, lower-case command)."""

    channel: str
    chat_id: str
    update_id: str
    kind: InboundKind
    received_at: datetime
    text: str = ""
    command: str | None = None
    args: str = ""
    choice_data: str | None = None
    language_hint: str | None = None
    text_length: int | None = None  # the text's length before it was cut to a message's size
    interaction: bool = True  # False for events that do not renew a platform's window (unfollow)


@dataclass(frozen=True, slots=True)
class Choice:
    """One option offered to the person; `data` comes back in Inbound.choice_data."""

    label: str
    data: str
    # Not picked by a typed number (a form's «Quay lại» …): listed after the numbered choices.
    unnumbered: bool = False


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a message (the text becomes its caption where it fits).

    `path` names the file on disk (the coordinators' file store): the outbox keeps the path, not
    the bytes. `photo` sends it as a picture where the channel tells the two apart.
    """

    path: str
    filename: str
    media_type: str
    photo: bool = False


@dataclass(frozen=True, slots=True)
class MenuCommand:
    """One entry of a chat's own command menu (Telegram's per-chat command scope)."""

    command: str
    description: str


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message to send: text plus optional choices, a file, or the chat's command menu."""

    channel: str
    chat_id: str
    text: str
    choices: tuple[Choice, ...] = ()
    columns: int = 1
    numbered: bool = True  # a typed «N» picks choices[N-1]; False where a number is an answer
    attachment: Attachment | None = None  # only to channels whose capabilities say `files`
    menu: tuple[MenuCommand, ...] | None = None  # set first where the channel has menus
    # Buttons good for one answer (a form's question): taken off this message once the chat's
    # next such message goes out or the flow ends (`Turn.retire_choices`), where the channel
    # can edit a sent message. Ignored by the channels themselves.
    single_use: bool = False
    # Not a text: the channel's registered template notice with these (field, value) pairs
    # (the Zalo OA's ZBS template by user id, `bot/delivery/templates.py`); `text` only
    # describes it for the operator.
    template: tuple[tuple[str, str], ...] | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can render; the core adapts to these."""

    max_text: int
    buttons: bool
    max_buttons: int = 0
    files: bool = False  # documents and photos travel in the chat (else: a signed link)
    # can edit a message it sent (`ChoiceEditor`): take its buttons off, replace its text
    edits: bool = False
    # Messages reach a person only this long after their last interaction (Zalo OA: 7 days);
    # the dispatcher skips, and counts, what falls outside. None = no such rule.
    window: timedelta | None = None
    # `max_text` counts UTF-16 code units (an emoji counts 2), not code points (Zalo Bot)
    utf16: bool = False


def split_for(capabilities: Capabilities, text: str) -> list[str]:
    """`text` cut into the messages a channel with these capabilities sends it as (a message
    without choices), by the same rule its sender follows."""
    return split_text(text, capabilities.max_text, utf16=capabilities.utf16)


class SendStatus(StrEnum):
    """Outcome of one send attempt, as the delivery engine needs it."""

    OK = "ok"
    RETRY = "retry"  # 429 / 5xx / timeout: try again later (retry_after if given)
    BLOCKED = "blocked"  # 403: the person stopped the bot; never send again
    MIGRATED = "migrated"  # the chat moved to a new id (Telegram group → supergroup)
    FAILED = "failed"  # a permanent error for this message (400 bad request …)
    QUOTA = "quota"  # the channel's monthly quota is used up (Zalo 429): keep it, pause bulk
    SKIPPED = "skipped"  # the platform refuses it now (outside a window): counted, not retried


@dataclass(frozen=True, slots=True)
class SendResult:
    """The result of `Channel.send`."""

    status: SendStatus
    retry_after: float | None = None
    new_chat_id: str | None = None
    error: str | None = None
    calls: int = 1  # API messages the platform accepted (a split text takes several; 0 if none)
    # the platform's id of the message sent (of its last part), for a later edit; channels
    # with `Capabilities.edits` give it for messages with buttons
    message_ref: str | None = None


def parse_command(text: str) -> tuple[str, str] | None:
    """«/khauhieu abc» → ("khauhieu", "abc"); None when the text is not a command."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return None
    parts = stripped.split(maxsplit=1)  # any whitespace, a newline too, ends the command word
    name = parts[0][1:]
    if not name or name.startswith("/"):
        return None
    return name, parts[1].strip() if len(parts) > 1 else ""


def render_choices(message: Outbound) -> str:
    """Choices as text, for channels without buttons (Zalo, console): «\n  1. …» lines when a
    typed number picks them, «\n(label / label)» when a typed number is an answer."""
    if not message.choices:
        return ""
    if not message.numbered:
        return "\n(" + " / ".join(choice.label for choice in message.choices) + ")"
    numbered = [c for c in message.choices if not c.unnumbered]
    others = [c for c in message.choices if c.unnumbered]
    text = "\n" + "\n".join(f"  {n}. {c.label}" for n, c in enumerate(numbered, 1))
    return text + ("\n(" + " / ".join(c.label for c in others) + ")" if others else "")


@runtime_checkable
class ChoiceEditor(Protocol):
    """A channel that can change a message it sent (`Capabilities.edits`). The dispatcher calls
    it for an outbox edit row, under the channel's limits like any send."""

    async def clear_choices(self, chat_id: str, message_ref: str) -> SendResult:
        """Remove the buttons of message `message_ref` (a `SendResult.message_ref`)."""
        ...

    async def edit_text(self, message_ref: str, message: Outbound) -> SendResult:
        """Replace the text and buttons of message `message_ref` (in `message.chat_id`) by
        `message`'s; a message already showing them counts as done."""
        ...


@runtime_checkable
class TemplateSender(Protocol):
    """A channel that sends template notices (`Outbound.template`) and can stop doing so."""

    def templates_open(self) -> bool:
        """False once the platform refused the template itself (the notices wait)."""
        ...


class Channel(Protocol):
    """A messenger transport: the only things the core and the delivery engine call."""

    name: str
    capabilities: Capabilities

    async def send(self, message: Outbound) -> SendResult:
        """Deliver one message (splitting long text by the channel's limit)."""
        ...
