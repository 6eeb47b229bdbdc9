"""The broadcast preview as the coordinator reads it, without flooding the chat.

The text comes in full as the coordinator's own channel shows it (the messages above the
preview). Every channel with recipients gets a line with its people and messages; a channel
that cuts the text otherwise than the coordinator's own gets one line per message showing where
it begins and ends (the exact cut points of that channel's splitting), and a button that shows
its messages in full on demand, leaving the confirm step as it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.channels.base import Choice
from bot.coordinators.broadcasts import Preview
from bot.coordinators.buttons import ViewButton
from messages import channel_name, t

SNIPPET = 40  # about this many characters are shown at each end of a message
WHOLE = 2 * SNIPPET + 20  # a message this short is shown whole on its line


def _head(flat: str) -> str:
    """About the first SNIPPET characters, ending at a word break when one is near."""
    head = flat[:SNIPPET]
    if len(flat) > SNIPPET and flat[SNIPPET] != " ":
        space = head.rfind(" ")
        if space >= SNIPPET // 2:
            head = head[:space]
    return head.rstrip()


def _tail(flat: str) -> str:
    """About the last SNIPPET characters, starting at a word break when one is near."""
    tail = flat[-SNIPPET:]
    if len(flat) > SNIPPET and flat[-SNIPPET - 1] != " ":
        space = tail.find(" ")
        if 0 <= space <= SNIPPET // 2:
            tail = tail[space + 1 :]
    return tail.lstrip()


def cut_lines(parts: Sequence[str], lang: str) -> list[str]:
    """One line per message: how it begins and how it ends («…» where the text goes on in the
    message before or after it)."""
    lines = []
    count = len(parts)
    for n, part in enumerate(parts, 1):
        flat = " ".join(part.split())
        before = "…" if n > 1 else ""
        after = "…" if n < count else ""
        if len(flat) <= WHOLE:
            text = f"{before}{flat}{after}"
            lines.append(t("coordinators.broadcast.cut_whole", lang, n=n, count=count, text=text))
            continue
        head, tail = before + _head(flat), _tail(flat) + after
        lines.append(t("coordinators.broadcast.cut", lang, n=n, count=count, head=head, tail=tail))
    return lines


def views(shown: Preview, own_parts: Sequence[str]) -> dict[str, int]:
    """Channels that cut the text otherwise than the coordinator's own: their message counts."""
    return {
        channel: len(parts)
        for channel, parts in shown.parts.items()
        if list(parts) != list(own_parts)
    }


def preview_text(shown: Preview, own_parts: Sequence[str], *, audience: str, lang: str) -> str:
    """The preview message: recipients per channel, and where the other channels cut."""
    others = views(shown, own_parts)
    lines = []
    for channel, people in shown.per_channel.items():
        key = "per_channel" if channel in others else "per_channel_same"
        parts = shown.parts[channel]
        name = channel_name(channel, lang)
        lines.append(
            t(f"coordinators.broadcast.{key}", lang, channel=name, people=people, parts=len(parts))
        )
        if channel in others:
            lines += cut_lines(parts, lang)
    if shown.oa_now or shown.oa_held:  # Zalo OA: who gets it now, who when they write again
        key = "coordinators.broadcast.preview_oa"
        lines.append(t(key, lang, now=shown.oa_now, held=shown.oa_held))
    return t(
        "coordinators.broadcast.preview",
        lang,
        audience=audience,
        total=len(shown.recipients),
        lines="\n".join(lines),
    )


def view_choices(counts: Mapping[str, int], lang: str) -> list[Choice]:
    """A «see the <channel> version (N messages)» button per channel that cuts otherwise."""
    key = "coordinators.broadcast.view_button"
    return [
        Choice(
            t(key, lang, channel=channel_name(channel, lang), parts=count),
            ViewButton(channel=channel).pack(),
        )
        for channel, count in counts.items()
    ]


def view_head(channel: str, count: int, *, resplit: bool, lang: str) -> str:
    """What comes before a channel's messages shown in full (`resplit`: the coordinator's own
    channel is shorter, so one of those messages may show here as several)."""
    key = "view_head_resplit" if resplit else "view_head"
    name = channel_name(channel, lang)
    return t(f"coordinators.broadcast.{key}", lang, channel=name, parts=count)
