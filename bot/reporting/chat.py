"""The officials' conversation: bind with an invite code, fill and send the report, see it.

Commands: `/start <code>` (through Residents' /start), `/baocao`, `/baocaocuatoi`; `/nhanh` is
quick_chat.py, the helpers they share are drafts.py. While a chat is in the form, the form is a
mode: anything that is not an answer (a photo, /start, /huy, another button) is answered inside it.
The form itself is `bot.domain.forms` (pure), put into words by
`bot.reporting.form_render`; this module loads the chat's draft row, runs one
step, and saves the row in the same transaction as the reply (Conversation's turn).

Who sees what: every query is keyed by the agency the chat is bound to, read from the database;
no command takes an agency from the person, so an official of A can never reach B's report.

Buttons: the engine's data (`f|<draft>|<nonce>|<action>`) travels as the typed callback data
`FormButton` (`rp:f|<draft>|<nonce>|<action>`, bot/reporting/buttons.py) so the router sends it
here. Conversation turns a typed «2» (or a typed label) into a press of the last
choices; the form engine has its own, stricter rule (in a number question «2» is the answer),
so a press that arrives with typed text is handed to the engine as that text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.channels.base import InboundKind
from bot.chat.callbacks import prefix_of
from bot.chat.router import Router
from bot.chat.smalltalk import is_small_talk
from bot.chat.turn import Turn
from bot.clock import format_vn_datetime
from bot.domain.campaign import Agency, CampaignPack
from bot.domain.forms import (
    FormInput,
)
from bot.reporting import drafts, officials, reminders
from bot.reporting import reports as service
from bot.reporting import repository as repo
from bot.reporting.buttons import FormButton, QuickButton
from bot.reporting.drafts import REPORT_FLOW
from bot.reporting.form_render import (
    FormReply,
    prompt,
    start,
    step,
    summary_text,
)
from bot.reporting.quick_chat import QuickRows
from bot.storage.models import Official, ReportDraft

# Button data whose message loses its keyboard once pressed (the channel edits it, where it can).
SPENT_BUTTONS = (f"{FormButton.__prefix__}:", f"{QuickButton.__prefix__}:")
# Commands that keep their own meaning inside the form (everything else is answered by the form).
_PASS_COMMANDS = frozenset(
    {"baocao", "report", "baocaocuatoi", "myreport", "nhanh", "quick", "trogiup", "help"}
    | {"tro_giup", "xoadulieu", "deletedata"}
)
# Commands that are words of the form itself: /huy asks about the draft, /tamdung pauses.
_FORM_WORDS = frozenset(
    {"huy", "cancel", "quaylai", "back", "boqua", "skip", "gui", "send", "xem", "show"}
    | {"tamdung", "pause"}
)

# Called after a chat was bound with an invite code, with the outcome («bound» | «rebound»):
# the coordinators' package audits it and gives the chat its role's command menu.
OnBound = Callable[[Turn, Official, str], Awaitable[None]]


async def _nothing_on_bound(turn: Turn, official: Official, outcome: str) -> None:
    return None


class Reporting:
    """Officials' commands and the report form conversation for one campaign pack."""

    def __init__(self, pack: CampaignPack, *, on_bound: OnBound = _nothing_on_bound) -> None:
        self.pack = pack
        self._on_bound = on_bound
        self.quick_rows = QuickRows(pack)

    def register(self, router: Router) -> None:
        """Add the officials' commands, the form's buttons and its flow to the router."""
        router.command(("baocao", "report"), self.report)
        router.command(("baocaocuatoi", "myreport"), self.my_report)
        router.choice(FormButton, self.on_button)
        self.quick_rows.register(router)
        router.flow(REPORT_FLOW, self.on_text, words=False)
        router.mode(REPORT_FLOW, _claims, self.in_form)

    # ---- the form as a mode -----------------------------------------------------------------

    async def in_form(self, turn: Turn) -> None:
        """Anything but an answer while in the form (a photo, /start, /huy, another button): an
        answer inside the form — what it expects now and how to pause or leave."""
        command = turn.inbound.command
        word = command if command is not None and command in _FORM_WORDS else "show"
        await self._step(turn, FormInput.word(word), note=turn.text("reports.in_form"))

    async def role_start(self, turn: Turn) -> str | None:
        """The greeting of a bound official or coordinator for a bare /start (their commands);
        None for a chat with no such role."""
        official = await repo.get_official(turn.session, channel=turn.channel, chat_id=turn.chat_id)
        if official is None:
            return None
        agency = officials.agency_of(self.pack, official.agency_id)
        if official.role == "official" and agency is not None:
            return turn.text("reports.start_official", agency=agency.name)
        return turn.text("reports.start_coordinator", locality=self.pack.campaign.locality)

    async def role_help(self, turn: Turn) -> str:
        """The commands of the chat's role for /trogiup ("" if it has none)."""
        official = await repo.get_official(turn.session, channel=turn.channel, chat_id=turn.chat_id)
        if official is None:
            return ""
        if official.role == "official":
            return turn.text("reports.help_official")
        return turn.text("reports.help_coordinator")

    # ---- binding ----------------------------------------------------------------------------

    async def start_payload(self, turn: Turn) -> None:
        """`/start <code>`: bind this chat with an invite code."""
        result = await officials.redeem_invite(
            turn.session,
            pack=self.pack,
            channel=turn.channel,
            chat_id=turn.chat_id,
            code=turn.inbound.args,
            lang=turn.lang,
            now=turn.now,
        )
        if result.outcome == "rate_limited":
            turn.say("officials.rate_limited")
            return
        if result.outcome == "refused" or result.official is None:
            turn.say("officials.invalid_code")
            return
        official = result.official
        # A draft of the agency this chat reported for before is no longer its business.
        draft = await repo.get_draft(turn.session, channel=turn.channel, chat_id=turn.chat_id)
        if draft is not None and draft.agency_id != official.agency_id:
            await repo.delete_draft(turn.session, channel=turn.channel, chat_id=turn.chat_id)
            if turn.flow == REPORT_FLOW:
                drafts.leave(turn)
        agency = officials.agency_of(self.pack, official.agency_id)
        if official.role == "coordinator" or agency is None:
            text = turn.text("officials.bound_coordinator", locality=self.pack.campaign.locality)
        else:
            text = turn.text("officials.bound_official", agency=agency.name)
        if result.outcome == "rebound":
            text += "\n" + turn.text("officials.rebound")
        turn.say_text(text)
        await self._on_bound(turn, official, result.outcome)

    # ---- the report -------------------------------------------------------------------------

    async def report(self, turn: Turn) -> None:
        """/baocao: resume the chat's draft, or start one (a sent report opens for amending)."""
        found = await drafts.reporter(self.pack, turn)
        if found is None:
            return
        official, agency, form = found
        notes: list[str] = []
        live = await drafts.live_draft(turn, official, form, notes)
        if live is not None:
            draft, state = live
            notes.append(
                turn.text(
                    "reports.resume",
                    agency=agency.name,
                    updated=format_vn_datetime(draft.updated_at),
                )
            )
            await drafts.save(turn, official, draft.deadline_id, state, draft)
            drafts.send(turn, notes, prompt(form, state, lang=turn.lang))
            return
        current = await drafts.current_report(self.pack, turn, official)
        if current is None:
            return
        deadline, sent = current
        due = service.format_due(deadline)
        on_time = service.is_on_time(deadline, turn.now)
        data = sent.latest_data()
        if data is not None and sent.latest is not None:
            if not on_time:
                turn.say("reports.amend_closed", agency=agency.name, due=due)
                return
            state = service.amend_state(data, turn.randomness)
            notes.append(
                turn.text(
                    "reports.amend_intro",
                    agency=agency.name,
                    version=sent.latest.version,
                    last_day=service.format_last_day(deadline),
                )
            )
            reply = prompt(form, state, lang=turn.lang)
        else:
            state, reply = start(
                form, draft_id=service.new_draft_id(turn.randomness), lang=turn.lang
            )
            notes.append(
                turn.text(
                    "reports.start_intro",
                    agency=agency.name,
                    deadline=service.deadline_title(deadline, turn.lang),
                    due=due,
                )
            )
            if not on_time:
                notes.append(turn.text("reports.late_note", due=due))
        await drafts.save(turn, official, deadline.id, state, None)
        drafts.send(turn, notes, reply)

    async def on_button(self, turn: Turn) -> None:
        """A button of the form (`rp:f|<draft>|<nonce>|<action>`)."""
        typed = turn.inbound.text
        button = FormButton.unpack(turn.inbound.choice_data)
        # A malformed or foreign press reaches the engine as stale data: «an old message».
        data = button.engine_data() if button is not None else "stale"
        inp = FormInput.typed(typed) if typed else FormInput.pressed(data)
        await self._step(turn, inp)

    async def on_text(self, turn: Turn) -> None:
        """Text typed while the chat is in the report form; a greeting or thanks alone is not
        an answer (not even to a free-text question): the form says what it expects."""
        inbound = turn.inbound
        if is_small_talk(inbound.text):
            note = turn.text("reports.in_form_small_talk")
            await self._step(turn, FormInput.word("show"), note=note)
            return
        await self._step(turn, FormInput.typed(inbound.text, length=inbound.text_length))

    async def _step(self, turn: Turn, inp: FormInput, *, note: str | None = None) -> None:
        found = await drafts.reporter(self.pack, turn)
        if found is None:
            return
        official, agency, form = found
        notes: list[str] = []
        live = await drafts.live_draft(turn, official, form, notes)
        if live is None:
            if turn.flow == REPORT_FLOW:
                drafts.leave(turn)
            if notes:  # expired just now: that message says it all
                turn.say_text("\n\n".join(notes))
            else:
                turn.say("reports.form_expired")
            return
        draft, state = live
        new, reply = step(form, state, inp, lang=turn.lang)
        if reply.paused:
            drafts.leave(turn)
            turn.say_text(reply.text)
            return
        if reply.submitted is not None:
            await self._submit(turn, official, agency, draft, reply)
            return
        if reply.cancelled or new.mode in ("submitted", "cancelled"):
            await repo.delete_draft(turn.session, channel=turn.channel, chat_id=turn.chat_id)
            drafts.leave(turn)
            turn.say_text(reply.text)
            return
        if new != state:
            await drafts.save(turn, official, draft.deadline_id, new, draft)
        else:
            drafts.enter_flow(turn)
        drafts.send(turn, [note] if note else [], reply)

    async def _submit(
        self, turn: Turn, official: Official, agency: Agency, draft: ReportDraft, reply: FormReply
    ) -> None:
        assert reply.submitted is not None
        await repo.delete_draft(turn.session, channel=turn.channel, chat_id=turn.chat_id)
        drafts.leave(turn)
        deadline = service.deadline_by_id(self.pack, draft.deadline_id) or (
            service.current_deadline(self.pack, turn.now)
        )
        if deadline is None:
            turn.say("reports.no_deadline")
            return
        due = service.format_due(deadline)
        try:
            row = await service.submit_report(
                turn.session,
                official=official,
                deadline=deadline,
                data=reply.submitted,
                now=turn.now,
            )
        except service.AmendClosed as refused:
            turn.refuse(refused.refusal.with_fields(agency=agency.name))
            return
        await reminders.cancel_pending_reminders(
            turn.session,
            campaign_id=self.pack.campaign.id,
            deadline_id=deadline.id,
            agency_id=row.agency_id,
        )
        when = format_vn_datetime(row.submitted_at)
        if row.on_time:
            turn.say(
                "reports.submitted_on_time",
                agency=agency.name,
                when=when,
                version=row.version,
                last_day=service.format_last_day(deadline),
            )
        else:
            turn.say(
                "reports.submitted_late",
                agency=agency.name,
                when=when,
                version=row.version,
                due=due,
            )

    # ---- what was sent ----------------------------------------------------------------------

    async def my_report(self, turn: Turn) -> None:
        """/baocaocuatoi: what the official's own agency has sent for the current deadline."""
        found = await drafts.reporter(self.pack, turn)
        if found is None:
            return
        official, agency, form = found
        current = await drafts.current_report(self.pack, turn, official)
        if current is None:
            return
        deadline, sent = current
        title = service.deadline_title(deadline, turn.lang)
        due = service.format_due(deadline)
        data = sent.latest_data()
        parts: list[str]
        if sent.latest is None or data is None:
            parts = [turn.text("reports.mine.none", agency=agency.name, deadline=title, due=due)]
        else:
            status = turn.text("reports.on_time" if sent.latest.on_time else "reports.late")
            first = turn.text("reports.on_time" if sent.first_on_time else "reports.late")
            parts = [
                turn.text(
                    "reports.mine.head",
                    deadline=title,
                    agency=agency.name,
                    versions=sent.versions,
                    version=sent.latest.version,
                    when=format_vn_datetime(sent.latest.submitted_at),
                    status=status,
                    first=first,
                ),
                summary_text(form, data, turn.lang),
            ]
        draft = await repo.get_draft(turn.session, channel=turn.channel, chat_id=turn.chat_id)
        if draft is not None and draft.agency_id == official.agency_id:
            parts.append(turn.text("reports.mine.draft"))
        turn.say_text("\n\n".join(parts))


def _claims(turn: Turn) -> bool:
    """True for an update in the form that is not an answer to it: the form answers it."""
    inbound = turn.inbound
    if inbound.kind is InboundKind.OTHER:
        return True
    if inbound.kind is InboundKind.COMMAND:
        command = inbound.command or ""
        rebinding = command == "start" and bool(inbound.args)
        return not rebinding and command not in _PASS_COMMANDS
    if inbound.kind is InboundKind.CHOICE:
        return prefix_of(inbound.choice_data or "") != FormButton.__prefix__
    return False
