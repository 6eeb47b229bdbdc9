"""Deep links into the bot: `https://t.me/<bot>?start=<payload>` opens the chat and sends
`/start <payload>` (Telegram Bot API, "Deep linking": payload up to 64 characters of A-Z, a-z,
0-9, _ and -). A residential group's poster carries `g-` and the group name's accent-free slug
(«Khối phố 12» → `g-khoi-pho-12`), so a pack whose groups are later reordered or extended still
sends every printed poster's residents to their own group. Invite codes are 10 upper-case
characters, so the two never collide."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from bot.domain.text import fold

GROUP_PREFIX = "g-"
_SLUG_MAX = 48  # with the prefix, well under Telegram's 64


def group_payload(name: str) -> str:
    """The start payload that pre-selects the residential group named `name`.

    A name whose slug is too long (or has no letter or digit) keeps its first words and gains
    8 hex digits of its hash, so the payload stays unique and within Telegram's limit.
    """
    folded = fold(name)
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")
    if not slug or len(slug) > _SLUG_MAX:
        digest = hashlib.sha256(folded.encode()).hexdigest()[:8]
        slug = "-".join(part for part in (slug[: _SLUG_MAX - 9].rstrip("-"), digest) if part)
    return GROUP_PREFIX + slug


def is_group_payload(payload: str) -> bool:
    """Whether `payload` is a group link's (known group or not), not an invite code."""
    return payload.strip().startswith(GROUP_PREFIX)


def find_group(payload: str, names: Sequence[str]) -> str | None:
    """The group whose link is `payload`; None when it is not a group link, names no group of
    this pack, or (two names with one slug) is ambiguous."""
    wanted = payload.strip()
    if not wanted.startswith(GROUP_PREFIX):
        return None
    found = [name for name in names if group_payload(name) == wanted]
    return found[0] if len(found) == 1 else None


def telegram_start_link(bot_username: str, payload: str) -> str:
    """`https://t.me/<bot>?start=<payload>`."""
    return f"https://t.me/{bot_username.lstrip('@')}?start={payload}"


def zalo_follow_link(oa_id: str) -> str:
    """The Zalo Official Account's page, where a resident follows it: `https://zalo.me/<oa id>`."""
    return f"https://zalo.me/{oa_id}"
