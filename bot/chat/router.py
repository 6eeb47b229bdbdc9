"""Routes a turn to its handler: commands, button data prefixes, flows, fallbacks.

Feature modules (residents, officials …) register their handlers in app.py; the router itself
knows no feature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.channels.base import InboundKind
from bot.chat.callbacks import CallbackData, prefix_of
from bot.chat.turn import Handler, Turn
from bot.domain.text import fold, fold_words

Claims = Callable[[Turn], bool]  # True: this update belongs to the mode's handler


async def _ignore(turn: Turn) -> None:
    return None


@dataclass
class Router:
    """Handler tables; the first matching rule wins."""

    commands: dict[str, Handler] = field(default_factory=dict)
    choices: dict[str, Handler] = field(default_factory=dict)
    flows: dict[str, Handler] = field(default_factory=dict)
    words: dict[str, Handler] = field(default_factory=dict)  # bare typed words: «giúp», «stop»
    flows_without_words: set[str] = field(default_factory=set)
    # a person in danger: recognised before any other rule (text already dropped by then)
    is_distress: Callable[[str], bool] = lambda _text: False
    distress: Handler = _ignore
    unknown_command: Handler = _ignore
    stale_choice: Handler = _ignore
    fallback: Handler = _ignore
    non_text: Handler = _ignore
    modes: dict[str, tuple[Claims, Handler]] = field(default_factory=dict)

    def command(self, names: tuple[str, ...], handler: Handler) -> None:
        """Register a command under its names (Vietnamese first, aliases after)."""
        for name in names:
            key = fold(name).lstrip("/")
            if key in self.commands:
                raise ValueError(f"command /{key} registered twice")
            self.commands[key] = handler

    def choice(self, data: type[CallbackData] | str, handler: Handler) -> None:
        """Register a handler for the buttons of a callback-data class (or of a bare prefix).

        Classes sharing a prefix share one handler, which unpacks the data itself."""
        prefix = data if isinstance(data, str) else data.__prefix__
        if prefix in self.choices:
            raise ValueError(f"choice prefix {prefix!r} registered twice")
        self.choices[prefix] = handler

    def mode(self, flow: str, claims: Claims, handler: Handler) -> None:
        """Make flow `flow` a mode: while a chat is in it, every update `claims` says is not for
        the usual handlers (a photo, another feature's command or button) goes to `handler`."""
        self.modes[flow] = (claims, handler)

    def flow(self, name: str, handler: Handler, *, words: bool = True) -> None:
        """Register the handler of free text typed while a chat is in flow `name`; with
        `words=False` a bare word such as «dừng» typed in that flow is the flow's, not a
        command's."""
        self.flows[name] = handler
        if not words:
            self.flows_without_words.add(name)

    def word(self, names: tuple[str, ...], handler: Handler) -> None:
        """Register a bare word (matched accent-folded, as the whole message) as a command."""
        for name in names:
            key = fold_words(name)
            if key in self.words:
                raise ValueError(f"word {key!r} registered twice")
            self.words[key] = handler

    async def dispatch(self, turn: Turn) -> None:
        """Run the handler for this turn."""
        inbound = turn.inbound
        mode = self.modes.get(turn.flow or "")
        if inbound.kind is InboundKind.DISTRESS:
            await self.distress(turn)  # before anything else, a form's mode included
        elif mode is not None and mode[0](turn):
            await mode[1](turn)
        elif inbound.kind is InboundKind.COMMAND:
            name = fold(inbound.command or "")
            await self.commands.get(name, self.unknown_command)(turn)
        elif inbound.kind is InboundKind.CHOICE:
            prefix = prefix_of(inbound.choice_data or "")
            await self.choices.get(prefix, self.stale_choice)(turn)
        elif inbound.kind is InboundKind.OTHER:
            await self.non_text(turn)
        elif (word := self._word(turn)) is not None:
            await word(turn)
        elif turn.flow is not None and turn.flow in self.flows:
            await self.flows[turn.flow](turn)
        else:
            await self.fallback(turn)

    def _word(self, turn: Turn) -> Handler | None:
        if turn.flow in self.flows_without_words or len(turn.inbound.text) > 40:
            return None
        return self.words.get(fold_words(turn.inbound.text))
