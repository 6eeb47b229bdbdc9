"""The one web server: secrets, body caps, malformed bodies, 5xx on failure, /healthz."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.channels.base import NotAnEvent
from bot.clock import FakeClock
from bot.web.health import Activity, Health, flag_probe
from bot.web.server import MAX_BODY, Webhook, WebServer, build_app

TG_SECRET = "tg-secret_123"
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
ZALO_SECRET = "zalo-secret-456"
TG_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ZALO_HEADER = "X-Bot-Api-Secret-Token"


def clock() -> FakeClock:
    return FakeClock(START)


class Recorder:
    """The injected on_update: records calls; fails while `failing` is set."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failing = False

    async def __call__(self, channel: str, payload: dict[str, Any]) -> None:
        if self.failing:
            raise RuntimeError("database unreachable")
        if "update_id" not in payload and "event_name" not in payload and "result" not in payload:
            raise NotAnEvent("not an event")
        self.calls.append((channel, payload))


class Parts:
    """Flags the health probes read."""

    def __init__(self) -> None:
        self.scheduler = True
        self.dispatcher = True


@pytest.fixture
async def parts() -> Parts:
    return Parts()


@pytest.fixture
async def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def server(recorder: Recorder, parts: Parts) -> AsyncIterator[WebServer]:
    activity = Activity(clock())
    health = Health(
        {
            "scheduler": flag_probe(lambda: parts.scheduler),
            "dispatcher": flag_probe(lambda: parts.dispatcher),
        },
        activity,
        ["telegram", "zalo"],
    )
    hooks = [
        Webhook("telegram", "/telegram/hook", TG_SECRET, TG_HEADER),
        Webhook("zalo", "/zalo/hook", ZALO_SECRET, ZALO_HEADER),
    ]
    web = WebServer(build_app(hooks, recorder, health), listen="127.0.0.1", port=0)
    await web.start()
    try:
        yield web
    finally:
        await web.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(trust_env=False) as session:
        yield session


def url(server: WebServer, path: str) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


UPDATE = {"update_id": 1, "message": {"text": "xin chào"}}


async def test_each_path_checks_its_own_secret(
    server: WebServer, http: aiohttp.ClientSession, recorder: Recorder
) -> None:
    cases = [
        ("/telegram/hook", {}, 403),
        ("/telegram/hook", {TG_HEADER: "wrong"}, 403),
        ("/telegram/hook", {TG_HEADER: ZALO_SECRET}, 403),  # another channel's secret
        ("/zalo/hook", {ZALO_HEADER: TG_SECRET}, 403),
        ("/zalo/hook", {TG_HEADER: ZALO_SECRET}, 403),  # right secret, wrong header
        ("/telegram/hook", {TG_HEADER: TG_SECRET}, 200),
        ("/zalo/hook", {ZALO_HEADER: ZALO_SECRET}, 200),
    ]
    for path, headers, expected in cases:
        async with http.post(url(server, path), json=UPDATE, headers=headers) as response:
            assert response.status == expected, (path, headers)
    assert recorder.calls == [("telegram", UPDATE), ("zalo", UPDATE)]


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[1, 2]", b"42", b""])
async def test_malformed_bodies_are_400(
    server: WebServer, http: aiohttp.ClientSession, recorder: Recorder, body: bytes
) -> None:
    headers = {TG_HEADER: TG_SECRET, "Content-Type": "application/json"}
    async with http.post(url(server, "/telegram/hook"), data=body, headers=headers) as response:
        assert response.status == 400
    assert recorder.calls == []


async def test_a_10_mb_body_is_refused_and_the_server_stays_up(
    server: WebServer, http: aiohttp.ClientSession, recorder: Recorder
) -> None:
    body = b'{"x": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    async with http.post(
        url(server, "/zalo/hook"), data=io.BytesIO(body), headers={ZALO_HEADER: ZALO_SECRET}
    ) as response:
        assert response.status == 413
    assert recorder.calls == []
    async with http.post(
        url(server, "/zalo/hook"), json=UPDATE, headers={ZALO_HEADER: ZALO_SECRET}
    ) as response:
        assert response.status == 200


async def test_a_chunked_body_over_the_cap_is_refused_while_reading(
    server: WebServer, http: aiohttp.ClientSession, recorder: Recorder
) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: only reading can tell
        yield b'{"x": "'
        for _ in range(3 * MAX_BODY // 65536):
            yield b"a" * 65536
        yield b'"}'

    async with http.post(
        url(server, "/zalo/hook"), data=chunks(), headers={ZALO_HEADER: ZALO_SECRET}
    ) as response:
        assert response.status == 413
    assert recorder.calls == []


async def test_a_100_mb_announcement_is_refused_before_the_body_is_sent(
    server: WebServer, recorder: Recorder
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    head = (
        "POST /telegram/hook HTTP/1.1\r\nHost: loa\r\n"
        f"{TG_HEADER}: {TG_SECRET}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {100 * 1024 * 1024}\r\n\r\n"
    )
    writer.write(head.encode() + b'{"x": "')  # the rest of the 100 MB never comes
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    assert status_line.split()[1] == b"413"
    assert recorder.calls == []


async def test_wrong_secret_is_refused_without_reading_a_huge_body(
    server: WebServer, recorder: Recorder
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    head = f"POST /telegram/hook HTTP/1.1\r\nHost: loa\r\nContent-Length: {10**8}\r\n\r\n"
    writer.write(head.encode())
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    assert status_line.split()[1] == b"403"


async def test_unknown_paths_and_methods(server: WebServer, http: aiohttp.ClientSession) -> None:
    async with http.post(url(server, "/nothing"), json=UPDATE) as response:
        assert response.status == 404
    async with http.get(url(server, "/telegram/hook")) as response:
        assert response.status == 405


async def test_a_failing_callback_answers_500_so_the_platform_retries(
    server: WebServer, http: aiohttp.ClientSession, recorder: Recorder
) -> None:
    headers = {TG_HEADER: TG_SECRET}
    recorder.failing = True
    async with http.post(url(server, "/telegram/hook"), json=UPDATE, headers=headers) as response:
        assert response.status == 500
    recorder.failing = False
    async with http.post(url(server, "/telegram/hook"), json=UPDATE, headers=headers) as response:
        assert response.status == 200
    assert recorder.calls == [("telegram", UPDATE)]


async def test_json_that_is_no_event_is_400_not_a_retry(
    server: WebServer, http: aiohttp.ClientSession, recorder: Recorder
) -> None:
    """A 5xx would make the platform deliver the same useless body again and again."""
    headers = {TG_HEADER: TG_SECRET}
    async with http.post(url(server, "/telegram/hook"), json={"x": 1}, headers=headers) as response:
        assert response.status == 400
    assert recorder.calls == []


async def test_200_only_after_the_callback_returned(
    recorder: Recorder, http: aiohttp.ClientSession
) -> None:
    release = asyncio.Event()
    finished: list[str] = []

    async def slow(channel: str, payload: dict[str, Any]) -> None:
        await release.wait()
        finished.append(channel)

    health = Health({}, Activity(clock()), [])
    hooks = [Webhook("zalo", "/z", ZALO_SECRET, ZALO_HEADER)]
    web = WebServer(build_app(hooks, slow, health), listen="127.0.0.1", port=0)
    await web.start()
    try:
        request = asyncio.create_task(
            http.post(url(web, "/z"), json=UPDATE, headers={ZALO_HEADER: ZALO_SECRET})
        )
        await asyncio.sleep(0.05)
        assert not request.done()
        release.set()
        response = await request
        assert response.status == 200
        assert finished == ["zalo"]
        response.release()
    finally:
        await web.stop()


async def test_healthz_reports_each_part_and_503_when_one_is_down(
    server: WebServer, http: aiohttp.ClientSession, parts: Parts
) -> None:
    async with http.get(url(server, "/healthz")) as response:
        assert response.status == 200
        body = await response.json()
    assert body["ok"] is True
    assert body["checks"] == {"scheduler": True, "dispatcher": True}
    assert body["channels"]["zalo"] == {"last_sent": None, "last_received": None}
    parts.dispatcher = False
    async with http.get(url(server, "/healthz")) as response:
        assert response.status == 503
        body = json.loads(await response.text())
    assert body["ok"] is False
    assert body["checks"]["dispatcher"] is False


async def test_a_probe_that_raises_or_hangs_counts_as_down() -> None:
    async def broken() -> bool:
        raise OSError("connection refused")

    async def hanging() -> bool:
        await asyncio.sleep(10)
        return True

    async def fine() -> bool:
        return True

    health = Health(
        {"db": broken, "slow": hanging, "ok": fine}, Activity(clock()), [], timeout_s=0.05
    )
    report = await health.report()
    assert report["checks"] == {"db": False, "slow": False, "ok": True}
    assert report["ok"] is False


def test_two_webhooks_on_one_path_are_refused() -> None:
    health = Health({}, Activity(clock()), [])
    hooks = [Webhook("telegram", "/h", "a", TG_HEADER), Webhook("zalo", "/h", "b", ZALO_HEADER)]
    with pytest.raises(ValueError, match="own path"):
        build_app(hooks, Recorder(), health)


async def test_a_feature_can_add_its_own_route(http: aiohttp.ClientSession) -> None:
    async def file_link(request: web.Request) -> web.Response:
        return web.Response(text=f"file {request.match_info['token']}")

    health = Health({}, Activity(clock()), [])
    app = build_app([], Recorder(), health, more=[web.get("/files/{token}", file_link)])
    server = WebServer(app, listen="127.0.0.1", port=0)
    await server.start()
    try:
        async with http.get(url(server, "/files/abc")) as response:
            assert (response.status, await response.text()) == (200, "file abc")
    finally:
        await server.stop()
