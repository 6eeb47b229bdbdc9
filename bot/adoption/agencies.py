"""`loa agencies`: every agency of the pack, in Vietnamese order (numbers as numbers), with the
id an invite takes."""

from __future__ import annotations

from bot.domain.campaign import CampaignPack
from bot.domain.text import name_order
from messages import t


def agency_lines(pack: CampaignPack, lang: str = "vi") -> list[str]:
    """One line per agency: id, name, type (its words, then the id `type:` audiences take);
    reporting ones only are invited as officials."""
    agencies = sorted(pack.agencies, key=lambda a: name_order(a.name))
    width = max((len(a.id) for a in agencies), default=0)
    lines = []
    for a in agencies:
        kind = f"{t(f'agencies.type.{a.type}', lang)}: {a.type}"
        note = "" if a.reports else f"; {t('agencies.cli.no_report', lang)}"
        lines.append(f"{a.id:<{width}}  {a.name}  ({kind}{note})")
    return lines
