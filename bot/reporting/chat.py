"""The officials' conversation: bind with an invite code, fill and send the report, see it.

Commands: `/start <code>` (through Residents' /start), `/baocao`, `/baocaocuatoi`, `/nhanh`.
The form itself is `bot.domain.forms` (pure); this module loads the chat's draft row, runs one
step, and saves the row in the same transaction as the reply (Conversation's turn).

Who sees what: every query is keyed by the agency the chat is bound to, read from the database;
no command takes an agency from the person, so an official of A can never reach B's report.

Buttons: the engine's data (`f|<draft>|<nonce>|<action>`) travels as `rp:<data>` so the router
sends it here. Conversation turns a typed «2» (or a typed label) into a press of the last
choices; the form engine has its own, stricter rule (in a number question «2» is the answer),
so a press that arrives with typed text is handed to the engine as that text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from bot.channels.base import Choice
from bot.chat.router import Router
from bot.chat.turn import Turn
from bot.clock import format_vn_datetime
from bot.domain.campaign import Agency, CampaignPack, ReportForm
from bot.domain.forms import (
    FormInput,
    FormReply,
    FormState,
    QuickFillError,
    describe_row,
    draft_expired,
    prompt,
    quick_fill,
    quick_fill_error_text,
    start,
    state_fits,
    step,
    summary_text,
    unusual_fields,
)
from bot.domain.numbers import NumberError
from bot.domain.text import fold
from bot.reporting import officials, reminders
from bot.reporting import reports as service
from bot.reporting import repository as repo
from bot.storage.models import Official, ReportDraft
from messages import t

REPORT_FLOW = "report"
BUTTON_PREFIX = "rp"

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

    def register(self, router: Router) -> None:
        """Add the officials' commands, the form's buttons and its flow to the router."""
        router.command(("baocao", "report"), self.report)
        router.command(("baocaocuatoi", "myreport"), self.my_report)
        router.command(("nhanh", "quick"), self.quick)
        router.choice(BUTTON_PREFIX, self.on_button)
        router.flow(REPORT_FLOW, self.on_text)

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
                turn.clear_flow()
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
        found = await self._reporter(turn)
        if found is None:
            return
        official, agency, form = found
        notes: list[str] = []
        live = await self._live_draft(turn, official, form, notes)
        if live is not None:
            draft, state = live
            notes.append(
                turn.text(
                    "reports.resume",
                    agency=agency.name,
                    updated=format_vn_datetime(draft.updated_at),
                )
            )
            await self._save(turn, official, draft.deadline_id, state, draft)
            self._send(turn, notes, prompt(form, state, lang=turn.lang))
            return
        deadline = service.current_deadline(self.pack, turn.now)
        if deadline is None:
            turn.say("reports.no_deadline")
            return
        assert official.agency_id is not None
        sent = await service.agency_report(
            turn.session, agency_id=official.agency_id, deadline_id=deadline.id
        )
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
        await self._save(turn, official, deadline.id, state, None)
        self._send(turn, notes, reply)

    async def on_button(self, turn: Turn) -> None:
        """A button of the form (`rp:…`)."""
        data = (turn.inbound.choice_data or "").removeprefix(BUTTON_PREFIX + ":")
        typed = turn.inbound.text
        inp = FormInput.typed(typed) if typed else FormInput.pressed(data)
        await self._step(turn, inp)

    async def on_text(self, turn: Turn) -> None:
        """Text typed while the chat is in the report form."""
        await self._step(turn, FormInput.typed(turn.inbound.text))

    async def _step(self, turn: Turn, inp: FormInput) -> None:
        found = await self._reporter(turn)
        if found is None:
            return
        official, agency, form = found
        notes: list[str] = []
        live = await self._live_draft(turn, official, form, notes)
        if live is None:
            if turn.flow == REPORT_FLOW:
                turn.clear_flow()
            if notes:  # expired just now: that message says it all
                turn.say_text("\n\n".join(notes))
            else:
                turn.say("reports.form_expired")
            return
        draft, state = live
        new, reply = step(form, state, inp, lang=turn.lang)
        if reply.submitted is not None:
            await self._submit(turn, official, agency, draft, reply)
            return
        if reply.cancelled or new.mode in ("submitted", "cancelled"):
            await repo.delete_draft(turn.session, channel=turn.channel, chat_id=turn.chat_id)
            turn.clear_flow()
            turn.say_text(reply.text)
            return
        if new != state:
            await self._save(turn, official, draft.deadline_id, new, draft)
        else:
            self._enter_flow(turn)
        self._send(turn, [], reply)

    async def _submit(
        self, turn: Turn, official: Official, agency: Agency, draft: ReportDraft, reply: FormReply
    ) -> None:
        assert reply.submitted is not None
        await repo.delete_draft(turn.session, channel=turn.channel, chat_id=turn.chat_id)
        turn.clear_flow()
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
        found = await self._reporter(turn)
        if found is None:
            return
        official, agency, form = found
        deadline = service.current_deadline(self.pack, turn.now)
        if deadline is None:
            turn.say("reports.no_deadline")
            return
        assert official.agency_id is not None
        sent = await service.agency_report(
            turn.session, agency_id=official.agency_id, deadline_id=deadline.id
        )
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

    # ---- the one-line form ------------------------------------------------------------------

    async def quick(self, turn: Turn) -> None:
        """/nhanh <alias> n1 n2 …: understand one table row and add it to the draft."""
        found = await self._reporter(turn)
        if found is None:
            return
        official, _agency, form = found
        alias, _, rest = turn.inbound.args.strip().partition(" ")
        if not alias:
            turn.say_text(self._quick_usage(turn, form))
            return
        quick = next((q for q in form.quick if q.alias == fold(alias)), None)
        if quick is None:
            unknown = turn.text("reports.quick.unknown", alias=alias[:32])
            turn.say_text(f"{unknown}\n{self._quick_usage(turn, form)}")
            return
        try:
            row = quick_fill(form, quick, rest)
        except QuickFillError as err:
            turn.say_text(quick_fill_error_text(err, turn.lang))
            return
        except NumberError as err:
            turn.say_text(t(err.key, turn.lang, **err.fields))
            return
        notes: list[str] = []
        live = await self._live_draft(turn, official, form, notes)
        draft = live[0] if live is not None else None
        if live is not None:
            state = service.add_row(live[1], quick.section, row)
            deadline_id = live[0].deadline_id
        else:
            deadline = service.current_deadline(self.pack, turn.now)
            if deadline is None:
                turn.say("reports.no_deadline")
                return
            assert official.agency_id is not None
            sent = await service.agency_report(
                turn.session, agency_id=official.agency_id, deadline_id=deadline.id
            )
            data = sent.latest_data()
            if data is not None and not service.is_on_time(deadline, turn.now):
                turn.say(
                    "reports.amend_closed",
                    agency=_agency.name,
                    due=service.format_due(deadline),
                )
                return
            if data is not None:
                state = service.add_row(
                    service.amend_state(data, turn.randomness), quick.section, row
                )
            else:
                state = service.quick_state(quick.section, row, turn.randomness)
            deadline_id = deadline.id
        notes.append(
            turn.text("reports.quick.added", row=describe_row(form, quick.section, row, turn.lang))
        )
        unusual = unusual_fields(form, quick.section, row)
        if unusual:
            section = next(s for s in form.sections if s.id == quick.section)
            labels = ", ".join(f.label for f in section.fields if f.id in unusual)
            notes.append(turn.text("reports.quick.unusual", labels=labels))
        await self._save(turn, official, deadline_id, state, draft)
        self._send(turn, notes, prompt(form, state, lang=turn.lang))

    def _quick_usage(self, turn: Turn, form: ReportForm) -> str:
        lines = []
        for q in form.quick:
            section = next(s for s in form.sections if s.id == q.section)
            labels = {f.id: f.label for f in section.fields}
            fields = " ".join(f"<{labels[name]}>" for name in q.fields)
            lines.append(turn.text("reports.quick.line", alias=q.alias, fields=fields))
        return turn.text("reports.quick.usage", lines="\n".join(lines))

    # ---- helpers ----------------------------------------------------------------------------

    async def _reporter(self, turn: Turn) -> tuple[Official, Agency, ReportForm] | None:
        """The chat's official, agency and form; answers and returns None if it has none."""
        official = await repo.get_official(turn.session, channel=turn.channel, chat_id=turn.chat_id)
        agency = officials.agency_of(self.pack, official.agency_id if official else None)
        form = self.pack.report_form
        if official is None:
            key = "reports.not_official"
        elif official.role != "official":
            key = "reports.coordinator_no_form"
        elif agency is None:
            key = "reports.agency_gone"
        elif form is None:
            key = "reports.no_form"
        else:
            return official, agency, form
        if turn.flow == REPORT_FLOW:  # typed text must not keep landing in a form it cannot use
            turn.clear_flow()
        turn.say(key)
        return None

    async def _live_draft(
        self, turn: Turn, official: Official, form: ReportForm, notes: list[str]
    ) -> tuple[ReportDraft, FormState] | None:
        """The chat's usable draft and its state; an expired, foreign or outdated one is dropped
        (with a note)."""
        draft = await repo.get_draft(turn.session, channel=turn.channel, chat_id=turn.chat_id)
        if draft is None:
            return None
        note: str | None = None
        if draft.agency_id != official.agency_id:
            note = None  # the chat was bound to another agency since: silently not its draft
        elif draft_expired(draft.updated_at, turn.now, form.draft_ttl_hours):
            note = turn.text("reports.draft.expired", title=form.title)
        else:
            try:
                state = FormState.from_json(draft.state_json)
            except ValueError:
                state = None
            if state is not None and state_fits(form, state):
                return draft, state
            note = turn.text("reports.form_changed")
        await repo.delete_draft(turn.session, channel=turn.channel, chat_id=turn.chat_id)
        if note is not None:
            notes.append(note)
        return None

    async def _save(
        self,
        turn: Turn,
        official: Official,
        deadline_id: str,
        state: FormState,
        draft: ReportDraft | None,
    ) -> None:
        assert official.agency_id is not None
        await repo.save_draft(
            turn.session,
            row=draft,
            channel=turn.channel,
            chat_id=turn.chat_id,
            agency_id=official.agency_id,
            deadline_id=deadline_id,
            state_json=state.to_json(),
            now=turn.now,
        )
        self._enter_flow(turn)

    @staticmethod
    def _enter_flow(turn: Turn) -> None:
        if turn.flow != REPORT_FLOW:
            turn.set_flow(REPORT_FLOW, "form")

    @staticmethod
    def _send(turn: Turn, notes: Sequence[str], reply: FormReply) -> None:
        text = "\n\n".join([*notes, reply.text])
        turn.say_text(text, choices=_wrap(reply.choices), numbered=reply.numbered)


def _wrap(choices: Sequence[Choice]) -> list[Choice]:
    return [Choice(label=c.label, data=f"{BUTTON_PREFIX}:{c.data}") for c in choices]
