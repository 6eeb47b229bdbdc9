"""The coordinator's buttons, as typed callback data (see bot/chat/callbacks.py).

Wire forms: `co:nudge:<deadline>` (remind the missing), `bc:<step>` (the broadcast flow's steps),
`bc:aud:<kind>`, `bc:val:<index>` (an audience and one of its values), `bc:stop:<broadcast>`,
`bc:view:<channel>` (the preview's text as that channel sends it, in full).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from bot.chat.callbacks import CallbackData


class NudgeButton(CallbackData, prefix="co"):
    """Remind every official of an agency still missing `deadline`."""

    tag: Literal["nudge"] = "nudge"
    deadline: str


class Step(StrEnum):
    """A step of the broadcast flow."""

    QUIT = "quit"
    NEXT = "next"  # the text is complete: choose the audience
    DONE = "done"  # the values of a several-values audience are chosen
    GO = "go"
    URGENT = "urgent"
    AT = "at"  # schedule


class StepButton(CallbackData, prefix="bc"):
    """Go to a step of the broadcast flow."""

    step: Step


class AudienceButton(CallbackData, prefix="bc"):
    """Choose the kind of audience (one of broadcasts.AUDIENCE_KINDS)."""

    tag: Literal["aud"] = "aud"
    kind: str


class ValueButton(CallbackData, prefix="bc"):
    """Choose (or, for groups, toggle) the value at `index` of the audience's list."""

    tag: Literal["val"] = "val"
    index: int


class StopButton(CallbackData, prefix="bc"):
    """Stop what is not yet sent of `broadcast`."""

    tag: Literal["stop"] = "stop"
    broadcast: int


class ViewButton(CallbackData, prefix="bc"):
    """Show the previewed text in full as `channel` will send it (the confirm step stays)."""

    tag: Literal["view"] = "view"
    channel: str
