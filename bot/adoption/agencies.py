"""`loa agencies`: every agency of the pack, in Vietnamese order (numbers as numbers), with the
id an invite takes."""

from __future__ import annotations

from bot.domain.campaign import CampaignPack
from bot.domain.text import name_order


def agency_lines(pack: CampaignPack) -> list[str]:
    """One line per agency: id, name, type; reporting ones only are invited as officials."""
    agencies = sorted(pack.agencies, key=lambda a: name_order(a.name))
    width = max((len(a.id) for a in agencies), default=0)
    return [
        f"{a.id:<{width}}  {a.name}  ({a.type}{'' if a.reports else ', no report'})"
        for a in agencies
    ]
