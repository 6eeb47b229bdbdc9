"""`GET /files/…` on the one web server: a signed link serves its file; an altered, expired or
purged one gets the same 404."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.clock import FakeClock
from bot.coordinators import links
from bot.coordinators.export.files import ExportFile
from bot.coordinators.filestore import FileStore
from bot.web.files import file_routes
from bot.web.health import Activity, Health
from bot.web.server import WebServer, build_app

KEY = b"k" * 32
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[WebServer, FileStore, FakeClock]]:
    clock = FakeClock(START)
    store = FileStore(tmp_path / "files")
    health = Health({}, Activity(clock), [])
    app = build_app([], _no_update, health, more=file_routes(KEY, store, clock))
    server = WebServer(app, listen="127.0.0.1", port=0)
    await server.start()
    try:
        yield server, store, clock
    finally:
        await server.stop()


async def _no_update(channel: str, payload: dict[str, object]) -> None:
    raise AssertionError("no webhook here")


async def test_a_signed_link_serves_its_file_and_nothing_else_does(
    served: tuple[WebServer, FileStore, FakeClock],
) -> None:
    server, store, clock = served
    stored = store.save(ExportFile("báo cáo 20-11.xlsx", XLSX, b"PK\x03\x04 report"))
    path = links.signed_path(KEY, stored, now=clock.now())
    base = f"http://127.0.0.1:{server.port}"
    file_id, expires, sig = path.split("/")[2:5]
    async with aiohttp.ClientSession(trust_env=False) as http:
        async with http.get(base + path) as response:
            assert response.status == 200
            assert await response.read() == b"PK\x03\x04 report"
            assert response.headers["Content-Type"] == XLSX
            assert "attachment" in response.headers["Content-Disposition"]
        altered = f"/files/{file_id}/{expires}/{'0' * len(sig)}/x.xlsx"
        later = f"/files/{file_id}/{int(expires) + 60}/{sig}/x.xlsx"
        for wrong in (altered, later):
            async with http.get(base + wrong) as response:
                assert response.status == 404, wrong
        clock.advance(links.LINK_TTL + timedelta(seconds=1))
        async with http.get(base + path) as response:
            assert response.status == 404  # expired
        clock.set(START)
        shutil.rmtree(stored.path.parent)
        async with http.get(base + path) as response:
            assert response.status == 404  # purged
