"""The OA sender: consultation messages, choices as OA buttons, Zalo's error codes mapped.

A message with 1–4 choices goes as a button template whose buttons are ``oa.query.show`` with the
label as payload, so a tap comes back as that text and is read like a typed label; more choices,
or buttons switched off, go as numbered text (a typed «2» picks the second). Texts are cut at
2,000 characters; the buttons ride on the last part. If the OA refuses the button template as a
kind (-201/-233: the button template on v3 is not in Zalo's official text), the message goes again
as numbered text and buttons stay off for this process.

Zalo's error codes (HTTP 200, negative `error`) → what the dispatcher does:
    -216, -220          the access token is invalid/expired: refresh once, send again
    -213                not following → BLOCKED (counted as not following)
    -230, -232, -217, -218, -227, -244   the OA's rules refuse this person now → SKIPPED, reason
    -211                out of quota → RETRY in an hour (the lane pauses, rows wait)
    -32                 rate limit → RETRY after a minute (the lane slows down)
    -200, network, 5xx  → RETRY with backoff
    -204 -205 -209 -212 -219 -221 -223 -224 -235 -248 -320 -321   the OA or app cannot send at
                        all → RETRY in an hour, logged as an error (an operator must act)
    anything else       → FAILED (a bad message: a bug)
A template notice (`Outbound.template`) goes to the template endpoint instead, when the lane is
configured (bot/channels/zalo_oa/templates.py has its codes).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.channels.base import Capabilities, Outbound, SendResult, SendStatus
from bot.channels.zalo.sender import render_chunks
from bot.channels.zalo_oa.client import OaApiError, OaClient, OaError, OaNetworkError
from bot.channels.zalo_oa.events import CHANNEL, WINDOW
from bot.channels.zalo_oa.templates import TemplateLane
from bot.channels.zalo_oa.tokens import TokenManager, TokenUnavailable
from bot.domain.text import ZALO_MAX_TEXT, split_text

log = logging.getLogger(__name__)

MAX_BUTTONS = 4  # the SDK allows 5 but says 4 in its error text: 4 is safe either way
MAX_TITLE = 100
TOKEN_ERRORS = frozenset({-216, -220})
SKIP_REASONS = {
    -230: "outside the 7-day window",
    -232: "never interacted",
    -217: "blocked the OA's invitations",
    -218: "receive quota reached",
    -227: "inactive or banned user",
    -244: "restricted this message type",
}
STOP_ERRORS = frozenset({-204, -205, -209, -212, -219, -221, -223, -224, -235, -248, -320, -321})
BUTTON_REFUSALS = frozenset({-201, -233})
QUOTA_PAUSE_S = 3600.0
RATE_PAUSE_S = 60.0


def classify(code: int) -> SendResult:
    """What the dispatcher does with Zalo's `error` code (token errors handled before)."""
    if code == -213:
        return SendResult(SendStatus.BLOCKED, error="-213 not following")
    if code in SKIP_REASONS:
        return SendResult(SendStatus.SKIPPED, error=f"{code} {SKIP_REASONS[code]}")
    if code == -211:
        return SendResult(SendStatus.RETRY, retry_after=QUOTA_PAUSE_S, error="-211 out of quota")
    if code == -32:
        return SendResult(SendStatus.RETRY, retry_after=RATE_PAUSE_S, error="-32 rate limit")
    if code in STOP_ERRORS:
        return SendResult(
            SendStatus.RETRY, retry_after=QUOTA_PAUSE_S, error=f"{code} OA cannot send"
        )
    if code == -200 or code in TOKEN_ERRORS:
        return SendResult(SendStatus.RETRY, error=f"{code} send failed")
    return SendResult(SendStatus.FAILED, error=f"{code} refused")


def button_message(text: str, labels: list[str]) -> dict[str, Any]:
    """A consultation message with `oa.query.show` buttons whose payload is the label."""
    buttons = [
        {"title": label[:MAX_TITLE], "type": "oa.query.show", "payload": label} for label in labels
    ]
    return {
        "attachment": {
            "type": "template",
            "payload": {"template_type": "button", "text": text, "buttons": buttons},
        }
    }


class OaSender:
    """Implements the `Channel` protocol over `OaClient.send_cs`."""

    name = CHANNEL
    capabilities = Capabilities(
        max_text=ZALO_MAX_TEXT, buttons=True, max_buttons=MAX_BUTTONS, window=WINDOW
    )

    def __init__(
        self,
        client: OaClient,
        tokens: TokenManager,
        *,
        buttons: bool = True,
        templates: TemplateLane | None = None,
    ) -> None:
        self._client = client
        self._tokens = tokens
        self.buttons = buttons
        self.templates = templates  # None: template notices are off
        self._paused_by: int | None = None  # the error that paused sending, logged once

    def render(self, message: Outbound) -> list[dict[str, Any]]:
        """The message bodies to send for `message`, in order."""
        labels = [choice.label for choice in message.choices]
        if not self.buttons or not labels or len(labels) > MAX_BUTTONS:
            return [{"text": chunk} for chunk in render_chunks(message, ZALO_MAX_TEXT)]
        chunks = split_text(message.text, ZALO_MAX_TEXT) if message.text else []
        last = chunks.pop() if chunks else labels[0]
        return [{"text": chunk} for chunk in chunks] + [button_message(last, labels)]

    def templates_open(self) -> bool:
        """False once Zalo refused the template itself (or when the lane is off)."""
        return self.templates is not None and self.templates.open

    async def send(self, message: Outbound) -> SendResult:
        """Send `message` (in parts when long); the first failing part decides the result."""
        if message.template is not None:
            return await self._send_template(message.chat_id, dict(message.template))
        parts = self.render(message)
        if not parts:
            return SendResult(SendStatus.FAILED, error="empty message")
        for part in parts:
            result = await self._send_part(message.chat_id, part)
            if result.status is SendStatus.FAILED and "attachment" in part and self.buttons:
                code = int((result.error or "0").split(" ", 1)[0] or 0)
                if code in BUTTON_REFUSALS:
                    log.warning(
                        "zalo oa: the button template was refused (%s); numbered text", code
                    )
                    self.buttons = False
                    return await self.send(message)
            if result.status is not SendStatus.OK:
                # a later part failing is retried whole: a repeated first part beats a lost tail
                return result
        return SendResult(SendStatus.OK)

    async def _send_template(self, user_id: str, data: dict[str, str]) -> SendResult:
        lane = self.templates
        if lane is None:  # queued while the lane was on, and it is off now: fail, counted
            return SendResult(SendStatus.FAILED, error="template notices are off", calls=0)
        if not lane.open:  # claimed before the lane stopped: it waits with the others
            return SendResult(SendStatus.QUOTA, error="template notices stopped", calls=0)
        template_id = lane.settings.template_id

        async def call(token: str) -> object:
            return await self._client.send_template(token, user_id, template_id, data)

        result = await self._call(call, template=True)
        if result.status is SendStatus.OK or result.error is None:
            return result
        code = _code(result.error)
        special = await lane.refused(code) if code is not None else None
        return special or result

    async def _send_part(self, user_id: str, part: dict[str, Any]) -> SendResult:
        async def call(token: str) -> object:
            return await self._client.send_cs(token, user_id, part)

        return await self._call(call)

    async def _call(
        self, call: Callable[[str], Awaitable[object]], *, template: bool = False
    ) -> SendResult:
        """One OpenAPI call with the access token (renewed once when refused), mapped."""
        try:
            token = await self._tokens.access_token()
            try:
                await call(token)
            except OaApiError as exc:
                if exc.code not in TOKEN_ERRORS:
                    raise
                token = await self._tokens.renew(token)
                await call(token)
        except TokenUnavailable:
            return SendResult(SendStatus.RETRY, retry_after=300.0, error="no usable OA token")
        except OaApiError as exc:
            result = classify(exc.code)
            if template:  # the template lane maps its own codes first (`_send_template`)
                return result
            if (exc.code in STOP_ERRORS or exc.code == -211) and self._paused_by != exc.code:
                self._paused_by = exc.code
                log.error("zalo oa: sending paused for an hour: error %s", exc.code)
            return result
        except OaNetworkError as exc:
            return SendResult(SendStatus.RETRY, error=f"network {exc.code}")
        except OaError as exc:
            return SendResult(SendStatus.RETRY, error=f"{type(exc).__name__} {exc.code}")
        self._paused_by = None
        return SendResult(SendStatus.OK)


def _code(error: str) -> int | None:
    """Zalo's code at the head of a result's error («-249 refused»), if any."""
    head = error.split(" ", 1)[0]
    return int(head) if head.lstrip("-").isdigit() else None
