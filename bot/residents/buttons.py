"""The residents' buttons, as typed callback data (see bot/chat/callbacks.py).

The wire forms are those sent before the codec existed (`lang:vi`, `grp:3`, `grp:skip`,
`sg:<id>`, `del:yes:<nonce>`, `menu:help`), so buttons already in people's chats keep working.
One exception: the group list's page buttons were `grp:p2` and are now `grp:p:2`; an old page
button gets the stale-button answer (the list is sent again by /khoi).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from bot.chat.callbacks import CallbackData


class LanguageButton(CallbackData, prefix="lang"):
    """Choose the language `code`."""

    code: str


class GroupPick(CallbackData, prefix="grp"):
    """Choose the residential group at `index` in the pack's list."""

    index: int


class GroupPage(CallbackData, prefix="grp"):
    """Show page `page` of the group list."""

    tag: Literal["p"] = "p"
    page: int


class GroupSkip(CallbackData, prefix="grp"):
    """Go on without a group."""

    tag: Literal["skip"] = "skip"


class SloganGroupButton(CallbackData, prefix="sg"):
    """Show the slogans of group `group_id`."""

    group_id: str


class Answer(StrEnum):
    """A yes/no confirmation."""

    YES = "yes"
    NO = "no"


class DeleteButton(CallbackData, prefix="del"):
    """Confirm or cancel deleting one's data; `nonce` binds it to the latest request."""

    answer: Answer
    nonce: str


class MenuAction(StrEnum):
    """What the fallback menu offers."""

    SLOGANS = "slogans"
    HELP = "help"
    STOP = "stop"
    START = "start"
    SUBSCRIBE = "subscribe"  # a chat with another role (an official) also subscribing


class MenuButton(CallbackData, prefix="menu"):
    """A button of the fallback menu."""

    action: MenuAction
