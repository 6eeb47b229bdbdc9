"""Typed numbers and labels pick the choices last offered, only where the message was numbered."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.channels.base import Choice, Inbound, InboundKind
from bot.chat.conversation import numbered_reply

NOW = datetime(2025, 11, 16, tzinfo=UTC)


def typed(text: str) -> Inbound:
    return Inbound(
        channel="zalo",
        chat_id="1",
        update_id="1",
        kind=InboundKind.TEXT,
        received_at=NOW,
        text=text,
    )


OFFERED = (Choice("Tiếng Việt", "lang:vi"), Choice("English", "lang:en"))


def test_a_number_picks_a_numbered_choice() -> None:
    picked = numbered_reply(typed("2"), OFFERED, True)
    assert (picked.kind, picked.choice_data) == (InboundKind.CHOICE, "lang:en")
    assert numbered_reply(typed("2."), OFFERED, True).choice_data == "lang:en"


def test_a_number_out_of_range_or_unnumbered_stays_text() -> None:
    assert numbered_reply(typed("3"), OFFERED, True).kind is InboundKind.TEXT
    assert numbered_reply(typed("0"), OFFERED, True).kind is InboundKind.TEXT
    assert numbered_reply(typed("1"), OFFERED, False).kind is InboundKind.TEXT


def test_a_typed_label_picks_the_choice_whatever_the_accents() -> None:
    assert numbered_reply(typed("tieng viet"), OFFERED, False).choice_data == "lang:vi"
    assert numbered_reply(typed("ENGLISH"), OFFERED, True).choice_data == "lang:en"


def test_nothing_offered_stays_text() -> None:
    assert numbered_reply(typed("1"), (), True).kind is InboundKind.TEXT
    assert numbered_reply(typed("Tiếng Việt"), (), True).kind is InboundKind.TEXT
