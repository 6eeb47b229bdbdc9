"""Typed answers: parse, check the bounds, ask about unusual figures, store and move on."""

from __future__ import annotations

from bot.domain.campaign import FormField, ReportForm
from bot.domain.forms.navigation import advance
from bot.domain.forms.state import DEFAULT_TEXT_MAX, Draft, Pending, Refusal, Value
from bot.domain.numbers import NumberError, format_count, format_vnd, parse_count, parse_money
from bot.domain.text import fold


def parse_number(fld: FormField, text: str) -> int:
    """A count or money answer within the field's cap; raises NumberError."""
    cap = {"cap": fld.max} if fld.max is not None else {}
    return parse_money(text, **cap) if fld.type == "money" else parse_count(text, **cap)


def _parse_text(fld: FormField, text: str, length: int) -> str:
    limit = fld.max_length or DEFAULT_TEXT_MAX
    if not text:
        raise Refusal("forms.error.empty_text")
    if length > limit:
        raise Refusal("forms.error.too_long", max=format_count(limit), length=format_count(length))
    return text


def parse_value(fld: FormField, text: str, length: int | None = None) -> int | str:
    """The typed answer for a count/money/text field; raises Refusal. `length`: the real length
    of a text that reached us cut (measured before the cut)."""
    if fld.type == "text":
        return _parse_text(fld, text, max(len(text), length or 0))
    try:
        value = parse_number(fld, text)
    except NumberError as err:
        raise Refusal(err.key, **err.fields) from None
    if fld.min is not None and value < fld.min:
        shown = format_vnd(fld.min) if fld.type == "money" else format_count(fld.min)
        raise Refusal("forms.error.below_min", min=shown)
    return value


def store(form: ReportForm, d: Draft, fld: FormField, value: Value) -> None:
    """Keep `value` for the current field and go on."""
    section = form.sections[d.section]
    d.current_row(section)[fld.id] = value
    d.pending = None
    if fld.type == "money" and isinstance(value, int):
        d.note("forms.saved_money", value=format_vnd(value))
    advance(form, d)


def answer(form: ReportForm, d: Draft, text: str) -> None:
    """A typed answer to the current question."""
    section = form.sections[d.section]
    fld = section.fields[d.field]
    if fld.type == "choice":
        folded = fold(text)
        for option in fld.choices:
            if folded in {fold(option.label), option.id}:
                store(form, d, fld, option.id)
                return
        raise Refusal("forms.error.no_choice", n=str(len(fld.choices)))
    value = parse_value(fld, text, d.typed_length)
    if (
        isinstance(value, int)
        and fld.typical_max is not None
        and value > fld.typical_max
        and not (d.pending is not None and d.pending.field == fld.id and d.pending.value == value)
    ):
        d.pending = Pending(field=fld.id, value=value)
        return
    store(form, d, fld, value)


def digits_equal(text: str, value: int, fld: FormField) -> bool:
    """True if retyping the pending figure (which then counts as «Có»)."""
    try:
        parsed = parse_money(text) if fld.type == "money" else parse_count(text, cap=10**15)
    except NumberError:
        return False
    return parsed == value
