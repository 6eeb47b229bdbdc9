"""People whose messages Zalo hides: subscribe and stop without text.

Zalo sends ``message.unsupported.received`` instead of the content for people in protected
groups (children, people with disabilities, people who cannot read …; the Zalo Bot Platform
docs, Webhook). They cannot type a command, so subscribing and stopping need no text: any
message offers, a second one within 10 minutes confirms. Every answer carries the hotlines.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from bot.chat.router import Router
from bot.chat.turn import Turn
from bot.domain.campaign import CampaignPack
from bot.residents import repository as repo

HIDDEN_FLOW = "hidden"
CONFIRM_WINDOW = timedelta(minutes=10)


class HiddenSenders:
    """Subscribe and stop without text, for people whose messages Zalo withholds."""

    def __init__(self, pack: CampaignPack) -> None:
        self.pack = pack

    def register(self, router: Router) -> None:
        """Answer hidden messages; real text ends the flow and goes the usual way."""
        router.hidden = self.on_hidden

    async def on_hidden(self, turn: Turn) -> None:
        """A message whose content Zalo hid."""
        locality = self.pack.campaign.locality
        sub = turn.subscriber
        active = sub is not None and sub.status == "active"
        pending = turn.flow == HIDDEN_FLOW and self._recent(turn)
        if not active and pending and turn.step == "subscribe":
            sub, _ = await repo.subscribe(
                turn.session, channel=turn.channel, chat_id=turn.chat_id, lang="vi", now=turn.now
            )
            turn.subscriber = sub
            turn.clear_flow()
            turn.say("zalo.hidden_subscribed", locality=locality)
        elif active and sub is not None and pending and turn.step == "stop":
            sub.status = "stopped"
            sub.updated_at = turn.now
            await repo.cancel_pending_bulk(turn.session, channel=turn.channel, chat_id=turn.chat_id)
            turn.clear_flow()
            turn.say("zalo.hidden_stopped")
        elif active:
            turn.set_flow(HIDDEN_FLOW, "stop", {"at": turn.now.isoformat()})
            turn.say("zalo.hidden_stop_offer")
        else:
            turn.set_flow(HIDDEN_FLOW, "subscribe", {"at": turn.now.isoformat()})
            turn.say("zalo.hidden_offer", locality=locality)

    @staticmethod
    def _recent(turn: Turn) -> bool:
        try:
            at = datetime.fromisoformat(json.loads(turn.state.data).get("at", ""))
        except (ValueError, TypeError, AttributeError):
            return False
        return timedelta(0) <= turn.now - at <= CONFIRM_WINDOW
