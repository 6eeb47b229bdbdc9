"""The Zalo sender: text only, at most 2,000 characters a message, choices as typed replies.

Zalo's Bot API has no buttons, so a numbered message ends with «1. …» lines (a typed «2» picks the
second choice, see `bot.chat.conversation`); where a typed number is an answer (numbered is
False) the labels are shown as a short line, «(Quay lại)», and typing the label picks it.

The docs say "1 to 2000 characters" without a unit; the only lengths they define (text_styles
offsets) are UTF-16 code units, so texts are measured in UTF-16 units: never longer than 2,000
code points either. Vietnamese (NFC) counts the same both ways; an emoji counts 2.

Errors, as the docs' table means them: 403 is Zalo's internal error (retried, never "blocked");
429 is the plan's monthly quota (QUOTA: the row is kept and bulk sending pauses). How a person
who blocked the bot shows is not documented: Loa never unsubscribes anyone from a Zalo answer;
a message Zalo refuses (400/404) fails with its reason counted, the person stays subscribed.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.channels.base import Capabilities, Outbound, SendResult, SendStatus, render_choices
from bot.channels.zalo.client import (
    ZaloBadRequest,
    ZaloClient,
    ZaloError,
    ZaloNetworkError,
    ZaloQuotaExceeded,
    ZaloServerError,
    ZaloTimeout,
    ZaloUnauthorized,
)
from bot.domain.text import ZALO_MAX_TEXT, split_text, utf16_len

log = logging.getLogger(__name__)

CHANNEL = "zalo"
MAX_TEXT = ZALO_MAX_TEXT


def render_chunks(message: Outbound, limit: int = MAX_TEXT) -> list[str]:
    """The texts to send for `message`: split at `limit`, the choices on the last chunk."""
    block = render_choices(message)
    text = message.text
    if utf16_len(text) + utf16_len(block) <= limit:
        whole = text + block if text else block.lstrip("\n")
        return [whole] if whole else []
    if utf16_len(block) > limit // 2:
        # absurdly many choices: they travel as messages of their own after the text
        head = split_text(text, limit, utf16=True) if text else []
        return head + split_text(block.strip("\n"), limit, utf16=True)
    chunks = split_text(text, limit, utf16=True)
    last = chunks.pop()
    # the last chunk is cut again so that it still fits with the choices under it
    chunks.extend(split_text(last, limit - utf16_len(block), utf16=True))
    chunks[-1] += block
    return chunks


def classify_error(exc: ZaloError) -> SendResult:
    """Map a client error to what the delivery engine needs."""
    if isinstance(exc, ZaloQuotaExceeded):
        return SendResult(SendStatus.QUOTA, error="429 quota exceeded")
    if isinstance(exc, ZaloTimeout):
        return SendResult(SendStatus.RETRY, error="timeout")
    if isinstance(exc, ZaloNetworkError):
        return SendResult(SendStatus.RETRY, error=str(exc)[:200])
    if isinstance(exc, ZaloServerError):
        return SendResult(SendStatus.RETRY, error=f"{exc.status} server error")
    if isinstance(exc, ZaloUnauthorized):
        return SendResult(SendStatus.FAILED, error="401 unauthorized")
    if isinstance(exc, ZaloBadRequest):
        return SendResult(SendStatus.FAILED, error=f"{exc.status} bad request")
    return SendResult(SendStatus.FAILED, error=f"{exc.status} error")


class ZaloSender:
    """Implements the `Channel` protocol over `ZaloClient.send_message`."""

    name = CHANNEL
    capabilities = Capabilities(max_text=MAX_TEXT, buttons=False, utf16=True)

    def __init__(self, client: ZaloClient) -> None:
        self._client = client

    async def send(self, message: Outbound) -> SendResult:
        """Send `message` as one or more texts of at most 2,000 characters."""
        chunks = render_chunks(message)
        if not chunks:
            return SendResult(SendStatus.FAILED, error="empty message")
        for sent, chunk in enumerate(chunks):
            try:
                await self._client.send_message(message.chat_id, chunk)
            except ZaloError as exc:
                result = classify_error(exc)
                log.warning("zalo sendMessage failed: %s", result.error)
                # a later chunk failing is retried whole: a repeated first part beats a lost tail
                return replace(result, calls=sent)
        return SendResult(SendStatus.OK, calls=len(chunks))
