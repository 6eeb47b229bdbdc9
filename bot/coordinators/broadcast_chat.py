"""The broadcast conversation: /thongbao → the text (typed in one or more messages, or
forwarded) → the audience by buttons → a preview (the text as each channel splits it, recipients
per channel) → send now, send now as urgent (through quiet hours), or schedule «dd/mm hh:mm».
Also /lichsu (past broadcasts and their figures) and stopping one (/dunggui or its button).

Buttons: bot/coordinators/buttons.py (`bc:…`); the flow's state is the chat's flow data (JSON).
What the preview shows, and the «see the <channel> version» buttons: broadcast_preview.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.channels.base import Capabilities, Choice
from bot.chat.router import Router
from bot.chat.turn import Turn
from bot.clock import format_vn_datetime
from bot.coordinators import audit, broadcasts, roles
from bot.coordinators import broadcast_preview as preview
from bot.coordinators.broadcasts import Audience, BroadcastError
from bot.coordinators.buttons import (
    AudienceButton,
    Step,
    StepButton,
    StopButton,
    ValueButton,
    ViewButton,
)
from bot.domain.campaign import CampaignPack
from bot.storage.models import Official
from messages import channel_name, t

FLOW = "broadcast"
KINDS = broadcasts.AUDIENCE_KINDS
MULTI = ("groups",)  # several values may be chosen (the others take one)


class BroadcastChat:
    """/thongbao, /lichsu, /dunggui and the broadcast buttons."""

    def __init__(
        self, pack: CampaignPack, *, key: bytes, channels: Mapping[str, Capabilities]
    ) -> None:
        self.pack = pack
        self.key = key
        self.channels = dict(channels)  # how each channel cuts a long text

    def register(self, router: Router) -> None:
        """Add the broadcast commands, buttons and flow."""
        router.command(("thongbao", "broadcast"), self.start)
        router.command(("lichsu", "history"), self.history)
        router.command(("dunggui", "stopbroadcast"), self.stop_command)
        router.choice(StepButton, self.on_button)  # and the other `bc:` buttons: one prefix
        router.flow(FLOW, self.on_text)

    # ---- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _data(turn: Turn) -> dict[str, Any]:
        try:
            data = json.loads(turn.state.data or "{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _choice(self, turn: Turn, key: str, step: Step, **fields: object) -> Choice:
        label = turn.text(f"coordinators.broadcast.{key}", **fields)
        return Choice(label, StepButton(step=step).pack())

    def _say(self, turn: Turn, key: str, *choices: Choice, **fields: object) -> None:
        turn.say_text(turn.text(f"coordinators.broadcast.{key}", **fields), choices=choices)

    def _error(self, turn: Turn, err: BroadcastError) -> None:
        turn.say_text(turn.text(err.key, **err.fields))

    async def _coordinator(self, turn: Turn, command: str) -> Official | None:
        official = await roles.require_coordinator(turn, key=self.key, command=command)
        if official is None and turn.flow == FLOW:
            turn.clear_flow()
        return official

    # ---- the text --------------------------------------------------------------------------

    async def start(self, turn: Turn) -> None:
        """/thongbao: ask for the text."""
        if await self._coordinator(turn, "thongbao") is None:
            return
        turn.set_flow(FLOW, "text", {"text": ""})
        self._say(turn, "ask_text", self._choice(turn, "quit_button", Step.QUIT))

    async def on_text(self, turn: Turn) -> None:
        """Text typed in the flow: a part of the announcement, or the time of a schedule."""
        if await self._coordinator(turn, "thongbao") is None:
            return
        data = self._data(turn)
        if turn.step == "when":
            await self._schedule(turn, data, turn.inbound.text)
            return
        if turn.step != "text":
            self._say(turn, "use_buttons")
            return
        text = (data.get("text", "") + "\n\n" + turn.inbound.text).strip()
        if len(text) > broadcasts.MAX_TEXT:
            self._say(
                turn,
                "too_long",
                self._choice(turn, "next_button", Step.NEXT),
                self._choice(turn, "quit_button", Step.QUIT),
                length=len(text),
                limit=broadcasts.MAX_TEXT,
            )
            return
        turn.set_flow(FLOW, "text", {"text": text})
        self._say(
            turn,
            "got_text",
            self._choice(turn, "next_button", Step.NEXT),
            self._choice(turn, "quit_button", Step.QUIT),
            length=len(text),
        )

    # ---- the buttons -----------------------------------------------------------------------

    async def on_button(self, turn: Turn) -> None:
        """Every `bc:` button: stop, an audience, a value, or a step."""
        data = turn.inbound.choice_data
        stop = StopButton.unpack(data)
        if await self._coordinator(turn, "dunggui" if stop else "thongbao") is None:
            return
        if stop is not None:
            await self._stop(turn, str(stop.broadcast))
            return
        state = self._data(turn)
        step = StepButton.unpack(data)
        if step is not None and step.step is Step.QUIT:
            turn.clear_flow()
            self._say(turn, "quit")
        elif turn.flow != FLOW:
            turn.say("coordinators.chat.stale_button")
        elif (audience := AudienceButton.unpack(data)) is not None and audience.kind in KINDS:
            state.update(kind=audience.kind, values=[])
            if broadcasts.audience_values(self.pack, audience.kind):
                self._ask_values(turn, state)
            else:
                await self._preview(turn, state)
        elif (value := ValueButton.unpack(data)) is not None:
            await self._pick_value(turn, state, value.index)
        elif (view := ViewButton.unpack(data)) is not None:
            await self._view(turn, state, view.channel)
        elif step is not None:
            await self._on_step(turn, state, step.step)
        else:
            turn.say("coordinators.chat.stale_button")

    async def _on_step(self, turn: Turn, state: dict[str, Any], step: Step) -> None:
        if step is Step.NEXT:
            if not state.get("text", "").strip():
                turn.say("coordinators.broadcast.empty")
                return
            self._ask_audience(turn, state)
        elif step is Step.DONE:
            await self._preview(turn, state)
        elif step in (Step.GO, Step.URGENT):
            await self._confirm(turn, state, urgent=step is Step.URGENT, send_at=None)
        elif step is Step.AT:
            turn.set_flow(FLOW, "when", state)
            self._say(turn, "ask_when", self._choice(turn, "quit_button", Step.QUIT))

    def _ask_audience(self, turn: Turn, data: dict[str, Any]) -> None:
        turn.set_flow(FLOW, "audience", data)
        choices = [
            Choice(
                turn.text(f"coordinators.broadcast.audience.{kind}"),
                AudienceButton(kind=kind).pack(),
            )
            for kind in KINDS
        ]
        self._say(turn, "ask_audience", *choices, self._choice(turn, "quit_button", Step.QUIT))

    def _value_label(self, turn: Turn, kind: str, value: str) -> str:
        if kind == "type":
            return t(f"agencies.type.{value}", turn.lang)
        if kind == "lang":
            return t(f"languages.{value}", turn.lang)
        if kind == "missing":
            deadline = next((d for d in self.pack.deadlines if d.id == value), None)
            return deadline.title if deadline is not None else value
        return value

    def _ask_values(self, turn: Turn, data: dict[str, Any]) -> None:
        kind = data["kind"]
        chosen = set(data.get("values", []))
        options = broadcasts.audience_values(self.pack, kind)
        choices = []
        for index, value in enumerate(options):
            label = self._value_label(turn, kind, value)
            choices.append(
                Choice(("✓ " if value in chosen else "") + label, ValueButton(index=index).pack())
            )
        if kind in MULTI:
            choices.append(self._choice(turn, "done_button", Step.DONE))
        turn.set_flow(FLOW, "values", data)
        key = "ask_values_multi" if kind in MULTI else "ask_values"
        turn.say(
            f"coordinators.broadcast.{key}",
            choices=choices,
            columns=3 if len(choices) > 8 else 1,
        )

    async def _pick_value(self, turn: Turn, data: dict[str, Any], index: int) -> None:
        kind = data.get("kind", "")
        options = list(broadcasts.audience_values(self.pack, kind))
        if not 0 <= index < len(options):
            turn.say("coordinators.chat.stale_button")
            return
        value = options[index]
        values = list(data.get("values", []))
        if kind in MULTI:
            values = [v for v in values if v != value] if value in values else [*values, value]
            data["values"] = values
            self._ask_values(turn, data)
            return
        data["values"] = [value]
        await self._preview(turn, data)

    # ---- preview, confirm, schedule --------------------------------------------------------

    async def _preview(self, turn: Turn, data: dict[str, Any]) -> None:
        audience = Audience(str(data.get("kind", "")), tuple(data.get("values", [])))
        if audience.kind in MULTI and not audience.values:
            self._say(turn, "pick_one")
            self._ask_values(turn, data)
            return
        try:
            text = broadcasts.check_text(data.get("text", ""))
            shown = await broadcasts.preview(
                turn.session, self.pack, audience, text, channels=self.channels, now=turn.now
            )
        except BroadcastError as err:
            self._error(turn, err)
            return
        if not shown.recipients:
            self._say(turn, "nobody")
            self._ask_audience(turn, data)
            return
        row = await broadcasts.create(
            turn.session,
            author=audit.chat_hash(self.key, turn.channel, turn.chat_id),
            channel=turn.channel,
            chat_id=turn.chat_id,
            text=text,
            audience=audience,
            now=turn.now,
        )
        own = broadcasts.parts_for(self.channels, turn.channel, text)
        data.update(id=row.id, views=preview.views(shown, own))
        turn.set_flow(FLOW, "confirm", data)
        for part in own:  # the text in full, as the coordinator's own channel shows it
            turn.say_text(part, numbered=False)
        label = self._audience_label(turn, audience)
        turn.say_text(
            preview.preview_text(shown, own, audience=label, lang=turn.lang),
            choices=self._confirm_choices(turn, data),
        )

    def _confirm_choices(self, turn: Turn, data: dict[str, Any]) -> list[Choice]:
        return [
            self._choice(turn, "go_button", Step.GO),
            self._choice(turn, "urgent_button", Step.URGENT),
            self._choice(turn, "at_button", Step.AT),
            *preview.view_choices(data.get("views") or {}, turn.lang),
            self._choice(turn, "quit_button", Step.QUIT),
        ]

    async def _view(self, turn: Turn, data: dict[str, Any], channel: str) -> None:
        """The draft's text in full as `channel` sends it; the confirm step stays."""
        count = (data.get("views") or {}).get(channel)
        broadcast_id = data.get("id")
        text = None
        if turn.step == "confirm" and count and isinstance(broadcast_id, int):
            text = await broadcasts.draft_text(turn.session, broadcast_id)
        if text is None:
            turn.say("coordinators.chat.stale_button")
            return
        parts = broadcasts.parts_for(self.channels, channel, text)
        resplit = any(
            len(broadcasts.parts_for(self.channels, turn.channel, part)) > 1 for part in parts
        )
        turn.say_text(preview.view_head(channel, len(parts), resplit=resplit, lang=turn.lang))
        for part in parts:
            turn.say_text(part, numbered=False)
        self._say(
            turn,
            "view_end",
            *self._confirm_choices(turn, data),
            channel=channel_name(channel, turn.lang),
        )

    def _audience_label(self, turn: Turn, audience: Audience) -> str:
        label = turn.text(f"coordinators.broadcast.audience.{audience.kind}")
        if audience.values:
            names = ", ".join(self._value_label(turn, audience.kind, v) for v in audience.values)
            label += f": {names}"
        return label[:190]

    async def _confirm(
        self, turn: Turn, data: dict[str, Any], *, urgent: bool, send_at: Any
    ) -> None:
        broadcast_id = data.get("id")
        if not isinstance(broadcast_id, int):
            turn.say("coordinators.chat.stale_button")
            return
        try:
            row = await broadcasts.confirm(
                turn.session, self.pack, broadcast_id, now=turn.now, send_at=send_at, urgent=urgent
            )
        except BroadcastError as err:
            turn.clear_flow()
            self._error(turn, err)
            return
        turn.clear_flow()
        audience = Audience.from_json(row.audience)
        await audit.record(
            turn.session,
            now=turn.now,
            role="coordinator",
            actor=audit.chat_hash(self.key, turn.channel, turn.chat_id),
            action="broadcast",
            detail=f"#{row.id} {audience.kind} {row.recipients}"
            + (" urgent" if urgent else "")
            + (f" at {format_vn_datetime(send_at)}" if send_at else ""),
        )
        if send_at is not None:
            self._say(turn, "scheduled", id=row.id, at=format_vn_datetime(send_at),
                      people=row.recipients)  # fmt: skip
        else:
            self._say(turn, "sending", id=row.id, people=row.recipients)

    async def _schedule(self, turn: Turn, data: dict[str, Any], typed: str) -> None:
        try:
            send_at = broadcasts.parse_when(typed, now=turn.now)
        except BroadcastError as err:
            self._error(turn, err)
            return
        await self._confirm(turn, data, urgent=False, send_at=send_at)

    # ---- stopping and history --------------------------------------------------------------

    async def stop_command(self, turn: Turn) -> None:
        """/dunggui [number]: stop a broadcast (the newest running one when no number)."""
        if await self._coordinator(turn, "dunggui") is None:
            return
        wanted = turn.inbound.args.strip().lstrip("#")
        if wanted.isdigit():
            await self._stop(turn, wanted)
            return
        running = await broadcasts.running(turn.session)
        if not running:
            self._say(turn, "nothing_running")
            return
        await self._stop(turn, str(running[-1].id))

    async def _stop(self, turn: Turn, argument: str) -> None:
        if not argument.isdigit():
            turn.say("coordinators.chat.stale_button")
            return
        try:
            changed, outcome, stopped = await broadcasts.cancel(
                turn.session, int(argument), now=turn.now
            )
        except BroadcastError as err:
            self._error(turn, err)
            return
        if changed:
            await audit.record(
                turn.session,
                now=turn.now,
                role="coordinator",
                actor=audit.chat_hash(self.key, turn.channel, turn.chat_id),
                action="cancel",
                detail=f"#{argument} {stopped} stopped",
            )
            self._say(turn, "stopped", id=argument, stopped=stopped)
        elif outcome == "done":
            self._say(turn, "already_done", id=argument)
        else:
            self._say(turn, "already_cancelled", id=argument)

    async def history(self, turn: Turn) -> None:
        """/lichsu: the newest broadcasts with their figures."""
        if await self._coordinator(turn, "lichsu") is None:
            return
        rows = await broadcasts.history(turn.session)
        if not rows:
            self._say(turn, "no_history")
            return
        lines = [turn.text("coordinators.broadcast.history_head")]
        for row in rows:
            figures = (
                await broadcasts.progress(turn.session, row.run_id)
                if row.run_id is not None
                else broadcasts.Progress(0, 0, 0, 0, 0)
            )
            lines.append(
                turn.text(
                    "coordinators.broadcast.history_line",
                    id=row.id,
                    when=format_vn_datetime(row.send_at or row.confirmed_at or row.created_at),
                    status=turn.text(f"coordinators.broadcast.status.{row.status}"),
                    audience=self._audience_label(turn, Audience.from_json(row.audience)),
                    sent=figures.sent,
                    total=figures.total,
                    failed=figures.failed,
                    blocked=figures.blocked,
                )
            )
            if figures.held:
                lines[-1] += turn.text("coordinators.broadcast.held_note", held=figures.held)
        turn.say_text("\n".join(lines))
