"""A small HTTP server for Telegram's webhook, on tornado (installed with python-telegram-bot's
webhooks extra); it only calls `TelegramReceiver.handle_webhook`, which answers 200 after the
update is committed to the inbox.

Bodies above `MAX_BODY` are refused by tornado before they are read whole (a Telegram update is
a few kilobytes; 1 MiB leaves room for the largest).
"""

from __future__ import annotations

from tornado.httpserver import HTTPServer
from tornado.web import Application, RequestHandler

from bot.channels.telegram.receiver import WEBHOOK_SECRET_HEADER, TelegramReceiver

MAX_BODY = 1024 * 1024


def webhook_path(url: str) -> str:
    """The path part of the public webhook URL («https://host/hook» → «/hook»)."""
    rest = url.split("://", 1)[-1]
    path = rest.partition("/")[2]
    return "/" + path.strip("/")


class _Hook(RequestHandler):
    def initialize(self, receiver: TelegramReceiver, secret: str) -> None:
        self._receiver = receiver
        self._secret = secret

    async def post(self) -> None:
        status = await self._receiver.handle_webhook(
            self.request.body, self.request.headers.get(WEBHOOK_SECRET_HEADER), self._secret
        )
        self.set_status(status)
        self.finish()

    def log_exception(self, *args: object) -> None:
        return None  # tornado would print the request; handle_webhook logs by type only


class TelegramWebhookServer:
    """Serves POST <path> for Telegram."""

    def __init__(self, receiver: TelegramReceiver, secret: str) -> None:
        self._receiver = receiver
        self._secret = secret
        self._server: HTTPServer | None = None

    async def start(self, *, listen: str, port: int, path: str) -> None:
        """Listen on listen:port (raises OSError when the port is taken)."""
        app = Application(
            [(path, _Hook, {"receiver": self._receiver, "secret": self._secret})],
            log_function=lambda _handler: None,
        )
        self._server = HTTPServer(app, max_body_size=MAX_BODY, xheaders=True)
        self._server.listen(port, address=listen)

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
