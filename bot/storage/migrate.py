"""Alembic, driven from code: `loa db upgrade` and start-up both call `upgrade`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

from bot.storage.db import check_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str, *, schema: str | None = None) -> Config:
    """An Alembic Config for `url` without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if schema and not url.startswith("sqlite"):
        connect_args: dict[str, Any] = {"server_settings": {"search_path": schema}}
        config.attributes["connect_args"] = connect_args
    return config


def upgrade(url: str, revision: str = "head", *, schema: str | None = None) -> None:
    """Apply migrations up to `revision` (blocking; call from a thread inside an event loop)."""
    check_url(url)
    command.upgrade(alembic_config(url, schema=schema), revision)


def downgrade(url: str, revision: str, *, schema: str | None = None) -> None:
    """Revert migrations down to `revision`."""
    command.downgrade(alembic_config(url, schema=schema), revision)


async def upgrade_async(url: str, revision: str = "head", *, schema: str | None = None) -> None:
    """`upgrade` from inside a running event loop."""
    await asyncio.to_thread(upgrade, url, revision, schema=schema)
