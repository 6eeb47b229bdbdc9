"""Residents signing up: /start (a poster's group link, an invite code, another role's
greeting), the language, then the residential group; /ngonngu and /khoi choose them again.

`Residents` (chat.py) is this plus the commands and the menu; this part is the subscription flow.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable

from bot.channels.base import Choice
from bot.chat.turn import Handler, Turn
from bot.domain.campaign import CampaignPack, in_lang
from bot.domain.deeplinks import find_group, is_group_payload
from bot.domain.text import fold, fold_words
from bot.residents import repository as repo
from bot.residents.buttons import (
    GroupPage,
    GroupPick,
    GroupSkip,
    LanguageButton,
    MenuAction,
    MenuButton,
)
from bot.storage.models.residents import SubscriberStatus
from messages import LANGUAGES, t

GROUP_PAGE = 8
ONBOARDING = "onboarding"
GROUP_FLOW = "group"

# Another role's greeting for a bare /start (None: the chat has no other role); a bound official
# gets it with a button to subscribe as a resident too, never the residents' sign-up.
RoleStart = Callable[[Turn], Awaitable[str | None]]


class Signup(ABC):
    """The subscription flow of the residents' conversation."""

    pack: CampaignPack
    groups: list[str]
    _start_payload: Handler | None
    _role_start: RoleStart | None

    @abstractmethod
    async def fallback(self, turn: Turn) -> None:
        """Free text that matches nothing (the residents' menu answers it)."""

    # ---- subscribing ------------------------------------------------------------------------

    async def start(self, turn: Turn) -> None:
        """/start: subscribe (or welcome back); `/start g-<group slug>` (a poster's link) also
        picks that residential group; `/start <code>` goes to the invite handler; a bare /start
        from a chat with another role (a bound official) is answered by that role, not signed up."""
        payload = turn.inbound.args
        linked = find_group(payload, self.groups)
        if payload and not is_group_payload(payload) and self._start_payload is not None:
            await self._start_payload(turn)
            return
        bare = not turn.inbound.args
        role_start = self._role_start if turn.subscriber is None and bare else None
        greeting = await role_start(turn) if role_start is not None else None
        if greeting is not None:
            subscribe = MenuButton(action=MenuAction.SUBSCRIBE).pack()
            turn.say_text(greeting, choices=[turn.choice("residents.subscribe_too", subscribe)])
            return
        await self.subscribe(turn, linked=linked)

    async def subscribe(self, turn: Turn, *, linked: str | None = None) -> None:
        """Subscribe (or welcome back) as a resident; `linked`: a group from a poster's link."""
        info = self.pack.campaign
        was = turn.subscriber
        sub, created = await repo.subscribe(
            turn.session,
            channel=turn.channel,
            chat_id=turn.chat_id,
            lang=turn.lang,
            now=turn.now,
        )
        turn.subscriber = sub
        if linked is not None:
            sub.group_code = linked
            sub.updated_at = turn.now
        if not created and was is not None and was.status != SubscriberStatus.ACTIVE:
            turn.say("residents.welcome_back")
            if linked is not None:
                turn.say("residents.group_from_link", group=linked)
            return
        if info.theme:
            title, theme = self._title(turn.lang), self._theme(turn.lang)
            turn.say("residents.welcome", locality=info.locality, title=title, theme=theme)
        else:  # the year's national theme is not published yet
            turn.say(
                "residents.welcome_no_theme", locality=info.locality, title=self._title(turn.lang)
            )
        if linked is not None:
            turn.say("residents.group_from_link", group=linked)
        if created:
            turn.set_flow(ONBOARDING, "lang")
            turn.say("residents.ask_lang", choices=self._language_choices(), columns=2)
        else:
            turn.say("residents.ready")

    async def subscribe_in(self, turn: Turn, lang: str) -> None:
        """Subscribe in `lang` (an offer accepted), then ask the residential group."""
        sub, _ = await repo.subscribe(
            turn.session, channel=turn.channel, chat_id=turn.chat_id, lang=lang, now=turn.now
        )
        turn.subscriber = sub
        turn.set_flow(ONBOARDING, "lang")
        self._set_language(turn, lang)

    async def ask_language(self, turn: Turn) -> None:
        """/ngonngu: choose the language again."""
        if turn.subscriber is None:
            turn.say("residents.not_subscribed")
            return
        turn.say("residents.ask_lang", choices=self._language_choices(), columns=2)

    async def on_language(self, turn: Turn) -> None:
        """Button lang:<code>: set the language; during onboarding go on to the group."""
        button = LanguageButton.unpack(turn.inbound.choice_data)
        if turn.subscriber is None:
            turn.say("residents.not_subscribed")
            return
        if button is None or button.code not in LANGUAGES:
            await self.stale(turn)
            return
        self._set_language(turn, button.code)

    def _set_language(self, turn: Turn, lang: str) -> None:
        assert turn.subscriber is not None
        turn.subscriber.lang = lang
        turn.subscriber.updated_at = turn.now
        turn.lang = lang
        turn.say("residents.lang_set")
        if turn.flow == ONBOARDING and turn.subscriber.group_code is not None:
            self._finish_group_step(turn)  # a poster's link chose the group already
        elif turn.flow == ONBOARDING:
            turn.set_flow(ONBOARDING, "group")
            self._ask_group(turn, page=1)

    async def on_onboarding_text(self, turn: Turn) -> None:
        """Typed text while subscribing: a language name, then a group; else ask again."""
        if turn.step != "lang" or turn.subscriber is None:
            await self.on_group_text(turn)
            return
        typed = fold_words(turn.inbound.text)
        names = {
            code: {fold_words(t(f"languages.{code}", lang)) for lang in LANGUAGES} | {code}
            for code in LANGUAGES
        }
        chosen = next((code for code, known in names.items() if typed in known), None)
        if chosen is not None:
            self._set_language(turn, chosen)
            return
        turn.say("residents.choice_unknown", typed=turn.inbound.text[:60])
        turn.say("residents.ask_lang", choices=self._language_choices(), columns=2)

    async def ask_group_command(self, turn: Turn) -> None:
        """/khoi: choose the residential group again."""
        if turn.subscriber is None:
            turn.say("residents.not_subscribed")
            return
        turn.set_flow(GROUP_FLOW, "group")
        self._ask_group(turn, page=1)

    async def on_group(self, turn: Turn) -> None:
        """Button grp:<index> | grp:p:<page> | grp:skip."""
        data = turn.inbound.choice_data
        if turn.subscriber is None:
            turn.say("residents.not_subscribed")
            return
        page = GroupPage.unpack(data)
        if page is not None:
            self._ask_group(turn, page=page.page)
            return
        pick = GroupPick.unpack(data)
        if GroupSkip.unpack(data) is not None:
            turn.subscriber.group_code = None
            turn.say("residents.group_skipped")
        elif pick is not None and 0 <= pick.index < len(self.groups):
            self._set_group(turn, self.groups[pick.index])
        else:
            await self.stale(turn)
            return
        self._finish_group_step(turn)

    async def on_group_text(self, turn: Turn) -> None:
        """Typed text while choosing a group: match it to a group name."""
        if turn.subscriber is None or turn.step != "group":
            await self.fallback(turn)
            return
        typed = fold(turn.inbound.text)
        matches = [g for g in self.groups if fold(g) == typed]
        if not matches and typed.isdigit() and 1 <= int(typed) <= len(self.groups):
            matches = [self.groups[int(typed) - 1]]  # the group's place in the whole list
        elif not matches and typed:
            matches = [g for g in self.groups if typed in fold(g)]
        if len(matches) == 1:
            self._set_group(turn, matches[0])
            self._finish_group_step(turn)
            return
        turn.say("residents.group_not_found", typed=turn.inbound.text[:60])
        self._ask_group(turn, page=1)

    def _set_group(self, turn: Turn, group: str) -> None:
        assert turn.subscriber is not None
        turn.subscriber.group_code = group
        turn.subscriber.updated_at = turn.now
        turn.say("residents.group_set", group=group)

    def _finish_group_step(self, turn: Turn) -> None:
        onboarding = turn.flow == ONBOARDING
        turn.clear_flow()
        if onboarding:
            turn.say("residents.ready")

    def _ask_group(self, turn: Turn, *, page: int) -> None:
        pages = max(1, math.ceil(len(self.groups) / GROUP_PAGE))
        page = min(max(page, 1), pages)
        first = (page - 1) * GROUP_PAGE
        choices = [
            Choice(label=name, data=GroupPick(index=first + i).pack())
            for i, name in enumerate(self.groups[first : first + GROUP_PAGE])
        ]
        if page < pages:
            choices.append(
                turn.choice("residents.group_page_next", GroupPage(page=page + 1).pack())
            )
        if page > 1:
            choices.append(
                turn.choice("residents.group_page_prev", GroupPage(page=page - 1).pack())
            )
        choices.append(turn.choice("residents.group_skip", GroupSkip().pack()))
        # Not numbered: on button-less channels a typed number is the group's place in the
        # whole list (Khối phố 9 is «9» on every page), not its place on this page.
        turn.say(
            "residents.ask_group",
            choices=choices,
            columns=2,
            numbered=False,
            kind=self.pack.residential_groups.kind,
            count=len(self.groups),
            page=page,
            pages=pages,
        )

    @staticmethod
    def _language_choices() -> list[Choice]:
        return [
            Choice(label=t(f"languages.{code}"), data=LanguageButton(code=code).pack())
            for code in LANGUAGES
        ]

    def _title(self, lang: str) -> str:
        info = self.pack.campaign
        return in_lang(lang, info.title, info.title_en)

    def _theme(self, lang: str) -> str:
        info = self.pack.campaign
        return in_lang(lang, info.theme, info.theme_en)

    async def stale(self, turn: Turn) -> None:
        """A button from an old message or an unknown one."""
        turn.say("residents.stale_button")
