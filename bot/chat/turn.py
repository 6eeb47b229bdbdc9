"""One turn of a conversation: the inbound update, the session, the chat's state, the replies."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Choice, Inbound, Outbound
from bot.chat.refusal import Refusal
from bot.clock import Randomness, SystemRandomness
from bot.storage.models import ChatState, Subscriber
from messages import t

NONCE_BYTES = 4  # 8 hex digits: the chat_state.nonce column holds 16


@dataclass
class Turn:
    """Everything a handler may use; handlers append replies and change state, nothing else."""

    inbound: Inbound
    session: AsyncSession
    state: ChatState
    subscriber: Subscriber | None
    now: datetime
    lang: str
    randomness: Randomness = field(default_factory=SystemRandomness)
    replies: list[Outbound] = field(default_factory=list)
    state_deleted: bool = False
    retiring: bool = False  # take the buttons off the chat's last single-use message

    @property
    def channel(self) -> str:
        """The channel of this conversation."""
        return self.inbound.channel

    @property
    def chat_id(self) -> str:
        """The chat of this conversation."""
        return self.inbound.chat_id

    def text(self, key: str, /, **fields: object) -> str:
        """A message in the person's language."""
        return t(key, self.lang, **fields)

    def choice(self, key: str, data: str) -> Choice:
        """A choice whose label is a message key."""
        return Choice(label=t(key, self.lang), data=data)

    def say(
        self,
        key: str,
        /,
        *,
        choices: Sequence[Choice] = (),
        columns: int = 1,
        numbered: bool = True,
        single_use: bool = False,
        **fields: object,
    ) -> None:
        """Reply with the message `key`."""
        text = self.text(key, **fields)
        self.say_text(
            text, choices=choices, columns=columns, numbered=numbered, single_use=single_use
        )

    def refuse(self, refusal: Refusal) -> None:
        """Reply with a refusal, rendered in the person's language."""
        self.say_text(refusal.render(self.lang))

    def say_text(
        self,
        text: str,
        *,
        choices: Sequence[Choice] = (),
        columns: int = 1,
        numbered: bool = True,
        single_use: bool = False,
    ) -> None:
        """Reply with a ready text; `numbered=False` when a typed number is an answer;
        `single_use`: its buttons answer this step only (taken off when the chat moves on)."""
        self.replies.append(
            Outbound(
                channel=self.channel,
                chat_id=self.chat_id,
                text=text,
                choices=tuple(choices),
                columns=columns,
                numbered=numbered,
                single_use=single_use,
            )
        )

    def retire_choices(self) -> None:
        """The step the chat's last single-use buttons answered is over (the flow ended):
        take them off that message, where the channel can edit a sent message."""
        self.retiring = True

    # ---- flow state ---------------------------------------------------------------------------

    @property
    def flow(self) -> str | None:
        """The multi-step flow the chat is in, if any."""
        return self.state.flow

    @property
    def step(self) -> str | None:
        """The step within the flow."""
        return self.state.step

    @property
    def flow_data(self) -> dict[str, Any]:
        """The data the current flow keeps in the chat's state."""
        data = json.loads(self.state.data or "{}")
        return data if isinstance(data, dict) else {}

    def nonce_matches(self, nonce: str) -> bool:
        """Whether a button's nonce is that of the chat's current flow step (else it is stale)."""
        return bool(nonce) and nonce == self.state.nonce

    def forget_chat(self) -> None:
        """The chat's rows were deleted this turn: nothing about it is written back."""
        self.state_deleted = True
        self.subscriber = None

    def set_flow(self, flow: str, step: str, data: dict[str, Any] | None = None) -> str:
        """Enter a flow step; returns a fresh nonce for the buttons of this step."""
        self.state.flow = flow
        self.state.step = step
        self.state.data = json.dumps(data or {}, ensure_ascii=False)
        self.state.nonce = self.randomness.token_hex(NONCE_BYTES)
        return self.state.nonce

    def clear_flow(self) -> None:
        """Leave any flow."""
        self.state.flow = None
        self.state.step = None
        self.state.data = "{}"
        self.state.nonce = None


Handler = Callable[[Turn], Awaitable[None]]
