"""Residents who follow the ward's Zalo Official Account: follow, unfollow, the one-tap renewal.

A follow is an offer to subscribe: one message with the language choices (a tap, a typed name or
a number subscribes, then the residential group is asked as usual). An unfollow stops everything
(the OA cannot write to someone who left). «Nhận tiếp tin ngày mai» under a daily post comes back
as text (the button's payload is its label) and gets a short thanks; the tap itself is what
renews Zalo's 7-day window.
"""

from __future__ import annotations

from bot.channels.base import Choice
from bot.chat.router import Router
from bot.chat.turn import Handler, Turn
from bot.domain.campaign import CampaignPack, in_lang
from bot.domain.text import fold_words
from bot.residents import repository as repo
from bot.residents.chat import Residents
from messages import LANGUAGES, t

RENEW = "renew"


def renew_choice(lang: str) -> Choice:
    """The one-tap answer under a daily post on a channel with a messaging window."""
    return Choice(label=t("zalo_oa.renew_button", lang), data=RENEW)


class Followers:
    """Handlers for follow / unfollow events and the renewal tap."""

    def __init__(self, pack: CampaignPack, residents: Residents) -> None:
        self.pack = pack
        self._residents = residents
        self._renew_texts = {fold_words(t("zalo_oa.renew_button", lang)) for lang in LANGUAGES}
        self._fallback: Handler | None = None

    def register(self, router: Router) -> None:
        """Add the follow commands, the offer's buttons and the renewal text (after Residents)."""
        router.command(("follow",), self.follow)
        router.command(("unfollow",), self.unfollow)
        router.choice("offer", self.on_offer)
        router.choice(RENEW, self.renewed)
        self._fallback = router.fallback
        router.fallback = self.on_text

    async def follow(self, turn: Turn) -> None:
        """The person followed the OA: welcome back, or the offer to subscribe."""
        sub = turn.subscriber
        if sub is not None:
            sub.status = "active"
            sub.updated_at = turn.now
            turn.say("residents.welcome_back")
            return
        info = self.pack.campaign
        choices = [Choice(label=t(f"languages.{code}"), data=f"offer:{code}") for code in LANGUAGES]
        turn.say(
            "zalo_oa.follow_offer",
            choices=choices,
            columns=2,
            locality=info.locality,
            title=in_lang(turn.lang, info.title, info.title_en),
        )

    async def on_offer(self, turn: Turn) -> None:
        """Button offer:<lang>: subscribe in that language, then ask the group."""
        lang = (turn.inbound.choice_data or "").split(":", 1)[-1]
        if lang not in LANGUAGES:
            await self._residents.stale(turn)
            return
        if turn.subscriber is not None and turn.subscriber.status == "active":
            turn.say("residents.ready")
            return
        await self._residents.subscribe_in(turn, lang)

    async def unfollow(self, turn: Turn) -> None:
        """The person unfollowed: stop everything, say nothing (Zalo would refuse it)."""
        await repo.stop_receiving(
            turn.session, channel=turn.channel, chat_id=turn.chat_id, now=turn.now
        )
        turn.clear_flow()

    async def renewed(self, turn: Turn) -> None:
        """The renewal button (or its label typed): thanks."""
        turn.say("zalo_oa.renewed")

    async def on_text(self, turn: Turn) -> None:
        """Free text: the renewal label gets its thanks; anything else the usual fallback."""
        if turn.subscriber is not None and fold_words(turn.inbound.text) in self._renew_texts:
            await self.renewed(turn)
            return
        if self._fallback is not None:
            await self._fallback(turn)
