"""Receiving from Zalo: long polling, and the webhook's callback.

Polling: one loop calls getUpdates (Zalo answers one update, or 408 after the timeout, which the
client turns into []); each update becomes an Inbound and is handed to `handle` — in `loa run`
the durable inbox, which stores and commits it — *before* the next getUpdates. Zalo has no
offset: an update is gone once delivered, so storing it before asking again is the most a
receiver can do; the inbox retries database faults for its whole window first. The loop
survives errors (logged by type, then a growing pause: 1 s doubling to 30 s, or Zalo's
retry_after); a 409 (webhook still set) removes the webhook; a 401 (the token was rejected)
stops polling with one line and calls `on_fatal`, since asking again can never succeed.

Webhook: Zalo POSTs the update with the secret given to setWebhook in the header
``X-Bot-Api-Secret-Token`` (the name in the Zalo Bot Platform docs and in public bot code; the
body may be the update itself or wrapped as ``{"ok": true, "result": update}`` — both are read).
The web server (`bot/web/server.py`) checks that header in constant time and calls
`handle_payload`; it answers 200 only after the update is stored, 5xx when handling failed (Zalo
may re-deliver; the core ignores a duplicate).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot.channels.base import Inbound, NotAnEvent
from bot.channels.zalo.client import (
    ZaloBadRequest,
    ZaloClient,
    ZaloError,
    ZaloUnauthorized,
)
from bot.channels.zalo.updates import to_inbound
from bot.clock import Clock

log = logging.getLogger(__name__)

WEBHOOK_SECRET_HEADER = "X-Bot-Api-Secret-Token"
InboundHandler = Callable[[Inbound], Awaitable[object]]


class ZaloReceiver:
    """Feeds Zalo updates to the core's handler, by long polling or through `handle_payload`."""

    def __init__(
        self,
        client: ZaloClient,
        handle: InboundHandler,
        clock: Clock,
        *,
        poll_seconds: int = 30,
        webhook_secret: str | None = None,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        on_fatal: Callable[[str], None] = lambda _line: None,
    ) -> None:
        self._client = client
        self._handle = handle
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._secret = webhook_secret
        self._on_fatal = on_fatal
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._loop_task: asyncio.Task[None] | None = None
        self.errors = 0  # polling errors seen, for tests and status

    @property
    def running(self) -> bool:
        """True while the polling loop runs."""
        return self._loop_task is not None and not self._loop_task.done()

    async def start(self) -> None:
        """Start long polling in the background (returns at once)."""
        if self.running:
            return
        self._loop_task = asyncio.create_task(self._poll_forever(), name="zalo-polling")

    async def stop(self) -> None:
        """Stop polling."""
        task, self._loop_task = self._loop_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def register_webhook(self, url: str) -> None:
        """Ask Zalo to POST updates to `url` with this receiver's secret (webhook mode)."""
        if not self._secret:
            raise ValueError("a webhook needs a secret token")
        await self._client.set_webhook(url, self._secret)

    async def handle_payload(self, payload: Mapping[str, Any]) -> None:
        """The webhook callback: one update as Zalo posted it (bare or wrapped in «result»),
        handed to `handle` (in `loa run`: stored and committed) before this returns. Raises
        NotAnEvent for a body that is not an update; an event Loa ignores is accepted."""
        result = payload.get("result")
        update = result if isinstance(result, Mapping) else payload
        if not isinstance(update, Mapping):
            raise NotAnEvent("not a Zalo update")
        inbound = to_inbound(update, now=self._clock.now())
        if inbound is not None:
            await self._handle(inbound)

    async def _poll_forever(self) -> None:
        pause = self._backoff_s
        clear_webhook = True
        while True:
            try:
                if clear_webhook:
                    await self._client.delete_webhook()
                    clear_webhook = False
                updates = await self._client.get_updates(self._poll_seconds)
            except asyncio.CancelledError:
                raise
            except ZaloUnauthorized:
                self._on_fatal("ZALO_BOT_TOKEN: rejected by Zalo (401); Zalo polling stopped")
                return
            except Exception as exc:
                self.errors += 1
                wait = pause
                if isinstance(exc, ZaloBadRequest):  # measured: 400 while a webhook is set
                    clear_webhook = True
                    log.warning("zalo: getUpdates refused (a webhook set?); removing the webhook")
                if isinstance(exc, ZaloError):
                    log.warning("zalo polling failed: %s %s", type(exc).__name__, exc.status)
                else:
                    log.error("zalo polling failed: %s", type(exc).__name__)
                await asyncio.sleep(wait)
                pause = min(pause * 2, self._max_backoff_s)
                continue
            pause = self._backoff_s
            for update in updates:
                await self._handle_update(update)

    async def _handle_update(self, update: Mapping[str, Any]) -> None:
        try:
            inbound = to_inbound(update, now=self._clock.now())
            if inbound is not None:
                await self._handle(inbound)
        except Exception as exc:
            log.error("a Zalo update could not be stored: %s", type(exc).__name__)
