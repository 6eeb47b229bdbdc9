"""The OA webhook, independent of any web framework: raw body and signature in, status out.

Checks, in order: the body is a JSON object (400), the signature matches (401), the event's
timestamp is within `max_age` of now (400: stale or from the future — a captured event cannot be
replayed later), the event was not already handled (200, ignored). Then the event becomes an
Inbound and is awaited through `handle` (the durable inbox or the conversation); 200 only after it
returned, 500 if it raised (Zalo may deliver again; the event key de-duplicates it). Unknown
events are answered 200 and counted, so Zalo does not disable the webhook.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.channels.base import Inbound
from bot.channels.zalo_oa.events import event_key, is_known, parse_event, timestamp_ms
from bot.channels.zalo_oa.signature import verify_signature
from bot.clock import Clock

log = logging.getLogger(__name__)

MAX_AGE = timedelta(minutes=10)  # covers Zalo's first two re-deliveries (30 s, 5 min)
SEEN_LIMIT = 200_000

InboundHandler = Callable[[Inbound], Awaitable[object]]


class OaWebhook:
    """Verifies and parses OA webhook deliveries and hands them to the core."""

    def __init__(
        self,
        *,
        app_id: str,
        secret: str,
        handle: InboundHandler,
        clock: Clock,
        max_age: timedelta = MAX_AGE,
        concurrency: int = 1,
    ) -> None:
        self._app_id = app_id
        self._secret = secret
        self._handle = handle
        self._clock = clock
        self._max_age = max_age
        # Events handed on at once. With the inbox (a group commit) 8 is fine; a handler that
        # runs whole turns on SQLite does best with 1 (many writers wait on SQLite's lock).
        self._slots = asyncio.Semaphore(concurrency)
        self._seen: OrderedDict[str, float] = OrderedDict()  # event key → received (epoch s)
        self.counts: Counter[str] = Counter()

    async def handle(self, body: bytes, signature: str | None) -> int:
        """Handle one POST; returns the HTTP status to answer with."""
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return self._refuse("malformed", 400)
        if not isinstance(payload, dict):
            return self._refuse("malformed", 400)
        stamp = payload.get("timestamp")
        stamp_text = str(stamp) if isinstance(stamp, str | int) else ""
        if not verify_signature(
            signature, app_id=self._app_id, body=body, timestamp=stamp_text, secret=self._secret
        ):
            return self._refuse("bad_signature", 401)
        now = self._clock.now()
        sent_ms = timestamp_ms(payload)
        if sent_ms is None or abs(now.timestamp() - sent_ms / 1000) > self._max_age.total_seconds():
            return self._refuse("stale", 400)
        key = event_key(payload)
        self._forget_old(now.timestamp())
        if key in self._seen:
            self.counts["replayed"] += 1
            return 200
        if not is_known(payload):
            self.counts["unknown_event"] += 1
            # an event name is not personal data; it tells the operator what Zalo added
            log.warning(
                "zalo oa: unknown webhook event %r ignored", str(payload.get("event_name"))[:40]
            )
            return 200
        inbound = parse_event(payload, now=now)
        if inbound is not None:
            try:
                async with self._slots:
                    await self._handle(inbound)
            except Exception as exc:
                log.error("zalo oa: handling a webhook event failed (%s)", type(exc).__name__)
                self.counts["failed"] += 1
                return 500
        self._seen[key] = now.timestamp()
        self.counts["accepted"] += 1
        return 200

    def _refuse(self, reason: str, status: int) -> int:
        self.counts[reason] += 1
        log.warning("zalo oa: webhook refused (%s)", reason)
        return status

    def _forget_old(self, now_s: float) -> None:
        horizon = now_s - 2 * self._max_age.total_seconds()
        while self._seen and (
            next(iter(self._seen.values())) < horizon or len(self._seen) > SEEN_LIMIT
        ):
            self._seen.popitem(last=False)
