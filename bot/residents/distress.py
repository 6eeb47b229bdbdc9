"""A person in danger always gets help: the words that signal it, and the answer.

The lists live in messages/<lang>/distress.toml (see the comment there for their syntax). The
engine checks every typed text with `is_distress` before it is stored or routed (also inside a
form); a match drops the text and the turn gets `answer` at once on the reply lane: the national
numbers 113 / 115 / 111, the ward's trusted addresses and the person's residential group's
contact if the pack names them, in discreet words, and how to delete the conversation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from bot.chat.router import Router
from bot.chat.turn import Turn
from bot.domain.campaign import CampaignPack
from bot.domain.text import fold
from messages import LANGUAGES, catalogue

_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFC", text).lower())


@dataclass(frozen=True, slots=True)
class _Phrase:
    words: tuple[str, ...]
    folded: tuple[str, ...] | None  # the words accent-free, when also matched that way


@cache
def _lists() -> tuple[tuple[_Phrase, ...], tuple[tuple[str, ...], ...]]:
    triggers: list[_Phrase] = []
    safe: list[tuple[str, ...]] = []
    for lang in LANGUAGES:
        table = catalogue(lang)
        for line in table["distress.phrases"].splitlines():
            line = line.strip()
            if not line:
                continue
            words = tuple(_words(line.lstrip("=")))
            if not words:  # punctuation alone: no phrase (an empty one would match any text)
                continue
            folded = None if line.startswith("=") else tuple(fold(w) for w in words)
            triggers.append(_Phrase(words, folded))
        for line in table["distress.not_distress"].splitlines():
            if line.strip():
                safe.append(tuple(fold(w) for w in _words(line)))
    return tuple(triggers), tuple(safe)


def _find(words: Sequence[str], phrase: tuple[str, ...], kept: Sequence[bool]) -> bool:
    n = len(phrase)
    first = phrase[0]
    return any(
        words[i] == first and tuple(words[i : i + n]) == phrase and all(kept[i : i + n])
        for i in range(len(words) - n + 1)
    )


def is_distress(text: str) -> bool:
    """True when `text` holds a phrase that signals danger (whole words; see distress.toml)."""
    words = _words(text)
    if not words:
        return False
    folded = [fold(w) for w in words]
    triggers, safe = _lists()
    kept = [True] * len(words)
    for phrase in safe:
        n = len(phrase)
        for i in range(len(folded) - n + 1):
            if tuple(folded[i : i + n]) == phrase:
                kept[i : i + n] = [False] * n
    for trigger in triggers:
        if _find(words, trigger.words, kept):
            return True
        if trigger.folded is not None and _find(folded, trigger.folded, kept):
            return True
    return False


def trusted_addresses(pack: CampaignPack) -> str:
    """The pack's trusted addresses as «• name, where, contact» lines ("" when none)."""
    return "\n".join(
        "• " + ", ".join(p for p in (a.name, a.where, a.contact) if p)
        for a in pack.trusted_addresses
    )


class Distress:
    """The answer to a message that signals danger."""

    def __init__(self, pack: CampaignPack) -> None:
        self.pack = pack

    def register(self, router: Router) -> None:
        """Recognise distress before any other rule of the router."""
        router.is_distress = is_distress
        router.distress = self.answer

    async def answer(self, turn: Turn) -> None:
        """Numbers, places and a contact, discreetly; the chat's flow stays where it was."""
        addresses = trusted_addresses(self.pack)
        trusted = turn.text("distress.trusted", addresses=addresses) if addresses else ""
        focal = ""
        group = turn.subscriber.group_code if turn.subscriber is not None else None
        contact = self.pack.residential_groups.focal_points.get(group or "")
        if group and contact:
            focal = turn.text("distress.focal", group=group, contact=contact)
        turn.say("distress.answer", trusted=trusted, focal=focal)
        if turn.flow is not None:
            turn.say("distress.continue_flow")


def hotline_line(turn: Turn) -> str:
    """The one line every fallback answer ends with."""
    return turn.text("distress.hotline_line")
