"""A campaign's life: coming, running or over on Vietnam's calendar, and what to do when it is over.

A pack is *running* from its window's first day until its last report deadline (the window's
last day when it has none): officials still report after the window closes, so `loa run` must
keep serving them. After that it is *over*, and `loa run` / `loa invite` refuse it unless told
`--allow-ended` (for testing), naming this year's pack or the command that makes one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.clock import VN_TZ
from bot.domain.campaign import CampaignPack, CampaignState, window_state
from messages import both, t
from messages.packs import PackSummary, list_packs


def vn_today(now: datetime) -> date:
    """The calendar date in Vietnam at `now`."""
    return now.astimezone(VN_TZ).date()


def pack_state(pack: CampaignPack, today: date) -> CampaignState:
    """coming, running or over on `today`."""
    last_due = max((d.due for d in pack.deadlines), default=None)
    return pack.campaign.state_on(today, last_due)


def summary_state(summary: PackSummary, today: date) -> CampaignState:
    """The state of a listed pack on `today`."""
    return window_state(summary.start, summary.end, summary.last_due, today)


def _state_words(summary: PackSummary, today: date, lang: str) -> str:
    state = summary_state(summary, today)
    if state == "running" and today > summary.end and summary.last_due is not None:
        return t("adoption.state_reporting", lang, due=f"{summary.last_due:%d/%m/%Y}")
    return t(f"adoption.state_{state}", lang)


def list_lines(today: date, summaries: list[PackSummary] | None = None) -> list[str]:
    """`loa campaign list`: one line per pack with its window and state on `today`."""
    lines = []
    for summary in summaries if summaries is not None else list_packs():
        state = f"{_state_words(summary, today, 'vi')} / {_state_words(summary, today, 'en')}"
        lines.append(
            f"{summary.id:<22} {summary.start:%d/%m/%Y}–{summary.end:%d/%m/%Y}  {state:<38} "
            f"{summary.locality}, {summary.year}  ({summary.file.name})"
        )
    return lines


@dataclass(frozen=True)
class Successor:
    """A pack of the same locality that is running or coming, if one is shipped."""

    id: str
    state: CampaignState


def successor(pack: CampaignPack, today: date, summaries: list[PackSummary]) -> Successor | None:
    """The latest running or coming pack for the same locality as `pack`."""
    candidates = [
        s
        for s in summaries
        if s.locality == pack.campaign.locality
        and s.id != pack.campaign.id
        and summary_state(s, today) != "over"
    ]
    if not candidates:
        return None
    best = max(candidates, key=lambda s: (s.year, s.start))
    return Successor(best.id, summary_state(best, today))


def ended_refusal(
    pack: CampaignPack, today: date, summaries: list[PackSummary] | None = None
) -> str | None:
    """Why `pack` must not be served on `today` and how to start this year's; None when it may."""
    if pack_state(pack, today) != "over":
        return None
    last = max([pack.campaign.end, *(d.due for d in pack.deadlines)])
    found = successor(pack, today, summaries if summaries is not None else list_packs())
    fields: dict[str, object] = {"id": pack.campaign.id, "last": f"{last:%d/%m/%Y}"}
    if found is not None:
        return both("adoption.ended_use", new=found.id, **fields)
    return both("adoption.ended_roll", year=today.year, **fields)
