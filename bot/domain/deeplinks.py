"""Deep links into the bot: `https://t.me/<bot>?start=<payload>` opens the chat and sends
`/start <payload>` (Telegram Bot API, "Deep linking": payload up to 64 characters of A-Z, a-z,
0-9, _ and -). A residential group's poster carries `g<number>`, its 1-based place in the pack's
list of groups; invite codes are 10 upper-case characters, so the two never collide."""

from __future__ import annotations

import re

GROUP_PAYLOAD = re.compile(r"^g([1-9][0-9]{0,4})$")


def group_payload(number: int) -> str:
    """The start payload that pre-selects residential group `number` (1-based)."""
    if number < 1:
        raise ValueError("group numbers start at 1")
    return f"g{number}"


def group_number(payload: str) -> int | None:
    """The group number of a `g<number>` payload, or None when `payload` is not one."""
    match = GROUP_PAYLOAD.match(payload.strip())
    return int(match.group(1)) if match else None


def telegram_start_link(bot_username: str, payload: str) -> str:
    """`https://t.me/<bot>?start=<payload>`."""
    return f"https://t.me/{bot_username.lstrip('@')}?start={payload}"


def zalo_follow_link(oa_id: str) -> str:
    """The Zalo Official Account's page, where a resident follows it: `https://zalo.me/<oa id>`."""
    return f"https://zalo.me/{oa_id}"
