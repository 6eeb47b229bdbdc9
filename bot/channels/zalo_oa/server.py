"""The OA's webhook route on the one web server (`bot/web/`): it only calls `OaWebhook.handle`
with the raw body and the signature header, and answers its status.

`POST /webhooks/zalo-oa`; a body above `MAX_BODY` is refused with 413 before it is read whole
(an OA event is a few kilobytes; the web application's `client_max_size` stops a chunked one).
The OA's own signature check stays in `OaWebhook`: this route has no secret header of its own.
"""

from __future__ import annotations

from aiohttp import web

from bot.channels.zalo_oa.signature import HEADER
from bot.channels.zalo_oa.webhook import OaWebhook

PATH = "/webhooks/zalo-oa"
MAX_BODY = 1024 * 1024


def oa_route(webhook: OaWebhook, *, max_body: int = MAX_BODY) -> web.RouteDef:
    """`POST /webhooks/zalo-oa` for `bot.web.server.build_app(..., more=[...])`."""

    async def handle(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > max_body:
            return web.Response(status=413)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413)
        status = await webhook.handle(body, request.headers.get(HEADER))
        return web.Response(status=status)

    return web.post(PATH, handle)


def oa_app(webhook: OaWebhook, *, max_body: int = MAX_BODY) -> web.Application:
    """An application serving only the OA's route (the demo and tests; `loa run` adds the
    route to the one web server with the others)."""
    app = web.Application(client_max_size=max_body)
    app.add_routes([oa_route(webhook, max_body=max_body)])
    return app
