"""Activity's tracked channel: what `loa run` hands the dispatcher keeps the wrapped channel's
abilities (a Telegram sender's edits: buttons off, text replaced)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.channels.base import (
    Capabilities,
    ChoiceEditor,
    Outbound,
    SendResult,
    SendStatus,
)
from bot.clock import FakeClock
from bot.web.health import Activity


class Editable:
    name = "telegram"
    capabilities = Capabilities(max_text=4096, buttons=True, edits=True)

    def __init__(self) -> None:
        self.cleared: list[tuple[str, str]] = []

    async def send(self, message: Outbound) -> SendResult:
        return SendResult(SendStatus.OK, message_ref="41")

    async def clear_choices(self, chat_id: str, message_ref: str) -> SendResult:
        self.cleared.append((chat_id, message_ref))
        return SendResult(SendStatus.OK)

    async def edit_text(self, message_ref: str, message: Outbound) -> SendResult:
        self.cleared.append((message.chat_id, f"edit {message_ref}: {message.text}"))
        return SendResult(SendStatus.OK)


class Plain:
    name = "zalo"
    capabilities = Capabilities(max_text=2000, buttons=False)

    async def send(self, message: Outbound) -> SendResult:
        return SendResult(SendStatus.OK)


async def test_a_tracked_channel_passes_button_edits_through() -> None:
    clock = FakeClock(datetime(2026, 11, 20, 8, tzinfo=UTC))
    activity = Activity(clock)
    inner = Editable()
    tracked = activity.track_sends(inner)
    assert tracked.capabilities.edits
    assert isinstance(tracked, ChoiceEditor)
    sent = await tracked.send(Outbound(channel="telegram", chat_id="9", text="Câu hỏi?"))
    assert sent.message_ref == "41"
    assert (await tracked.clear_choices("9", "41")).status is SendStatus.OK
    edited = await tracked.edit_text("41", Outbound(channel="telegram", chat_id="9", text="100%"))
    assert edited.status is SendStatus.OK
    assert inner.cleared == [("9", "41"), ("9", "edit 41: 100%")]
    assert activity.last_sent == {"telegram": clock.now()}


async def test_a_tracked_channel_that_cannot_edit_does_not_claim_to() -> None:
    tracked = Activity(FakeClock(datetime(2026, 11, 20, 8, tzinfo=UTC))).track_sends(Plain())
    assert not isinstance(tracked, ChoiceEditor)
    assert (await tracked.send(Outbound(channel="zalo", chat_id="9", text="a"))).status is (
        SendStatus.OK
    )
