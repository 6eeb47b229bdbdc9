"""One turn of the form: decode the input, apply it, and say what the person may do next.

`step(form, state, input)` returns the next `FormState` and an `Outcome` (notes as message keys, a
refusal, a stale press, the submitted data). Reading the input is `decode`'s job.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.domain.campaign import FormField, ReportForm
from bot.domain.forms.answers import answer, digits_equal, store
from bot.domain.forms.decode import decode
from bot.domain.forms.navigation import (
    advance,
    delete_allowed,
    enter_section,
    go_back,
    next_section,
    none_allowed,
    to_next_gap,
    to_summary,
)
from bot.domain.forms.state import (
    DRAFT_ID_PATTERN,
    Draft,
    FormData,
    FormInput,
    FormState,
    Note,
    Refusal,
    has_data,
)
from bot.domain.forms.summary import draft_data, find_field, pick_field, start_edit

_DRAFT_ID = re.compile(DRAFT_ID_PATTERN)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one step did, for the chat edge to put into words."""

    notes: tuple[Note, ...] = ()
    refusal: Note | None = None  # the input was refused; the state is unchanged
    stale: bool = False  # a button of an older message; the state is unchanged
    submitted: FormData | None = None
    cancelled: bool = False
    paused: bool = False  # «tạm dừng»: the person leaves the form; the draft is kept as it is


# ---- the handlers per mode ---------------------------------------------------------------------


def _on_pending(form: ReportForm, d: Draft, fld: FormField, action: str, arg: str) -> bool:
    """An answer to «Bạn chắc chắn số …?»; False if the action is not one of its answers."""
    assert d.pending is not None
    if action == "yes":
        store(form, d, fld, d.pending.value)
    elif action == "no":
        d.pending = None
        d.note("forms.retype")
    elif action == "value":
        d.pending = d.pending if digits_equal(arg, d.pending.value, fld) else None
        answer(form, d, arg)
    else:
        return False
    return True


def _on_clearing(form: ReportForm, d: Draft, fld: FormField, action: str) -> bool:
    """An answer to «Bỏ trống câu này (xóa giá trị đã nhập)?»; False if not one of its answers."""
    if action == "yes":
        d.clearing = False
        store(form, d, fld, None)
    elif action in ("no", "back"):
        d.clearing = False
    else:
        return False
    return True


def _pick(form: ReportForm, d: Draft, arg: str) -> None:
    fld = form.sections[d.section].fields[d.field]
    if fld.type != "choice" or int(arg) >= len(fld.choices):
        raise Refusal("forms.error.unknown")
    store(form, d, fld, fld.choices[int(arg)].id)


def _skip(form: ReportForm, d: Draft, arg: str) -> None:
    section = form.sections[d.section]
    fld = section.fields[d.field]
    if fld.required:
        raise Refusal("forms.error.required", label=fld.label)
    if d.current_row(section).get(fld.id) is not None:
        d.clearing = True  # an entered value is never dropped without a «Có»
        return
    store(form, d, fld, None)


def _keep(form: ReportForm, d: Draft, arg: str) -> None:
    section = form.sections[d.section]
    if section.fields[d.field].id not in d.current_row(section):
        raise Refusal("forms.error.nothing_to_keep")
    d.pending = None
    advance(form, d)


def _none(form: ReportForm, d: Draft, arg: str) -> None:
    if not none_allowed(form, d):
        section = form.sections[d.section]
        if section.kind == "table" and has_data(d.tables.get(section.id, [])):
            raise Refusal("forms.error.none_has_data")
        raise Refusal("forms.error.none_not_here")
    d.tables[form.sections[d.section].id] = []
    d.pending = None
    if d.editing is not None:
        to_summary(d)
    else:
        next_section(form, d)


def _delete(form: ReportForm, d: Draft, arg: str) -> None:
    if not delete_allowed(form, d):
        raise Refusal("forms.error.unknown")
    del d.rows(form.sections[d.section])[d.row]
    d.note("forms.row_deleted")
    to_summary(d)


_Action = Callable[[ReportForm, Draft, str], None]
_FILLING: dict[str, _Action] = {
    "choice": _pick,
    "value": answer,
    "back": lambda form, d, arg: go_back(form, d),
    "skip": _skip,
    "keep": _keep,
    "none": _none,
    "delete": _delete,
    "send": lambda form, d, arg: _finish_early(form, d),
}


def _on_filling(form: ReportForm, d: Draft, action: str, arg: str) -> None:
    fld = form.sections[d.section].fields[d.field]
    if d.pending is not None and _on_pending(form, d, fld, action, arg):
        return
    if d.clearing and _on_clearing(form, d, fld, action):
        return
    d.clearing = False
    handler = _FILLING.get(action)
    if handler is None:
        raise Refusal("forms.error.unknown")
    handler(form, d, arg)


def _on_more_rows(form: ReportForm, d: Draft, action: str, arg: str) -> None:
    section = form.sections[d.section]
    if action == "yes":
        d.rows(section).append({})
        d.mode, d.row, d.field = "filling", len(d.rows(section)) - 1, 0
    elif action == "choice":  # the next row's kind, pressed at once
        d.rows(section).append({})
        d.mode, d.row, d.field = "filling", len(d.rows(section)) - 1, 0
        _pick(form, d, arg)
    elif action in ("no", "none"):
        next_section(form, d)
    elif action == "back":
        go_back(form, d)
    else:
        raise Refusal("forms.error.yes_no")


def _finish_early(form: ReportForm, d: Draft) -> None:
    """«gửi» in the middle of the form: what is still missing, then the summary (never a send
    without the summary: it shows what will be sent)."""
    d.pending = None
    if to_next_gap(form, d):
        d.note("forms.error.incomplete")


def _submit(form: ReportForm, d: Draft) -> None:
    """«gửi»: submit, or ask the unanswered required questions one by one (then the summary)."""
    if to_next_gap(form, d):
        d.note("forms.error.incomplete")
        return
    d.submitted = draft_data(form, d)
    d.mode = "submitted"


def _edit(form: ReportForm, d: Draft, arg: str) -> None:
    """«sửa N» (the item), «sửa N nữ» (one field of a row), «sửa N nữ 150» / «sửa 5 2 tr»."""
    number, _, rest = arg.partition(" ")
    start_edit(form, d, int(number))
    if not rest:
        return
    if d.mode == "pick_field":
        found = find_field(form.sections[d.section], rest)
        if found is None:
            raise Refusal("forms.error.no_field", text=rest[:40])
        pick_field(form, d, found[0])
        rest = found[1]
    if rest and d.editing is not None and d.editing.field is not None:
        answer(form, d, rest)


def _on_pick_field(form: ReportForm, d: Draft, action: str, arg: str) -> None:
    if action == "field":
        pick_field(form, d, int(arg))
    elif action == "delete":
        del d.rows(form.sections[d.section])[d.row]
        d.note("forms.row_deleted")
        to_summary(d)
    elif action == "back":
        to_summary(d)
    elif action == "value" and (found := find_field(form.sections[d.section], arg)) is not None:
        pick_field(form, d, found[0])
        if found[1]:
            answer(form, d, found[1])
    else:
        raise Refusal("forms.error.pick_field")


def _on_summary(form: ReportForm, d: Draft, action: str, arg: str) -> None:
    if action == "send":
        _submit(form, d)
    elif action == "edit":
        _edit(form, d, arg)
    elif action == "back":
        go_back(form, d)
    else:
        raise Refusal("forms.error.summary")


def _on_confirm_cancel(form: ReportForm, d: Draft, action: str, arg: str) -> None:
    if action == "yes":
        d.mode = "cancelled"
    elif action in ("no", "back"):
        d.mode = d.before_cancel or "filling"
        d.before_cancel = None
    else:
        raise Refusal("forms.error.yes_no")


_HANDLERS: dict[str, Callable[[ReportForm, Draft, str, str], None]] = {
    "filling": _on_filling,
    "more_rows": _on_more_rows,
    "summary": _on_summary,
    "pick_field": _on_pick_field,
    "confirm_cancel": _on_confirm_cancel,
}


def _apply(form: ReportForm, state: FormState, d: Draft, action: str, arg: str) -> None:
    if action == "show":
        return
    if action == "bad_number":
        raise Refusal("forms.error.no_choice_number", n=arg)
    if action == "cancel" and state.mode != "confirm_cancel":
        d.before_cancel, d.mode = state.mode, "confirm_cancel"
        return
    _HANDLERS[state.mode](form, d, action, arg)


def step(form: ReportForm, state: FormState, inp: FormInput) -> tuple[FormState, Outcome]:
    """One turn of the conversation: the new state and what happened. Pure."""
    if state.mode in ("submitted", "cancelled"):
        return state, Outcome()
    decoded = decode(form, state, inp)
    if decoded == "stale":
        return state, Outcome(stale=True)
    action, arg = decoded
    if action == "pause":
        return state, Outcome(paused=True)
    d = Draft.of(state)
    d.typed_length = inp.length
    try:
        _apply(form, state, d, action, arg)
    except Refusal as refusal:
        return state, Outcome(refusal=refusal.note)
    changed = d.freeze(nonce=state.nonce) != state
    new = d.freeze(nonce=state.nonce + 1) if changed else state
    return new, Outcome(
        notes=tuple(d.notes), submitted=d.submitted, cancelled=new.mode == "cancelled"
    )


def start(form: ReportForm, *, draft_id: str) -> FormState:
    """A fresh draft at its first question; `draft_id` (≤ 16 chars) tells drafts apart."""
    if not _DRAFT_ID.match(draft_id):
        raise ValueError("draft_id must be up to 16 characters of [A-Za-z0-9_-]")
    d = Draft.of(FormState(draft_id=draft_id))
    enter_section(form, d, 0, at_end=False)
    return d.freeze(nonce=1)


def state_fits(form: ReportForm, state: FormState) -> bool:
    """False if the form changed under a saved draft (positions or ids no longer exist)."""
    if not 0 <= state.section < len(form.sections):
        return False
    section = form.sections[state.section]
    if not 0 <= state.field < len(section.fields):
        return False
    ids = {s.id: {f.id for f in s.fields} for s in form.sections}
    for sid, rows in state.tables.items():
        if sid not in ids or any(set(r) - ids[sid] for r in rows):
            return False
    return all(sid in ids and not set(v) - ids[sid] for sid, v in state.values.items())
