"""The one HTTP server of `loa run` (aiohttp.web): every webhook, `GET /healthz`, and later links.

Each webhook route checks its own secret header in constant time before anything else, refuses a
body over `max_body` bytes before reading it (413: by its Content-Length, or while reading a
chunked one), answers 400 to a body that is not a JSON object, and otherwise awaits
`on_update(channel, payload)`: 200 only after it returned, 500 when it raised, so the platform
delivers the update again. Unknown paths get 404, other methods 405 (aiohttp's own answers).
Nothing here logs a header, a body or a path (paths may hold secrets): only the channel and the
status.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.channels.base import NotAnEvent
from bot.web.health import Health

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # a Telegram or Zalo update is a few kilobytes; 1 MB is generous
OnUpdate = Callable[[str, dict[str, Any]], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Webhook:
    """One webhook route: the channel it feeds, its path, and the header carrying its secret."""

    channel: str
    path: str
    secret: str
    header: str


def _problem(status: int, reason: str) -> web.Response:
    return web.json_response({"ok": False, "error": reason}, status=status)


def _webhook_handler(
    hook: Webhook, on_update: OnUpdate, max_body: int
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    expected = hook.secret.encode()

    async def handle(request: web.Request) -> web.StreamResponse:
        supplied = request.headers.get(hook.header, "").encode()
        if not supplied or not hmac.compare_digest(supplied, expected):
            return _problem(403, "forbidden")
        if request.content_length is not None and request.content_length > max_body:
            return _problem(413, "body too large")
        try:
            body = await request.read()  # the app's client_max_size stops a chunked body early
        except web.HTTPRequestEntityTooLarge:
            return _problem(413, "body too large")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _problem(400, "malformed JSON")
        if not isinstance(payload, dict):
            return _problem(400, "not a JSON object")
        try:
            await on_update(hook.channel, payload)
        except NotAnEvent:
            return _problem(400, "not an event of this platform")
        except Exception as exc:
            log.error("webhook %s: handling failed (%s)", hook.channel, type(exc).__name__)
            return _problem(500, "not handled; deliver again")
        return web.json_response({"ok": True})

    return handle


def build_app(
    webhooks: Sequence[Webhook],
    on_update: OnUpdate,
    health: Health,
    *,
    max_body: int = MAX_BODY,
    more: Sequence[web.AbstractRouteDef] = (),
) -> web.Application:
    """The aiohttp application: one POST route per webhook, GET /healthz, and `more` routes
    (e.g. signed file links) a feature provides."""
    paths = [hook.path for hook in webhooks]
    if len(set(paths)) != len(paths) or "/healthz" in paths:
        raise ValueError("every webhook needs its own path")
    app = web.Application(client_max_size=max_body)
    for hook in webhooks:
        app.router.add_post(hook.path, _webhook_handler(hook, on_update, max_body))

    async def healthz(_: web.Request) -> web.Response:
        report = await health.report()
        return web.json_response(report, status=200 if report["ok"] else 503)

    app.router.add_get("/healthz", healthz)
    app.add_routes(more)
    return app


class WebServer:
    """Runs `build_app`'s application on one address and port until `stop()`."""

    def __init__(self, app: web.Application, *, listen: str, port: int) -> None:
        self._app = app
        self._listen = listen
        self._port = port
        # a refused body is drained for at most 2 s, then the connection is closed
        self._runner = web.AppRunner(app, access_log=None, lingering_time=2.0)
        self._site: web.TCPSite | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when started on port 0)."""
        addresses = self._runner.addresses if self._site is not None else []
        return int(addresses[0][1]) if addresses else self._port

    async def start(self) -> None:
        """Bind and serve in the background."""
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self._listen, self._port)
        await self._site.start()
        log.info("web server listening on %s:%d", self._listen, self.port)

    async def stop(self) -> None:
        """Stop accepting, finish what is in flight, close (nothing to do if never started)."""
        if self._runner.server is not None:
            await self._runner.cleanup()
        self._site = None
