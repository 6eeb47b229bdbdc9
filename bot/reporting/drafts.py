"""What the officials' chat handlers share: who is reporting, the chat's live draft, saving it,
and sending the form's reply with its buttons routed back to the form."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.channels.base import Choice
from bot.chat.turn import Turn
from bot.domain.campaign import Agency, CampaignPack, Deadline, ReportForm
from bot.domain.forms import FormState, draft_expired, state_fits
from bot.reporting import officials
from bot.reporting import reports as service
from bot.reporting import repository as repo
from bot.reporting.buttons import FormButton
from bot.reporting.form_render import FormReply
from bot.storage.models import Official, ReportDraft

REPORT_FLOW = "report"


async def reporter(pack: CampaignPack, turn: Turn) -> tuple[Official, Agency, ReportForm] | None:
    """The chat's official, agency and form; answers and returns None if it has none."""
    official = await repo.get_official(turn.session, channel=turn.channel, chat_id=turn.chat_id)
    agency = officials.agency_of(pack, official.agency_id if official else None)
    form = pack.report_form
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
        leave(turn)
    turn.say(key)
    return None


async def current_report(
    pack: CampaignPack, turn: Turn, official: Official
) -> tuple[Deadline, service.AgencyReport] | None:
    """The current deadline and what the official's agency has sent for it; answers and
    returns None when the pack has no deadline."""
    deadline = service.current_deadline(pack, turn.now)
    if deadline is None:
        turn.say("reports.no_deadline")
        return None
    assert official.agency_id is not None
    sent = await service.agency_report(
        turn.session, agency_id=official.agency_id, deadline_id=deadline.id
    )
    return deadline, sent


async def live_draft(
    turn: Turn, official: Official, form: ReportForm, notes: list[str]
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


async def save(
    turn: Turn,
    official: Official,
    deadline_id: str,
    state: FormState,
    draft: ReportDraft | None,
) -> None:
    """Save the chat's draft with `state` and keep the chat in the form."""
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
    enter_flow(turn)


def enter_flow(turn: Turn) -> None:
    """Put the chat in the report form (typed text goes to it)."""
    if turn.flow != REPORT_FLOW:
        turn.set_flow(REPORT_FLOW, "form")


def leave(turn: Turn) -> None:
    """Out of the form (or the /nhanh question): the last question's buttons are spent."""
    turn.clear_flow()
    turn.retire_choices()


def send(turn: Turn, notes: Sequence[str], reply: FormReply) -> None:
    """The notes and the form's reply in one message, its buttons routed back to the form and
    good for this step only (the previous question's buttons are taken off)."""
    text = "\n\n".join([*notes, reply.text])
    turn.say_text(text, choices=_wrap(reply.choices), numbered=reply.numbered, single_use=True)


def _wrap(choices: Sequence[Choice]) -> list[Choice]:
    return [replace(c, data=FormButton.of(c.data).pack()) for c in choices]
