"""A terminal channel for `loa chat` and the demo: choices become numbered lines."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from typing import TextIO

from bot.channels.base import (
    Capabilities,
    Inbound,
    InboundKind,
    Outbound,
    SendResult,
    SendStatus,
    parse_command,
    render_choices,
)
from bot.domain.text import ZALO_MAX_TEXT, split_text

CONSOLE_MAX_TEXT = ZALO_MAX_TEXT  # the console shows what a Zalo user would see


class ConsoleChannel:
    """Prints what the bot sends; the person answers by typing (numbers pick choices)."""

    name = "console"
    capabilities = Capabilities(max_text=CONSOLE_MAX_TEXT, buttons=False, files=True)

    def __init__(self, out: TextIO | None = None, *, prefix: str = "> ") -> None:
        self._out = out or sys.stdout
        self._prefix = prefix
        self.sent: list[Outbound] = []
        self._sent_more = asyncio.Condition()

    async def send(self, message: Outbound) -> SendResult:
        """Print the message (split at the console's limit)."""
        self.sent.append(message)
        body = message.text + render_choices(message)
        if message.attachment is not None:
            body += f"\n[{message.attachment.filename}]"
        for chunk in split_text(body, CONSOLE_MAX_TEXT):
            indented = chunk.replace("\n", "\n" + " " * len(self._prefix))
            print(f"{self._prefix}{indented}", file=self._out, flush=True)
        async with self._sent_more:
            self._sent_more.notify_all()
        return SendResult(status=SendStatus.OK)

    async def wait_sent(self, count: int, *, seconds: float = 5.0) -> bool:
        """Wait until `count` messages were printed in all; False if time ran out."""
        try:
            async with asyncio.timeout(seconds), self._sent_more:
                await self._sent_more.wait_for(lambda: len(self.sent) >= count)
        except TimeoutError:
            return False
        return True


def console_inbound(line: str, *, chat_id: str, update_id: str, now: datetime) -> Inbound:
    """A typed line as an Inbound: «/cmd args» is a command, anything else is text."""
    text = line.rstrip("\n")
    command = parse_command(text)
    return Inbound(
        channel=ConsoleChannel.name,
        chat_id=chat_id,
        update_id=update_id,
        kind=InboundKind.TEXT if command is None else InboundKind.COMMAND,
        received_at=now,
        text=text,
        command=None if command is None else command[0],
        args="" if command is None else command[1],
    )
