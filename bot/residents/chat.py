"""Residents: subscribe (language, residential group), slogans, help, stop, resume, delete data.

The subscription flow (/start, language, group) is `Signup` (signup.py); this module adds the
commands, the menu and the fallbacks, and registers them all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Choice
from bot.chat.router import Router
from bot.chat.turn import Handler, Turn
from bot.domain.campaign import CampaignPack, in_lang
from bot.domain.text import fold
from bot.residents import repository as repo
from bot.residents.buttons import (
    Answer,
    DeleteButton,
    GroupPick,
    LanguageButton,
    MenuAction,
    MenuButton,
    SloganGroupButton,
)
from bot.residents.distress import hotline_line, trusted_addresses
from bot.residents.preferences import PreferenceResult, apply_delivery_hour, apply_posts_muted
from bot.residents.signup import GROUP_FLOW, ONBOARDING, RoleStart, Signup
from bot.storage.models.residents import SubscriberStatus
from messages import t

DELETE_FLOW = "delete"

# Deletes what another area keeps about a chat; returns how many rows it removed.
Forget = Callable[..., Awaitable[int]]
# Another role's commands for /trogiup ("" when the chat has no such role).
RoleHelp = Callable[[Turn], Awaitable[str]]


class Residents(Signup):
    """The resident conversation for one campaign pack."""

    def __init__(
        self,
        pack: CampaignPack,
        *,
        start_payload: Handler | None = None,
        forget: Sequence[Forget] = (),
        role_start: RoleStart | None = None,
        role_help: RoleHelp | None = None,
    ) -> None:
        self.pack = pack
        self.groups = pack.residential_groups.all_names()
        self._start_payload = start_payload
        self._forget = tuple(forget)
        self._role_start = role_start
        self._role_help = role_help

    async def _delete_everything(self, turn: Turn) -> int:
        """Delete the chat's data here and in every other area; returns the rows other areas
        removed (the chat's own conversation state does not count as data to report)."""
        session: AsyncSession = turn.session
        await repo.delete_person(session, channel=turn.channel, chat_id=turn.chat_id)
        removed = 0
        for forget in self._forget:
            removed += await forget(session, channel=turn.channel, chat_id=turn.chat_id)
        return removed

    def register(self, router: Router) -> None:
        """Add the resident commands, buttons and flows to the router."""
        router.command(("start", "batdau_dangky"), self.start)
        leave = self._leaving_group_question
        router.command(("khauhieu", "slogans"), leave(self.slogans))
        router.command(("trogiup", "help", "tro_giup"), leave(self.help))
        router.command(("huy", "stop"), leave(self.stop))
        router.word(("giúp", "trợ giúp", "help"), leave(self.help))
        router.word(("dừng", "stop", "hủy", "dừng nhận tin"), leave(self.stop))
        router.command(("batdau", "resume"), leave(self.resume))
        router.command(("xoadulieu", "deletedata"), self.delete_data)
        router.command(("ngonngu", "language"), self.ask_language)
        router.command(("khoi", "group"), self.ask_group_command)
        router.command(("gio", "hour"), leave(self.set_hour))
        router.command(("tatbai", "mute"), leave(self.mute_posts))
        router.command(("batbai", "unmute"), leave(self.unmute_posts))
        router.choice(LanguageButton, self.on_language)
        router.choice(GroupPick, self.on_group)  # and GroupPage, GroupSkip: one prefix
        router.choice(SloganGroupButton, self.on_slogan_group)
        router.choice(DeleteButton, self.on_delete)
        router.choice(MenuButton, self.on_menu)
        router.flow(ONBOARDING, self.on_onboarding_text)
        router.flow(GROUP_FLOW, self.on_group_text)
        router.unknown_command = self.unknown_command
        router.stale_choice = self.stale
        router.fallback = self.fallback
        router.non_text = self.non_text

    @staticmethod
    def _leaving_group_question(handler: Handler) -> Handler:
        """A command that answers something else ends a pending group question (/khoi, or
        subscribing): its answer is now the last thing shown, so a number typed next must not
        be read as a group. The group stays optional and /khoi asks again."""

        async def run(turn: Turn) -> None:
            if turn.flow in (ONBOARDING, GROUP_FLOW):
                turn.clear_flow()
            await handler(turn)

        return run

    # ---- information ------------------------------------------------------------------------

    async def slogans(self, turn: Turn) -> None:
        """/khauhieu: the slogan groups as choices."""
        groups = self.pack.slogan_groups
        if not groups:
            turn.say("residents.slogans_none", locality=self.pack.campaign.locality)
            return
        choices = [
            Choice(
                label=self._group_title(g.id, turn.lang),
                data=SloganGroupButton(group_id=g.id).pack(),
            )
            for g in groups
        ]
        turn.say("residents.slogans_intro", choices=choices)

    async def on_slogan_group(self, turn: Turn) -> None:
        """Button sg:<id>: the group's slogans, verbatim, numbered."""
        button = SloganGroupButton.unpack(turn.inbound.choice_data)
        group_id = button.group_id if button is not None else None
        group = next((g for g in self.pack.slogan_groups if g.id == group_id), None)
        if group is None:
            turn.say("residents.slogans_unknown")
            return
        lines = "\n".join(f"{n}. {s}" for n, s in enumerate(group.slogans, start=1))
        turn.say(
            "residents.slogans_group", title=self._group_title(group.id, turn.lang), slogans=lines
        )

    async def help(self, turn: Turn) -> None:
        """/trogiup: hotlines, trusted addresses, commands."""
        lines = []
        for hotline in self.pack.hotlines:
            name = in_lang(turn.lang, hotline.name, hotline.name_en)
            note = in_lang(turn.lang, hotline.note, hotline.note_en)
            lines.append(
                t(
                    "residents.hotline_line",
                    turn.lang,
                    number=hotline.number,
                    name=name,
                    note=f" ({note})" if note else "",
                )
            )
        addresses = trusted_addresses(self.pack)
        trusted = turn.text("residents.help_trusted", addresses=addresses) if addresses else ""
        role = await self._role_help(turn) if self._role_help is not None else ""
        commands = [role] if role else []
        if turn.subscriber is not None or not role:
            kind = self.pack.residential_groups.kind
            commands.insert(0, turn.text("residents.help_commands", kind=kind))
        turn.say(
            "residents.help",
            locality=self.pack.campaign.locality,
            hotlines="\n".join(lines),
            trusted=trusted,
            commands="\n\n".join(commands),
        )

    # ---- stopping, resuming, deleting -------------------------------------------------------

    async def stop(self, turn: Turn) -> None:
        """/huy: stop every message at once."""
        sub = turn.subscriber
        if sub is None:
            turn.say("residents.not_subscribed")
            return
        if sub.status != SubscriberStatus.ACTIVE:
            turn.say("residents.already_stopped")
            return
        sub.status = SubscriberStatus.STOPPED
        sub.updated_at = turn.now
        await repo.cancel_pending_bulk(turn.session, channel=turn.channel, chat_id=turn.chat_id)
        turn.clear_flow()
        turn.say("residents.stopped")

    async def resume(self, turn: Turn) -> None:
        """/batdau: resume messages (or subscribe if never subscribed)."""
        sub = turn.subscriber
        if sub is None:
            await self.start(turn)
            return
        sub.status = SubscriberStatus.ACTIVE
        sub.updated_at = turn.now
        turn.say("residents.resumed")

    async def delete_data(self, turn: Turn) -> None:
        """/xoadulieu: ask for confirmation with buttons bound to this request."""
        if turn.subscriber is None:
            # Not a resident: delete whatever else is kept (an official's binding …) at once.
            removed = await self._delete_everything(turn)
            turn.forget_chat()
            turn.say("residents.deleted" if removed else "residents.nothing_to_delete")
            return
        nonce = turn.set_flow(DELETE_FLOW, "confirm")
        turn.say(
            "residents.delete_confirm",
            choices=[
                turn.choice(
                    "residents.delete_yes", DeleteButton(answer=Answer.YES, nonce=nonce).pack()
                ),
                turn.choice(
                    "residents.delete_no", DeleteButton(answer=Answer.NO, nonce=nonce).pack()
                ),
            ],
            columns=2,
        )

    async def on_delete(self, turn: Turn) -> None:
        """Button del:yes|no:<nonce>: only the buttons of the latest request count."""
        button = DeleteButton.unpack(turn.inbound.choice_data)
        if turn.flow != DELETE_FLOW or button is None or not turn.nonce_matches(button.nonce):
            await self.stale(turn)
            return
        if button.answer is Answer.YES:
            await self._delete_everything(turn)
            turn.forget_chat()
            turn.say("residents.deleted")
            return
        turn.clear_flow()
        turn.say("residents.delete_cancelled")

    # ---- preferences ------------------------------------------------------------------------

    async def set_hour(self, turn: Turn) -> None:
        """/gio [HH:MM | chung]: show or change the time of the daily post."""
        sub = turn.subscriber
        delivery = self.pack.delivery
        arg = fold(turn.inbound.args)
        if not arg and sub is not None and sub.status == SubscriberStatus.ACTIVE:
            turn.say(
                "residents.hour_current",
                hour=sub.delivery_hour or delivery.hour,
                default=delivery.hour,
            )
            return
        hour = None if arg in {"chung", "mac dinh", "macdinh", "default"} else turn.inbound.args
        self._answer(turn, apply_delivery_hour(sub, hour, delivery=delivery, now=turn.now))

    async def mute_posts(self, turn: Turn) -> None:
        """/tatbai: daily posts off (announcements still arrive)."""
        self._answer(turn, apply_posts_muted(turn.subscriber, True, now=turn.now))

    async def unmute_posts(self, turn: Turn) -> None:
        """/batbai: daily posts on again."""
        self._answer(turn, apply_posts_muted(turn.subscriber, False, now=turn.now))

    @staticmethod
    def _answer(turn: Turn, result: PreferenceResult) -> None:
        if result.refusal is not None:
            turn.refuse(result.refusal)
        else:
            turn.say_text(turn.text(result.key, **result.fields))

    # ---- everything else --------------------------------------------------------------------

    async def on_menu(self, turn: Turn) -> None:
        """Buttons of the fallback menu."""
        button = MenuButton.unpack(turn.inbound.choice_data)
        handlers: dict[MenuAction, Handler] = {
            MenuAction.SLOGANS: self.slogans,
            MenuAction.HELP: self.help,
            MenuAction.STOP: self.stop,
            MenuAction.START: self.start,
            MenuAction.SUBSCRIBE: self.subscribe,
        }
        await (handlers[button.action] if button is not None else self.stale)(turn)

    async def unknown_command(self, turn: Turn) -> None:
        """A command nobody registered."""
        turn.say("residents.unknown_command", command="/" + (turn.inbound.command or "")[:32])

    async def fallback(self, turn: Turn) -> None:
        """Free text that matches nothing: a short helpful answer with the menu, never silence;
        like every fallback it ends with the urgent-help numbers."""
        await self._fallback(turn, "residents.fallback")

    async def non_text(self, turn: Turn) -> None:
        """A sticker, photo or voice message where text was expected."""
        await self._fallback(turn, "residents.non_text")

    async def _fallback(self, turn: Turn, key: str) -> None:
        if turn.subscriber is None:
            key, choices, columns = (
                "residents.fallback_unsubscribed",
                [self._start_button(turn)],
                1,
            )
        else:
            choices, columns = self._menu(turn), 2
        turn.say_text(f"{turn.text(key)}\n\n{hotline_line(turn)}", choices=choices, columns=columns)

    # ---- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _start_button(turn: Turn) -> Choice:
        return turn.choice("residents.menu_start", MenuButton(action=MenuAction.START).pack())

    def _menu(self, turn: Turn) -> list[Choice]:
        return [
            turn.choice("residents.menu_slogans", MenuButton(action=MenuAction.SLOGANS).pack()),
            turn.choice("residents.menu_help", MenuButton(action=MenuAction.HELP).pack()),
            turn.choice("residents.menu_stop", MenuButton(action=MenuAction.STOP).pack()),
        ]

    def _group_title(self, group_id: str, lang: str) -> str:
        group = next(g for g in self.pack.slogan_groups if g.id == group_id)
        return in_lang(lang, group.title, group.title_en)
