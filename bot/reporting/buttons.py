"""The officials' buttons as typed callback data (bot.chat.callbacks; 64 bytes checked there).

`FormButton` carries the form engine's own press (`f|<draft>|<nonce>|<action>`, read by
bot.domain.forms) as `rp:f|<draft>|<nonce>|<action>`; `QuickButton` answers «open an amendment
for this /nhanh row?» and is bound to that question by the chat state's nonce.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from bot.chat.callbacks import CallbackData, CallbackDataError


class FormButton(CallbackData, prefix="rp", sep="|"):
    """A button of the report form."""

    tag: Literal["f"] = "f"
    draft: str
    nonce: int
    action: str

    @classmethod
    def of(cls, engine_data: str) -> FormButton:
        """The engine's press data (`f|<draft>|<nonce>|<action>`) as a button."""
        tag, draft, nonce, action = engine_data.split("|")
        if tag != "f" or not nonce.isdigit():
            raise CallbackDataError(f"not the form engine's data: {engine_data!r}")
        return cls(draft=draft, nonce=int(nonce), action=action)

    def engine_data(self) -> str:
        """The press as the form engine reads it."""
        return f"{self.tag}|{self.draft}|{self.nonce}|{self.action}"


class QuickAnswer(StrEnum):
    """Open an amendment for the /nhanh row, or not."""

    YES = "yes"
    NO = "no"


class QuickButton(CallbackData, prefix="rq"):
    """[Có]/[Không] after /nhanh following a sent report."""

    answer: QuickAnswer
    nonce: str
