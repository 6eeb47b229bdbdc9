"""Residential groups renamed in the pack: residents are stored by group name, so `loa run`
moves those who picked a name the pack has since renamed (`residential_groups.renamed`), and
says which names still hold residents the pack no longer lists."""

from __future__ import annotations

import logging

from bot.domain.campaign import CampaignPack
from bot.residents import repository
from bot.storage.db import Database

log = logging.getLogger(__name__)


async def follow_group_renames(db: Database, pack: CampaignPack) -> int:
    """Apply the pack's renames; returns how many residents moved. Logs group names only
    (they come from the pack, not from people) and counts."""
    groups = pack.residential_groups
    async with db.session() as session:
        moved = await repository.rename_groups(session, groups.renamed)
        unlisted = await repository.unlisted_groups(session, groups.all_names())
    if moved:
        log.info("residential groups renamed in the pack: %d residents moved", moved)
    if unlisted:
        names = ", ".join(f"{name!r} ({count})" for name, count in sorted(unlisted.items()))
        log.warning(
            "residents in groups the pack does not list: %s; if a group was renamed, add it "
            "under residential_groups.renamed",
            names,
        )
    return moved
