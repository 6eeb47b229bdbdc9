"""The chat's state as a flow sees it: its step, its data and the nonce of its buttons."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Inbound, InboundKind
from bot.chat.turn import Turn
from bot.clock import SeededRandomness
from bot.storage.models import ChatState

NOW = datetime(2025, 11, 16, tzinfo=UTC)


def turn() -> Turn:
    inbound = Inbound(
        channel="zalo", chat_id="1", update_id="1", kind=InboundKind.TEXT, received_at=NOW
    )
    return Turn(
        inbound=inbound,
        session=cast(AsyncSession, None),  # the flow state needs no database
        state=ChatState(channel="zalo", chat_id="1", updated_at=NOW),
        subscriber=None,
        now=NOW,
        lang="vi",
        randomness=SeededRandomness(1),
    )


def test_a_flow_keeps_its_data_and_its_buttons_nonce_in_the_chat_state() -> None:
    t = turn()
    data: dict[str, Any] = {"page": 2, "group": "Khối phố 9"}
    nonce = t.set_flow("group", "pick", data)
    assert nonce == SeededRandomness(1).token_hex(4)
    assert (t.flow, t.step, t.flow_data) == ("group", "pick", data)
    assert t.nonce_matches(nonce)
    assert not t.nonce_matches(nonce[::-1])
    assert not t.nonce_matches("")
    again = t.set_flow("group", "confirm")
    assert again != nonce  # a new step: the old step's buttons go stale
    assert not t.nonce_matches(nonce)
    t.clear_flow()
    assert (t.flow, t.step, t.flow_data) == (None, None, {})
    assert not t.nonce_matches(again)
