"""The board as a chat message (Vietnamese or English), short enough for Zalo's 2,000 characters
in the usual case; longer boards are split on lines by the channel like any long text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.clock import format_vn_datetime
from bot.domain.campaign import in_lang
from bot.domain.numbers import format_count
from bot.reporting.gaps import gap_lines
from bot.reporting.reports import deadline_title, format_due
from messages import channel_name, t

if TYPE_CHECKING:
    from bot.coordinators.board import Board, DeadlineBoard, Reach, TargetProgress
    from bot.delivery.templates import TemplateCounts


def _figure(value: float) -> str:
    """1.500 for whole numbers, 97,9 otherwise (Vietnamese decimal comma)."""
    if value == int(value):
        return format_count(int(value))
    return f"{value:.1f}".replace(".", ",")


def deadline_lines(item: DeadlineBoard, lang: str) -> list[str]:
    """One deadline's block: title, counts, the missing agencies grouped by type."""
    fields = {"deadline": deadline_title(item.deadline, lang), "due": format_due(item.deadline)}
    lines = [t("coordinators.board.deadline", lang, **fields)]
    lines.append(
        t(
            "coordinators.board.counts",
            lang,
            expected=item.expected,
            submitted=item.submitted,
            on_time=item.on_time,
            late=item.late,
            missing=item.missing,
        )
    )
    if item.expected and not item.missing:
        lines.append(t("coordinators.board.all_sent", lang))
    elif item.missing:
        key = "coordinators.board.missing_late" if item.past else "coordinators.board.missing"
        lines.append(t(key, lang))
        lines += gap_lines(item.gaps, lang)
    return lines


def reach_lines(reach: Reach, kind: str, lang: str) -> list[str]:
    """What Loa delivered, in aggregate."""
    channels = ", ".join(
        f"{channel_name(name, lang)} {format_count(count)}"
        for name, count in reach.by_channel().items()
    )
    channels = f" ({channels})" if channels else ""
    total = sum(reach.subscribers.values())
    return [
        t("coordinators.board.reach_head", lang),
        t(
            "coordinators.board.posts",
            lang,
            quarter=reach.quarter,
            year=reach.year,
            posts=reach.posts_this_quarter,
            posts_year=reach.posts_this_year,
        ),
        t(
            "coordinators.board.groups_reached",
            lang,
            kind=kind[:1].upper() + kind[1:],
            year=reach.year,
            reached=reach.groups_reached,
            total=reach.groups_total,
            percent=_figure(round(reach.groups_reached_percent, 1)),
        ),
        t(
            "coordinators.board.subscribers",
            lang,
            total=format_count(total),
            channels=channels,
            kind=kind,
            with_subscribers=reach.groups_with_subscribers(),
            groups=reach.groups_total,
        ),
        *_oa_lines(reach, lang),
    ]


def _oa_lines(reach: Reach, lang: str) -> list[str]:
    """The Zalo OA's residents by reachability (its 7-day window), counts only."""
    oa = reach.oa
    if oa is None:
        return []
    return [
        t(
            "zalo_oa.board_line",
            lang,
            inside=format_count(oa.in_window),
            outside=format_count(oa.out_of_window),
            gone=format_count(oa.not_following),
            skipped=format_count(sum(oa.skipped.values())),
            held=format_count(oa.held),
        ),
        *_template_lines(oa.templates, lang),
    ]


def _template_lines(counts: TemplateCounts | None, lang: str) -> list[str]:
    """The OA's template notices today, when its template lane is on."""
    if counts is None:
        return []
    return [
        t(
            "zalo_oa.board_templates",
            lang,
            sent=format_count(counts.sent_today),
            quota=format_count(counts.daily_quota),
            waiting=format_count(counts.waiting),
        )
    ]


def target_line(progress: TargetProgress, lang: str) -> str:
    """A target, with Loa's figure when it can count it."""
    target = progress.target
    text = in_lang(lang, target.text, target.text_en)
    if progress.measured is None:
        return t("coordinators.board.target_unmeasured", lang, text=text)
    key = (
        "coordinators.board.target_met"
        if progress.measured >= target.value
        else "coordinators.board.target_open"
    )
    return t(key, lang, text=text, measured=_figure(progress.measured), value=_figure(target.value))


def render_board(board: Board, lang: str) -> str:
    """The whole board as one text."""
    pack = board.pack
    lines = [
        t(
            "coordinators.board.title",
            lang,
            locality=pack.campaign.locality,
            at=format_vn_datetime(board.generated_at),
        )
    ]
    if not board.deadlines:
        lines.append(t("coordinators.board.no_deadlines", lang))
    for item in board.deadlines:
        lines.append("")
        lines += deadline_lines(item, lang)
    lines.append("")
    lines += reach_lines(board.reach, pack.residential_groups.kind, lang)
    if board.targets:
        lines.append(t("coordinators.board.targets_head", lang))
        lines += [target_line(progress, lang) for progress in board.targets]
    return "\n".join(lines)
