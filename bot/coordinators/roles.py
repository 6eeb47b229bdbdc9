"""Who may do what: a chat is a coordinator's, an official's (bound to an agency) or a resident's.

The coordinator's commands (/tinhhinh, /thongbao, /xuatbaocao, /lichsu) refuse everyone else,
with a clear answer, and the refusal goes to the audit log. Each role has its own command menu,
set on the chat when it is bound (Telegram's per-chat command scope).
"""

from __future__ import annotations

from typing import Literal

from bot.channels.base import MenuCommand
from bot.chat.turn import Turn
from bot.coordinators import audit
from bot.reporting import repository as officials_repo
from bot.storage.models import Official
from messages import t

Role = Literal["coordinator", "official", "resident"]

COORDINATOR_MENU = ("tinhhinh", "thongbao", "xuatbaocao", "lichsu", "dunggui", "trogiup")
OFFICIAL_MENU = ("baocao", "baocaocuatoi", "nhanh", "trogiup")


def role_of(official: Official | None) -> Role:
    """The role of a chat given its binding (None: a resident, or someone not yet subscribed)."""
    if official is None:
        return "resident"
    return "coordinator" if official.role == "coordinator" else "official"


def actor_of(key: bytes, official: Official | None, channel: str, chat_id: str) -> str:
    """How the audit log names a chat: an official by agency id, anyone else by a keyed hash."""
    if official is not None and official.role == "official" and official.agency_id:
        return official.agency_id
    return audit.chat_hash(key, channel, chat_id)


def menu(role: Role, lang: str) -> tuple[MenuCommand, ...] | None:
    """The command menu of a role (None: the bot's default menu, a resident's)."""
    if role == "resident":
        return None
    names = COORDINATOR_MENU if role == "coordinator" else OFFICIAL_MENU
    return tuple(MenuCommand(name, t(f"coordinators.menu.{name}", lang)) for name in names)


async def require_coordinator(turn: Turn, *, key: bytes, command: str) -> Official | None:
    """The chat's coordinator binding; anyone else is refused (audited) and gets None."""
    official = await officials_repo.get_official(
        turn.session, channel=turn.channel, chat_id=turn.chat_id
    )
    if official is not None and official.role == "coordinator":
        return official
    role = role_of(official)
    await audit.record(
        turn.session,
        now=turn.now,
        role=role,
        actor=actor_of(key, official, turn.channel, turn.chat_id),
        action="refused",
        detail=f"/{command}",
    )
    turn.say("coordinators.roles.refused", command=command)
    return None
