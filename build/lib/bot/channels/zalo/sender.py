"""The Zalo sender: text only, at most 2,000 characters a message, choices as typed replies.

Zalo's Bot API has no buttons, so a numbered message ends with «1. …» lines (a typed «2» picks the
second choice, see `bot.chat.conversation`); where a typed number is an answer (numbered is
False) the labels are shown as a short line, «(Quay lại)», and typing the label picks it.
"""

from __future__ import annotations

import logging

from bot.channels.base import Capabilities, Outbound, SendResult, SendStatus, render_choices
from bot.channels.zalo.client import (
    ZaloBadRequest,
    ZaloClient,
    ZaloError,
    ZaloForbidden,
    ZaloNetworkError,
    ZaloRateLimited,
    ZaloServerError,
    ZaloTimeout,
    ZaloUnauthorized,
)
from bot.domain.text import ZALO_MAX_TEXT, split_text

log = logging.getLogger(__name__)

CHANNEL = "zalo"
MAX_TEXT = ZALO_MAX_TEXT


def render_chunks(message: Outbound, limit: int = MAX_TEXT) -> list[str]:
    """The texts to send for `message`: split at `limit`, the choices on the last chunk."""
    block = render_choices(message)
    text = message.text
    if len(text) + len(block) <= limit:
        whole = text + block if text else block.lstrip("\n")
        return [whole] if whole else []
    if len(block) > limit // 2:
        # absurdly many choices: they travel as messages of their own after the text
        head = split_text(text, limit) if text else []
        return head + split_text(block.strip("\n"), limit)
    chunks = split_text(text, limit)
    last = chunks.pop()
    # the last chunk is cut again so that it still fits with the choices under it
    chunks.extend(split_text(last, limit - len(block)))
    chunks[-1] += block
    return chunks


def classify_error(exc: ZaloError) -> SendResult:
    """Map a client error to what the delivery engine needs."""
    if isinstance(exc, ZaloRateLimited):
        return SendResult(SendStatus.RETRY, retry_after=exc.retry_after, error="429 rate limited")
    if isinstance(exc, ZaloForbidden):
        return SendResult(SendStatus.BLOCKED, error="403 forbidden")
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
    capabilities = Capabilities(max_text=MAX_TEXT, buttons=False)

    def __init__(self, client: ZaloClient) -> None:
        self._client = client

    async def send(self, message: Outbound) -> SendResult:
        """Send `message` as one or more texts of at most 2,000 characters."""
        chunks = render_chunks(message)
        if not chunks:
            return SendResult(SendStatus.FAILED, error="empty message")
        for chunk in chunks:
            try:
                await self._client.send_message(message.chat_id, chunk)
            except ZaloError as exc:
                result = classify_error(exc)
                if result.status is not SendStatus.BLOCKED:
                    log.warning("zalo sendMessage failed: %s", result.error)
                # a later chunk failing is retried whole: a repeated first part beats a lost tail
                return result
        return SendResult(SendStatus.OK)
