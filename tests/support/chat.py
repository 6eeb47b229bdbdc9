"""A chat driver for service tests: type as a person, read what the bot queued."""

from __future__ import annotations

import itertools
from datetime import datetime

from sqlmodel import col, select

from bot.channels.base import Inbound, InboundKind, Outbound
from bot.chat.conversation import Conversation
from bot.clock import Clock
from bot.storage.db import Database
from bot.storage.models import Subscriber

_ids = itertools.count(1)


async def find_subscriber(
    db: Database, chat_id: str | int, *, channel: str | None = None
) -> Subscriber | None:
    """The subscriber row of a chat (on `channel`, or on any), or None."""
    async with db.session() as session:
        stmt = select(Subscriber).where(col(Subscriber.chat_id) == str(chat_id))
        if channel is not None:
            stmt = stmt.where(col(Subscriber.channel) == channel)
        return (await session.execute(stmt)).scalars().first()


class ChatDriver:
    """One person in one chat; every call returns the replies the bot queued."""

    def __init__(self, conversation: Conversation, clock: Clock, chat_id: str = "1001") -> None:
        self.conversation = conversation
        self.clock = clock
        self.chat_id = chat_id
        self.channel = "telegram"
        self.last: list[Outbound] = []

    def _inbound(self, kind: InboundKind, **fields: object) -> Inbound:
        return Inbound(
            channel=self.channel,
            chat_id=self.chat_id,
            update_id=str(next(_ids)),
            kind=kind,
            received_at=self.now,
            **fields,  # type: ignore[arg-type]
        )

    @property
    def now(self) -> datetime:
        return self.clock.now()

    async def send(self, inbound: Inbound) -> list[Outbound]:
        self.last = await self.conversation.handle(inbound)
        return self.last

    async def type(self, text: str) -> list[Outbound]:
        """Type text; a leading slash makes it a command, as Telegram marks it."""
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            return await self.send(
                self._inbound(InboundKind.COMMAND, text=text, command=name, args=args)
            )
        return await self.send(self._inbound(InboundKind.TEXT, text=text))

    async def press(self, data: str) -> list[Outbound]:
        """Press a button carrying `data`."""
        return await self.send(self._inbound(InboundKind.CHOICE, choice_data=data))

    async def press_label(self, label: str) -> list[Outbound]:
        """Press the button labelled `label` in the last replies."""
        for out in reversed(self.last):
            for choice in out.choices:
                if choice.label == label:
                    return await self.press(choice.data)
        raise AssertionError(
            f"no button {label!r} in {[c.label for o in self.last for c in o.choices]}"
        )

    async def sticker(self) -> list[Outbound]:
        return await self.send(self._inbound(InboundKind.OTHER))

    def texts(self) -> str:
        """All reply texts of the last turn, joined."""
        return "\n---\n".join(o.text for o in self.last)

    def labels(self) -> list[str]:
        """Button labels of the last reply."""
        return [c.label for c in self.last[-1].choices] if self.last else []
