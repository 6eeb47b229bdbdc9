"""The report form in words and buttons: the only place the form meets the message catalogue.

`step(form, state, input, lang=…)` runs the pure engine (bot.domain.forms) and renders its outcome
as a `FormReply`: the notes, the current question, and its buttons. A reply whose `numbered` flag
is set also accepts «2» for its second choice (channels without buttons list the choices with
numbers); the engine reads typed numbers from the same `options`, without rendering anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.channels.base import Choice
from bot.domain import forms
from bot.domain.campaign import FormField, FormSection, ReportForm
from bot.domain.forms import (
    DEFAULT_TEXT_MAX,
    FormData,
    FormInput,
    FormState,
    Note,
    Outcome,
    QuickFillError,
    Row,
    Value,
)
from bot.domain.forms.state import Draft, short_label
from bot.domain.forms.summary import Item
from bot.domain.numbers import format_count, format_vnd
from messages import has, t

_SUMMARY_TEXT_PREVIEW = 100


@dataclass(frozen=True, slots=True)
class FormReply:
    """What to send back: text, choices, and whether the form ended."""

    text: str
    choices: tuple[Choice, ...] = ()
    numbered: bool = False  # a typed «N» picks choices[N-1]
    done: bool = False
    submitted: FormData | None = None
    cancelled: bool = False
    paused: bool = False  # the person left the form; the draft is kept


def say(note: Note, lang: str) -> str:
    """A note of the engine in words."""
    return t(note.key, lang, **note.fields)


# ---- values and rows ---------------------------------------------------------------------------


def show(fld: FormField, value: Value, lang: str, *, preview: bool = False) -> str:
    """A stored value as shown to people (a choice's label, 1.500.000 đ, a shortened text)."""
    if value is None:
        return t("forms.blank", lang)
    if fld.type == "choice":
        return next((c.label for c in fld.choices if c.id == value), str(value))
    if isinstance(value, int):
        return format_vnd(value) if fld.type == "money" else format_count(value)
    if preview and len(value) > _SUMMARY_TEXT_PREVIEW:
        return value[:_SUMMARY_TEXT_PREVIEW].rstrip() + "…"
    return value


def _unit(section: FormSection, fld: FormField, value: Value, lang: str) -> str:
    shown = show(fld, value, lang)
    key = next(
        (k for k in (f"forms.unit.{section.id}.{fld.id}", f"forms.unit.{fld.id}") if has(k)),
        None,
    )
    if key is not None and value is not None:
        return t(key, lang, n=shown)
    return t("forms.unit.other", lang, label=fld.label, value=shown)


def describe_row(form: ReportForm, section_id: str, row: Row, lang: str) -> str:
    """One table row in words: «Loa truyền thanh — 3 lượt, 120 nam, 150 nữ»."""
    section = forms.section_by_id(form, section_id)
    head: list[str] = []
    parts: list[str] = []
    for fld in section.fields:
        if fld.id not in row:
            continue
        if fld.type == "choice" and not head:
            head.append(show(fld, row[fld.id], lang))
        else:
            parts.append(_unit(section, fld, row[fld.id], lang))
    if not head:
        return ", ".join(parts)
    return t("forms.row", lang, head=head[0], parts=", ".join(parts)) if parts else head[0]


def _summary_line(form: ReportForm, data: FormData, item: Item, lang: str) -> str:
    section = form.sections[item.section]
    if item.field is not None:
        fld = section.fields[item.field]
        value = data.values.get(section.id, {}).get(fld.id)
        shown = show(fld, value, lang, preview=True)
        return t("forms.summary.field", lang, label=fld.label, value=shown)
    if item.row is None:
        return t("forms.summary.empty_table", lang, title=title_of(section))
    row = describe_row(form, section.id, data.tables[section.id][item.row], lang)
    return t("forms.summary.row", lang, title=title_of(section), row=row)


def summary_text(form: ReportForm, data: FormData, lang: str) -> str:
    """The numbered summary of a report (each table row one item, each field one item)."""
    lines = [t("forms.summary.head", lang)]
    for number, item in enumerate(forms.items(form, data), start=1):
        text = _summary_line(form, data, item, lang)
        lines.append(t("forms.summary.item", lang, n=str(number), text=text))
    return "\n".join(lines)


# ---- the current question ----------------------------------------------------------------------


def _label(form: ReportForm, state: FormState, action: str, lang: str) -> str:
    if action.startswith("c") and action[1:].isdigit():
        at = 0 if state.mode == "more_rows" else state.field  # there: the next row's kind
        fld = form.sections[state.section].fields[at]
        return fld.choices[int(action[1:])].label
    if action.startswith("e") and action[1:].isdigit():
        return t("forms.button.edit", lang, n=action[1:])
    if action == "send" and state.mode == "filling":
        return t("forms.button.done", lang)
    if action.startswith("f") and action[1:].isdigit():
        return short_label(form.sections[state.section].fields[int(action[1:])])
    return t(f"forms.button.{action}", lang)


def title_of(section: FormSection) -> str:
    """The section's short title (headers, the summary), or its title."""
    return section.short_title or section.title


def _where(form: ReportForm, state: FormState, lang: str, *, header: bool) -> list[str]:
    """The compact section header (once per section, or when asked again) and, at a table row's
    first question after the first row, which row this is."""
    section = form.sections[state.section]
    lines = []
    if header:
        lines.append(
            t("forms.where.section", lang, n=str(state.section + 1),
              total=str(len(form.sections)), title=title_of(section))
        )  # fmt: skip
    if section.kind == "table" and state.row > 0 and (header or state.field == 0):
        row_label = section.row_label or section.title
        lines.append(t("forms.where.row", lang, row_label=row_label, row=str(state.row + 1)))
    return lines


def _label_text(fld: FormField) -> str:
    """The label in a question: «Số người tham gia – Nam» (no second colon before the ask)."""
    return fld.label.replace(": ", " – ")


def _ask(form: ReportForm, state: FormState, lang: str) -> list[str]:
    """The lines of a filling question (without its position line)."""
    section = form.sections[state.section]
    fld = section.fields[state.field]
    label = _label_text(fld)
    if fld.type == "text":
        limit = format_count(fld.max_length or DEFAULT_TEXT_MAX)
        lines = [t("forms.ask.text", lang, label=label, max=limit)]
    elif fld.hint and fld.type in ("count", "money"):  # the hint is the one example
        lines = [t(f"forms.ask.{fld.type}_plain", lang, label=label)]
    else:
        lines = [t(f"forms.ask.{fld.type}", lang, label=label)]
    if fld.hint:
        lines.append(fld.hint)
    row = Draft.of(state).current_row(section)
    if fld.id in row:
        shown = show(fld, row[fld.id], lang, preview=True)
        lines.append(t("forms.ask.current", lang, value=shown))
    if not fld.required:
        lines.append(t("forms.ask.optional", lang))
    if "none" in forms.options(form, state)[0]:
        lines.append(t("forms.ask.table_none", lang, row_label=section.row_label or section.title))
    return lines


def _header_due(state: FormState) -> bool:
    """A section's header is shown at its first question and while editing or filling gaps."""
    return state.mode == "filling" and (
        state.editing is not None or (state.row == 0 and state.field == 0)
    )


def _question_text(form: ReportForm, state: FormState, lang: str, *, full: bool) -> str:
    if state.mode == "summary":
        data = forms.draft_data(form, state)
        return f"{summary_text(form, data, lang)}\n\n{t('forms.summary.foot', lang)}"
    if state.mode == "confirm_cancel":
        return t("forms.cancel.confirm", lang)
    if state.mode in ("submitted", "cancelled"):
        return t("forms.closed", lang)
    where = _where(form, state, lang, header=full or _header_due(state))
    section = form.sections[state.section]
    if state.mode == "more_rows":
        row = describe_row(form, section.id, Draft.of(state).current_row(section), lang)
        text = t("forms.more_rows", lang, row=row, row_label=section.row_label or section.title)
        return "\n".join([*where, text])
    if state.mode == "pick_field":
        row = describe_row(form, section.id, Draft.of(state).current_row(section), lang)
        item = state.editing.item if state.editing is not None else 0
        return t("forms.pick_field", lang, n=str(item), row=row)
    fld = section.fields[state.field]
    if state.clearing:
        value = show(fld, Draft.of(state).current_row(section).get(fld.id), lang, preview=True)
        return "\n".join([*where, t("forms.confirm_clear", lang, label=fld.label, value=value)])
    if state.pending is not None:
        shown = show(fld, state.pending.value, lang)
        return "\n".join([*where, t("forms.confirm_typical", lang, label=fld.label, value=shown)])
    return "\n".join([*where, *_ask(form, state, lang)])


def prompt(form: ReportForm, state: FormState, *, lang: str, full: bool = True) -> FormReply:
    """The current question; `full` (after a restart, «xem», a stale button) repeats the
    section's header, otherwise it comes once per section."""
    actions, numbered = forms.options(form, state)
    answers = forms.numbered_actions(actions) if numbered else actions
    choices = tuple(
        Choice(
            label=_label(form, state, a, lang),
            data=forms.button_data(state, a),
            unnumbered=a not in answers,
        )
        for a in actions
    )
    done = state.mode in ("submitted", "cancelled")
    return FormReply(
        text=_question_text(form, state, lang, full=full),
        choices=choices,
        numbered=numbered,
        done=done,
    )


def _with(first: str, reply: FormReply) -> FormReply:
    text = f"{first}\n\n{reply.text}" if first else reply.text
    return FormReply(text=text, choices=reply.choices, numbered=reply.numbered, done=reply.done)


def render(
    form: ReportForm, state: FormState, outcome: Outcome, *, lang: str, entered: bool = False
) -> FormReply:
    """The reply to one step of the engine; `entered`: the step moved into another section
    (its header is shown)."""
    if outcome.stale:
        return _with(t("forms.stale", lang), prompt(form, state, lang=lang))
    if outcome.refusal is not None:
        return _with(say(outcome.refusal, lang), prompt(form, state, lang=lang, full=False))
    if outcome.submitted is not None:
        return FormReply(text=t("forms.submitted", lang), done=True, submitted=outcome.submitted)
    if outcome.paused:
        return FormReply(text=t("forms.paused", lang), paused=True)
    if outcome.cancelled:
        return FormReply(text=t("forms.cancel.done", lang), done=True, cancelled=True)
    notes = "\n".join(say(n, lang) for n in outcome.notes)
    return _with(notes, prompt(form, state, lang=lang, full=entered))


def step(
    form: ReportForm, state: FormState, inp: FormInput, *, lang: str
) -> tuple[FormState, FormReply]:
    """One turn of the conversation: the new state and the reply to send."""
    new, outcome = forms.step(form, state, inp)
    entered = new.section != state.section and new.mode == "filling"
    return new, render(form, new, outcome, lang=lang, entered=entered)


def start(form: ReportForm, *, draft_id: str, lang: str) -> tuple[FormState, FormReply]:
    """A fresh draft and its first question (with the form's introduction)."""
    state = forms.start(form, draft_id=draft_id)
    return state, _with(t("forms.start", lang, title=form.title), prompt(form, state, lang=lang))


def quick_fill_error_text(err: QuickFillError, lang: str) -> str:
    """The message for a QuickFillError (a bad number's own reason included)."""
    if err.key == "forms.quick.bad_number":
        fields = dict(err.fields)
        reason = fields.pop("reason")
        label = fields.pop("label")
        return t(err.key, lang, label=label, reason=t(reason, lang, **fields))
    return t(err.key, lang, **err.fields)
