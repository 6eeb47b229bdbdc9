"""`loa poster`: a printable A4 (PDF or PNG) per residential group, with a QR code per channel.

Each poster carries the campaign's title, one official slogan (verbatim; the groups take the
pack's slogans in turn), a QR code for each configured channel — the Telegram deep link that
pre-selects the group (`?start=g-<group slug>`, see bot/domain/deeplinks.py) and the Zalo Official
Account's follow link — the links in print, and one line of how-to in Vietnamese.

Rendered with matplotlib without pyplot (no display needed); its bundled DejaVu Sans has every
Vietnamese glyph, drawn into the PDF as Type 3 glyphs (matplotlib's default: embedding the
TrueType font instead made each poster 6x slower, almost all of it font subsetting). QR modules
are drawn as vector bars, so the code stays sharp at any print size.
"""

from __future__ import annotations

import io
import re
from argparse import Namespace
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import segno
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bot.adoption.files import AdoptionError, write_atomically
from bot.channels.telegram.identity import bot_username
from bot.config import Settings
from bot.domain.campaign import CampaignPack
from bot.domain.deeplinks import group_payload, telegram_start_link, zalo_follow_link
from bot.domain.text import closest, fold, fold_words
from messages import both, t

PosterFormat = Literal["pdf", "png"]
A4_INCHES = (8.27, 11.69)
PNG_DPI = 150
QUIET_ZONE = 4  # modules of white around a QR code (ISO/IEC 18004)


@dataclass(frozen=True)
class PosterLink:
    """One way in: the channel's name as printed, and the link its QR code holds."""

    channel: str
    url: str


def poster_links(
    pack: CampaignPack, number: int, *, bot_username: str | None, zalo_oa_id: str | None = None
) -> list[PosterLink]:
    """The links for group `number` (1-based): Telegram when a bot name is known, Zalo when an
    Official Account id is set."""
    name = pack.residential_groups.all_names()[number - 1]
    links = []
    if bot_username:
        links.append(PosterLink("Telegram", telegram_start_link(bot_username, group_payload(name))))
    if zalo_oa_id:
        links.append(PosterLink("Zalo", zalo_follow_link(zalo_oa_id)))
    return links


def find_group(pack: CampaignPack, text: str) -> int:
    """The 1-based number of the group named `text` (accents, case and spaces ignored)."""
    names = pack.residential_groups.all_names()
    wanted = fold(text)
    for number, name in enumerate(names, start=1):
        if fold(name) == wanted or fold_words(name) == fold_words(text):
            return number
    near = ", ".join(f"«{n}»" for n in closest(text, names)) or "-"
    raise AdoptionError("adoption.poster_no_group", name=text.strip()[:80], near=near)


def slogan_for(pack: CampaignPack, number: int) -> str:
    """One official slogan for group `number`: the pack's slogans taken in turn."""
    slogans = [s for group in pack.slogan_groups for s in group.slogans]
    return slogans[(number - 1) % len(slogans)] if slogans else ""


def dark_runs(matrix: Sequence[Sequence[int]]) -> list[list[tuple[int, int]]]:
    """Per row of a QR matrix, its dark modules as (first column, length) runs."""
    rows = []
    for cells in matrix:
        runs: list[tuple[int, int]] = []
        start = None
        for col, dark in enumerate([*cells, 0]):
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                runs.append((start, col - start))
                start = None
        rows.append(runs)
    return rows


def _draw_qr(ax: Axes, url: str) -> None:
    matrix = segno.make(url, error="m").matrix
    size = len(matrix) + 2 * QUIET_ZONE
    for row, runs in enumerate(dark_runs(matrix)):
        bars = [(x + QUIET_ZONE, width) for x, width in runs]
        y = size - QUIET_ZONE - row - 1
        ax.broken_barh(bars, (y, 1), facecolors="black", edgecolors="none", linewidth=0)
    ax.set_xlim(0, size)
    ax.set_ylim(0, size)
    ax.set_aspect("equal")
    ax.axis("off")


def _wrap(text: str, width: int) -> str:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines)


def render_poster(
    pack: CampaignPack, number: int, links: Sequence[PosterLink], fmt: PosterFormat
) -> bytes:
    """One A4 poster for group `number` as PDF or PNG bytes."""
    if not links:
        raise AdoptionError("adoption.poster_no_channel")
    info = pack.campaign
    group = pack.residential_groups.all_names()[number - 1]
    fig = Figure(figsize=A4_INCHES)
    fig.text(0.5, 0.95, info.locality.upper(), ha="center", va="top", fontsize=16, weight="bold")
    fig.text(0.5, 0.91, _wrap(info.title, 58), ha="center", va="top", fontsize=14, linespacing=1.4)
    fig.text(0.5, 0.80, group, ha="center", va="top", fontsize=30, weight="bold", color="#8b1a1a")
    slogan = slogan_for(pack, number)
    if slogan:
        fig.text(
            0.5,
            0.72,
            f"«{_wrap(slogan, 46)}»",
            ha="center",
            va="top",
            fontsize=17,
            style="italic",
            linespacing=1.4,
        )
    width = 0.36 if len(links) > 1 else 0.46
    for index, link in enumerate(links):
        centre = (index + 0.5) / len(links)
        ax = fig.add_axes((centre - width / 2, 0.28, width, width * A4_INCHES[0] / A4_INCHES[1]))
        _draw_qr(ax, link.url)
        fig.text(centre, 0.265, link.channel, ha="center", va="top", fontsize=16, weight="bold")
        fig.text(centre, 0.235, link.url, ha="center", va="top", fontsize=9)
    channels = {link.channel for link in links}
    if channels == {"Zalo"}:
        how_to = t("adoption.poster_how_to_zalo", "vi")
    else:
        key = "adoption.poster_how_to" if "Zalo" in channels else "adoption.poster_how_to_telegram"
        how_to = t(key, "vi", group=group)
    fig.text(0.5, 0.175, _wrap(how_to, 70), ha="center", va="top", fontsize=13, linespacing=1.5)
    fig.text(0.5, 0.04, t("adoption.poster_help", "vi"), ha="center", fontsize=10, color="#444444")
    out = io.BytesIO()
    fig.savefig(out, format=fmt, dpi=PNG_DPI, metadata=_metadata(fmt, info.title))
    return out.getvalue()


def _metadata(fmt: PosterFormat, title: str) -> dict[str, str]:
    # Fixed metadata: no creation date, so the same poster is the same file.
    if fmt == "pdf":
        return {"Title": title, "Creator": "Loa", "CreationDate": None}  # type: ignore[dict-item]
    return {"Title": title, "Software": "Loa"}


def poster_file_name(number: int, group: str, fmt: PosterFormat) -> str:
    """`poster-012-khoi-pho-12.pdf`: sorted like the list, readable, safe on every file system."""
    slug = re.sub(r"[^a-z0-9]+", "-", fold(group)).strip("-")[:60] or "group"
    return f"poster-{number:03d}-{slug}.{fmt}"


def write_posters(
    pack: CampaignPack,
    numbers: Sequence[int],
    out_dir: Path,
    fmt: PosterFormat,
    *,
    bot_username: str | None,
    zalo_oa_id: str | None,
) -> list[Path]:
    """Write one poster per group number into `out_dir` (each file whole or not at all)."""
    names = pack.residential_groups.all_names()
    written = []
    for number in numbers:
        links = poster_links(pack, number, bot_username=bot_username, zalo_oa_id=zalo_oa_id)
        path = out_dir / poster_file_name(number, names[number - 1], fmt)
        write_atomically(path, render_poster(pack, number, links, fmt), force=True)
        written.append(path)
    return written


async def run_poster_command(settings: Settings, pack: CampaignPack, args: Namespace) -> str:
    """`loa poster`: the groups (--list), or posters for one group or all; the line to print."""
    names = pack.residential_groups.all_names()
    if args.list:
        return "\n".join(f"{number:>4}  {name}" for number, name in enumerate(names, start=1))
    numbers = list(range(1, len(names) + 1)) if args.all_groups else [find_group(pack, args.group)]
    username = None
    if settings.telegram_bot_username or settings.telegram_token():
        username = await bot_username(settings)
    if username is None and not settings.zalo_oa_id:
        raise AdoptionError("adoption.poster_no_channel")
    written = write_posters(
        pack, numbers, args.out, args.format, bot_username=username, zalo_oa_id=settings.zalo_oa_id
    )
    return both("adoption.poster_written", count=len(written), dir=args.out)
