"""A small HTTP server for the OA's webhook on tornado (as Telegram's): it only calls
`OaWebhook.handle` with the raw body and the signature header, and answers its status.

`POST /webhooks/zalo-oa`; bodies above `MAX_BODY` are refused by tornado before they are read
whole (an OA event is a few kilobytes).
"""

from __future__ import annotations

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from bot.channels.zalo_oa.signature import HEADER
from bot.channels.zalo_oa.webhook import OaWebhook

PATH = "/webhooks/zalo-oa"
MAX_BODY = 1024 * 1024


class _Hook(RequestHandler):
    def initialize(self, webhook: OaWebhook) -> None:
        self._webhook = webhook

    async def post(self) -> None:
        status = await self._webhook.handle(self.request.body, self.request.headers.get(HEADER))
        self.set_status(status)
        self.finish()

    def log_exception(self, *args: object) -> None:
        return None  # tornado would print the request; the webhook logs by kind only


class OaWebhookServer:
    """Serves POST /webhooks/zalo-oa."""

    def __init__(self, webhook: OaWebhook) -> None:
        self._webhook = webhook
        self._server: HTTPServer | None = None
        self.port = 0

    async def start(self, *, listen: str, port: int) -> None:
        """Listen on listen:port (raises OSError when the port is taken); port 0 picks one."""
        app = Application([(PATH, _Hook, {"webhook": self._webhook})], log_function=lambda _: None)
        self._server = HTTPServer(app, max_body_size=MAX_BODY, xheaders=True)
        bound = bind_sockets(port, address=listen)
        self._server.add_sockets(bound)
        self.port = int(bound[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
