"""The report form state machine: one question at a time, as a pure function of (state, input).

`step(form, state, input, lang=…)` returns the next `FormState` and a `FormReply` to send. The state
is a frozen, JSON-serialisable value (`to_json`/`from_json`) stored in the draft row keyed by
(channel, chat), so a restart loses nothing. No I/O and no clock here: time comes in as arguments.

Flow: every section in order; a table section asks its fields row by row («Không có» at the very
first question leaves the table empty; after each row «Thêm … khác?»); a fields section asks each
field once. Then a numbered summary: «gửi» submits, «sửa N» walks item N again (the current value
shown, «giữ nguyên» keeps it) and comes back, «hủy» asks before dropping the draft. «quay lại»
steps back one field (across rows and sections); «bỏ qua» skips an optional field.

Buttons carry `f|<draft id>|<nonce>|<action>`; the nonce grows whenever the state changes, so a
press on an older message is recognised and answered without touching the draft. A reply whose
`numbered` flag is set also accepts «2» for its second choice (channels without buttons list the
choices with numbers); in number and text questions a typed «2» is the answer, not a choice.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.channels.base import Choice
from bot.domain.campaign import CrossCheck, FormField, FormSection, QuickForm, ReportForm
from bot.domain.numbers import (
    NumberError,
    format_count,
    format_vnd,
    parse_count,
    parse_money,
)
from bot.domain.text import fold, normalize_text
from messages import has, t

Value = int | str | None  # None: an optional field left blank
Row = dict[str, Value]
Mode = Literal["filling", "more_rows", "summary", "confirm_cancel", "submitted", "cancelled"]

DEFAULT_TEXT_MAX = 2000
BUTTON_PREFIX = "f"
MAX_EDIT_BUTTONS = 24  # beyond this, «sửa N» is typed (the summary's footer says how)
_SUMMARY_TEXT_PREVIEW = 100
_DRAFT_ID = re.compile(r"^[A-Za-z0-9_-]{0,16}$")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pending(_Frozen):
    """A figure above the field's typical maximum, waiting for «Có»."""

    field: str
    value: int


class EditTarget(_Frozen):
    """The summary item being edited: a table row (every field) or one field of a fields section."""

    item: int
    section: int
    row: int = 0
    field: int | None = None  # None: the whole table row


class FormState(_Frozen):
    """Where a person is in the form and what they entered; JSON round-trips exactly."""

    schema_version: int = 1
    draft_id: str = Field(default="", pattern=r"^[A-Za-z0-9_-]{0,16}$")
    nonce: int = 0
    mode: Mode = "filling"
    section: int = 0
    row: int = 0
    field: int = 0
    tables: dict[str, list[Row]] = Field(default_factory=dict)
    values: dict[str, Row] = Field(default_factory=dict)
    pending: Pending | None = None
    recheck: bool = False  # after a failed cross-check: the next answer completes the row
    editing: EditTarget | None = None
    before_cancel: Mode | None = None  # where «Không» on the cancel question returns

    def to_json(self) -> str:
        """The state as compact JSON, for the draft row."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> FormState:
        """The state back from `to_json`."""
        return cls.model_validate_json(text)


class FormData(_Frozen):
    """A submitted (or summarised) report: table rows and field values, JSON-able."""

    tables: dict[str, list[Row]] = Field(default_factory=dict)
    values: dict[str, Row] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FormInput:
    """What the person sent: typed text, a pressed button's data, or a command word."""

    text: str | None = None
    choice_data: str | None = None
    command: str | None = None  # back | skip | cancel | keep | none | send | show

    @classmethod
    def typed(cls, text: str) -> FormInput:
        """Typed text (a value, a numbered reply or a word such as «quay lại»)."""
        return cls(text=text)

    @classmethod
    def pressed(cls, data: str) -> FormInput:
        """A button press carrying `Choice.data`."""
        return cls(choice_data=data)

    @classmethod
    def word(cls, command: str) -> FormInput:
        """A command (e.g. from /quaylai): back, skip, cancel, keep, none, send, show."""
        return cls(command=command)


@dataclass(frozen=True, slots=True)
class FormReply:
    """What to send back: text, choices, and whether the form ended."""

    text: str
    choices: tuple[Choice, ...] = ()
    numbered: bool = False  # a typed «N» picks choices[N-1]
    done: bool = False
    submitted: FormData | None = None
    cancelled: bool = False


class QuickFillError(ValueError):
    """A `/nhanh` line that cannot fill a row; `key`/`fields` give the message."""

    def __init__(self, key: str, **fields: str) -> None:
        super().__init__(key)
        self.key = key
        self.fields = fields


# ---- words people type -------------------------------------------------------------------------

_WORDS: dict[str, frozenset[str]] = {
    "back": frozenset({"quay lai", "tro lai", "lui lai", "back", "<"}),
    "skip": frozenset({"bo qua", "skip", "bo trong"}),
    "cancel": frozenset({"huy", "huy bo", "huy ban nhap", "cancel"}),
    "keep": frozenset({"giu nguyen", "giu", "keep", "="}),
    "none": frozenset({"khong co", "khong co gi", "none"}),
    "send": frozenset({"gui", "gui di", "nop", "gui bao cao", "send", "submit"}),
    "delete": frozenset({"xoa", "xoa dong", "xoa dong nay", "delete"}),
    "show": frozenset({"xem", "show"}),
    "yes": frozenset({"co", "c", "yes", "y", "ok", "dung", "dong y", "chac chan", "vang", "u"}),
    "no": frozenset({"khong", "k", "ko", "no", "n", "sai"}),
}
_COMMANDS = {
    "back": "back",
    "quaylai": "back",
    "skip": "skip",
    "boqua": "skip",
    "cancel": "cancel",
    "huy": "cancel",
    "keep": "keep",
    "none": "none",
    "send": "send",
    "gui": "send",
    "show": "show",
    "xem": "show",
}
_EDIT = re.compile(r"^(?:sua|edit)(?: muc)? ?(\d{1,3})$")


def _word(folded: str) -> str | None:
    for action, words in _WORDS.items():
        if folded in words:
            return action
    return None


# ---- positions ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Draft:
    """A mutable working copy of a FormState inside one step."""

    draft_id: str
    mode: Mode
    section: int
    row: int
    field: int
    tables: dict[str, list[Row]]
    values: dict[str, Row]
    pending: Pending | None
    recheck: bool
    editing: EditTarget | None
    before_cancel: Mode | None
    notes: list[str] = dataclasses.field(default_factory=list)
    submitted: FormData | None = None

    @classmethod
    def of(cls, state: FormState) -> _Draft:
        return cls(
            draft_id=state.draft_id,
            mode=state.mode,
            section=state.section,
            row=state.row,
            field=state.field,
            tables={k: [dict(r) for r in rows] for k, rows in state.tables.items()},
            values={k: dict(v) for k, v in state.values.items()},
            pending=state.pending,
            recheck=state.recheck,
            editing=state.editing,
            before_cancel=state.before_cancel,
        )

    def freeze(self, nonce: int) -> FormState:
        return FormState(
            draft_id=self.draft_id,
            nonce=nonce,
            mode=self.mode,
            section=self.section,
            row=self.row,
            field=self.field,
            tables=self.tables,
            values=self.values,
            pending=self.pending,
            recheck=self.recheck,
            editing=self.editing,
            before_cancel=self.before_cancel,
        )

    def rows(self, section: FormSection) -> list[Row]:
        return self.tables.setdefault(section.id, [])

    def current_row(self, section: FormSection) -> Row:
        """The row being answered (a table row, or the fields section's values)."""
        if section.kind == "table":
            rows = self.rows(section)
            while len(rows) <= self.row:
                rows.append({})
            return rows[self.row]
        return self.values.setdefault(section.id, {})


def _enter_section(form: ReportForm, d: _Draft, index: int, *, at_end: bool) -> None:
    """Position at the first (or, going back, the last) question of section `index`."""
    section = form.sections[index]
    d.section, d.mode = index, "filling"
    if section.kind == "table":
        rows = d.rows(section)
        if at_end and rows:
            d.row, d.field = len(rows) - 1, len(section.fields) - 1
        else:
            if not rows:
                rows.append({})
            d.row, d.field = 0, 0
    else:
        d.row, d.field = 0, len(section.fields) - 1 if at_end else 0


def _to_summary(d: _Draft) -> None:
    d.mode, d.editing, d.pending, d.recheck = "summary", None, None, False


def _next_section(form: ReportForm, d: _Draft) -> None:
    if d.section + 1 >= len(form.sections):
        _to_summary(d)
    else:
        _enter_section(form, d, d.section + 1, at_end=False)


def _none_allowed(form: ReportForm, d: _Draft) -> bool:
    """«Không có» is offered at the first question of a table that holds no finished row."""
    section = form.sections[d.section]
    if section.kind != "table" or d.row != 0 or d.field != 0 or d.mode != "filling":
        return False
    rows = d.tables.get(section.id, [])
    if d.editing is not None:
        return (
            d.editing.row == 0
            and not any(rows[1:])
            and not _complete(section, rows[0] if rows else {})
        )
    # Never offered over a finished row: «Không có» would silently wipe it.
    return not rows or (len(rows) == 1 and not _complete(section, rows[0]))


def _delete_allowed(form: ReportForm, d: _Draft) -> bool:
    section = form.sections[d.section]
    rows = d.tables.get(section.id, [])
    return (
        d.editing is not None
        and d.editing.field is None
        and section.kind == "table"
        and d.field == 0
        and d.row < len(rows)
        and _complete(section, rows[d.row])
    )


def _complete(section: FormSection, row: Row) -> bool:
    return all(f.id in row for f in section.fields)


# ---- cross-checks ------------------------------------------------------------------------------


def _number(row: Row, name: str) -> int:
    value = row.get(name)
    return value if isinstance(value, int) else 0


def _failed_check(
    form: ReportForm, section: FormSection, row: Row, lang: str
) -> tuple[CrossCheck, str] | None:
    labels = {f.id: f.label for f in section.fields}
    for check in form.checks:
        if check.section != section.id:
            continue
        parts = ", ".join(labels[name] for name in check.fields)
        if check.kind == "requires_positive":
            if any(_number(row, n) > 0 for n in check.fields) and _number(row, check.target) <= 0:
                return check, t(
                    "forms.check.requires_positive", lang, target=labels[check.target], fields=parts
                )
        else:
            total = row.get(check.target)
            if isinstance(total, int):
                found = sum(_number(row, n) for n in check.fields)
                if found != total:
                    return check, t(
                        "forms.check.sum_equals",
                        lang,
                        target=labels[check.target],
                        fields=parts,
                        sum=format_count(found),
                        total=format_count(total),
                    )
    return None


def _finish_unit(form: ReportForm, d: _Draft, lang: str) -> None:
    """A row (table) or the fields section is answered: run checks, then move on."""
    section = form.sections[d.section]
    row = d.current_row(section)
    failed = _failed_check(form, section, row, lang)
    if failed is not None:
        check, message = failed
        # The figure stays (shown as current): «quay lại» from here loses nothing, and
        # «giữ nguyên» simply runs the check again.
        d.field = [f.id for f in section.fields].index(check.target)
        d.recheck = True
        d.notes.append(message)
        d.mode = "filling"
        return
    d.recheck = False
    if d.editing is not None:
        _to_summary(d)
        return
    if section.kind == "table":
        rows = d.rows(section)
        if d.row + 1 < len(rows):  # rows entered before a «quay lại»: walk them again
            d.row, d.field = d.row + 1, 0
        elif len(rows) < section.max_rows:
            d.mode = "more_rows"
        else:
            d.notes.append(t("forms.max_rows", lang, max=str(section.max_rows)))
            _next_section(form, d)
        return
    _next_section(form, d)


def _advance(form: ReportForm, d: _Draft, lang: str) -> None:
    """After an answer: the next field, or the end of the row/section."""
    section = form.sections[d.section]
    single = d.editing is not None and d.editing.field is not None
    if d.recheck or single or d.field + 1 >= len(section.fields):
        _finish_unit(form, d, lang)
    else:
        d.field += 1


def _go_back(form: ReportForm, d: _Draft, lang: str) -> None:
    """One question back: previous field, previous row, previous section."""
    d.recheck = False
    if d.pending is not None:
        d.pending = None
        return
    section = form.sections[d.section]
    if d.mode == "more_rows":
        d.mode, d.field = "filling", len(section.fields) - 1
        return
    if d.mode == "summary":
        _enter_section(form, d, len(form.sections) - 1, at_end=True)
        return
    if d.editing is not None:
        if d.editing.field is None and d.field > 0:
            d.field -= 1
        else:
            _drop_empty_rows(form, d)
            _to_summary(d)
        return
    if d.field > 0:
        d.field -= 1
        return
    if section.kind == "table" and d.row > 0:
        rows = d.rows(section)
        if not rows[d.row]:
            del rows[d.row]
        d.row -= 1
        d.field = len(section.fields) - 1
        return
    if d.section == 0:
        d.notes.append(t("forms.error.first_question", lang))
        return
    _drop_empty_rows(form, d)
    _enter_section(form, d, d.section - 1, at_end=True)


def _drop_empty_rows(form: ReportForm, d: _Draft) -> None:
    section = form.sections[d.section]
    if section.kind == "table":
        d.tables[section.id] = [r for r in d.rows(section) if r]


# ---- answers -----------------------------------------------------------------------------------


def _parse_value(fld: FormField, text: str, lang: str) -> int | str:
    """The typed answer for a count/money/text field; raises NumberError or _Refusal."""
    if fld.type == "text":
        limit = fld.max_length or DEFAULT_TEXT_MAX
        if not text:
            raise _Refusal(t("forms.error.empty_text", lang))
        if len(text) > limit:
            raise _Refusal(
                t(
                    "forms.error.too_long",
                    lang,
                    max=format_count(limit),
                    length=format_count(len(text)),
                )
            )
        return text
    if fld.type == "money":
        value = parse_money(text, **({"cap": fld.max} if fld.max is not None else {}))
    else:
        value = parse_count(text, **({"cap": fld.max} if fld.max is not None else {}))
    if fld.min is not None and value < fld.min:
        shown = format_vnd(fld.min) if fld.type == "money" else format_count(fld.min)
        raise _Refusal(t("forms.error.below_min", lang, min=shown))
    return value


class _Refusal(Exception):
    """An answer refused with a ready message; nothing is stored."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _store(form: ReportForm, d: _Draft, fld: FormField, value: Value, lang: str) -> None:
    section = form.sections[d.section]
    d.current_row(section)[fld.id] = value
    d.pending = None
    if fld.type == "money" and isinstance(value, int):
        d.notes.append(t("forms.saved_money", lang, value=format_vnd(value)))
    _advance(form, d, lang)


def _answer(form: ReportForm, d: _Draft, text: str, lang: str) -> None:
    section = form.sections[d.section]
    fld = section.fields[d.field]
    if fld.type == "choice":
        folded = fold(text)
        for option in fld.choices:
            if folded in {fold(option.label), option.id}:
                _store(form, d, fld, option.id, lang)
                return
        raise _Refusal(t("forms.error.no_choice", lang, n=str(len(fld.choices))))
    try:
        value = _parse_value(fld, text, lang)
    except NumberError as err:
        raise _Refusal(t(err.key, lang, **err.fields)) from None
    if (
        isinstance(value, int)
        and fld.typical_max is not None
        and value > fld.typical_max
        and not (d.pending is not None and d.pending.field == fld.id and d.pending.value == value)
    ):
        d.pending = Pending(field=fld.id, value=value)
        return
    _store(form, d, fld, value, lang)


# ---- the summary -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Item:
    section: int
    row: int | None  # a table row (None: an empty table)
    field: int | None  # a fields-section field


def _items(form: ReportForm, data: FormData) -> list[_Item]:
    items: list[_Item] = []
    for s_index, section in enumerate(form.sections):
        if section.kind == "table":
            rows = data.tables.get(section.id, [])
            if rows:
                items += [_Item(s_index, r, None) for r in range(len(rows))]
            else:
                items.append(_Item(s_index, None, None))
        else:
            items += [_Item(s_index, None, f) for f in range(len(section.fields))]
    return items


def _show(fld: FormField, value: Value, lang: str, *, preview: bool = False) -> str:
    if value is None:
        return t("forms.blank", lang)
    if fld.type == "choice":
        return next((c.label for c in fld.choices if c.id == value), str(value))
    if isinstance(value, int):
        return format_vnd(value) if fld.type == "money" else format_count(value)
    if preview and len(value) > _SUMMARY_TEXT_PREVIEW:
        return value[:_SUMMARY_TEXT_PREVIEW].rstrip() + "…"
    return value


def describe_row(form: ReportForm, section_id: str, row: Row, lang: str) -> str:
    """One table row in words: «Loa truyền thanh — 3 lượt, 120 nam, 150 nữ»."""
    section = _section_by_id(form, section_id)
    head: list[str] = []
    parts: list[str] = []
    for fld in section.fields:
        if fld.id not in row:
            continue
        value = row[fld.id]
        if fld.type == "choice" and not head:
            head.append(_show(fld, value, lang))
            continue
        shown = _show(fld, value, lang)
        key = next(
            (k for k in (f"forms.unit.{section.id}.{fld.id}", f"forms.unit.{fld.id}") if has(k)),
            None,
        )
        if key is not None and value is not None:
            parts.append(t(key, lang, n=shown))
        else:
            parts.append(t("forms.unit.other", lang, label=fld.label, value=shown))
    if not head:
        return ", ".join(parts)
    return t("forms.row", lang, head=head[0], parts=", ".join(parts)) if parts else head[0]


def summary_text(form: ReportForm, data: FormData, lang: str) -> str:
    """The numbered summary of a report (each table row one item, each field one item)."""
    lines = [t("forms.summary.head", lang, title=form.title)]
    for number, item in enumerate(_items(form, data), start=1):
        section = form.sections[item.section]
        if item.field is not None:
            fld = section.fields[item.field]
            value = data.values.get(section.id, {}).get(fld.id)
            text = t(
                "forms.summary.field",
                lang,
                label=fld.label,
                value=_show(fld, value, lang, preview=True),
            )
        elif item.row is None:
            text = t("forms.summary.empty_table", lang, title=section.title)
        else:
            row = data.tables[section.id][item.row]
            text = t(
                "forms.summary.row",
                lang,
                title=section.title,
                row=describe_row(form, section.id, row, lang),
            )
        lines.append(t("forms.summary.item", lang, n=str(number), text=text))
    return "\n".join(lines)


def _data(form: ReportForm, d: _Draft) -> FormData:
    tables = {
        s.id: [dict(r) for r in d.tables.get(s.id, []) if r]
        for s in form.sections
        if s.kind == "table"
    }
    values = {
        s.id: {f.id: d.values.get(s.id, {}).get(f.id) for f in s.fields}
        for s in form.sections
        if s.kind == "fields"
    }
    return FormData(tables=tables, values=values)


def _first_gap(form: ReportForm, d: _Draft) -> tuple[int, int, int] | None:
    """The first unanswered required question (a safety net before submitting)."""
    for s_index, section in enumerate(form.sections):
        if section.kind == "table":
            for r_index, row in enumerate(d.tables.get(section.id, [])):
                if not row:
                    continue
                for f_index, fld in enumerate(section.fields):
                    if fld.id not in row:
                        return s_index, r_index, f_index
        else:
            row = d.values.get(section.id, {})
            for f_index, fld in enumerate(section.fields):
                if fld.required and row.get(fld.id) is None:
                    return s_index, 0, f_index
    return None


def _start_edit(form: ReportForm, d: _Draft, number: int, lang: str) -> None:
    items = _items(form, _data(form, d))
    if not 1 <= number <= len(items):
        raise _Refusal(t("forms.error.no_item", lang, n=str(number), count=str(len(items))))
    item = items[number - 1]
    section = form.sections[item.section]
    d.mode, d.section, d.pending, d.recheck = "filling", item.section, None, False
    if item.field is not None:
        d.row, d.field = 0, item.field
        d.editing = EditTarget(item=number, section=item.section, field=item.field)
    else:
        rows = [r for r in d.rows(section) if r]
        if item.row is None:
            rows.append({})
        d.tables[section.id] = rows
        d.row, d.field = item.row or 0, 0
        d.editing = EditTarget(item=number, section=item.section, row=d.row)


def _submit(form: ReportForm, d: _Draft, lang: str) -> None:
    gap = _first_gap(form, d)
    if gap is not None:
        d.mode, d.editing = "filling", None
        d.section, d.row, d.field = gap
        d.notes.append(t("forms.error.incomplete", lang))
        return
    d.submitted = _data(form, d)
    d.mode = "submitted"


# ---- rendering ---------------------------------------------------------------------------------


def _button(d: _Draft | FormState, nonce: int, action: str, label: str) -> Choice:
    return Choice(label=label, data=f"{BUTTON_PREFIX}|{d.draft_id}|{nonce}|{action}")


def _yes_no(d: _Draft | FormState, nonce: int, lang: str) -> tuple[Choice, ...]:
    return (
        _button(d, nonce, "yes", t("forms.button.yes", lang)),
        _button(d, nonce, "no", t("forms.button.no", lang)),
    )


def _question(  # noqa: C901
    form: ReportForm, state: FormState, lang: str
) -> tuple[str, tuple[Choice, ...], bool]:
    """The current question: text, choices, and whether numbered replies pick choices."""
    n = state.nonce
    if state.mode == "summary":
        text = "\n\n".join(
            [summary_text(form, _data(form, _Draft.of(state)), lang), t("forms.summary.foot", lang)]
        )
        count = len(_items(form, _data(form, _Draft.of(state))))
        actions = (
            _button(state, n, "send", t("forms.button.send", lang)),
            *(
                _button(state, n, f"e{i}", t("forms.button.edit", lang, n=str(i)))
                for i in range(1, min(count, MAX_EDIT_BUTTONS) + 1)
            ),
            _button(state, n, "cancel", t("forms.button.cancel", lang)),
        )
        return text, actions, False
    if state.mode == "confirm_cancel":
        return t("forms.cancel.confirm", lang), _yes_no(state, n, lang), True
    if state.mode in ("submitted", "cancelled"):
        return t("forms.closed", lang), (), False

    section = form.sections[state.section]
    where = (
        t(
            "forms.where.table",
            lang,
            n=str(state.section + 1),
            total=str(len(form.sections)),
            title=section.title,
            row_label=section.row_label or section.title,
            row=str(state.row + 1),
        )
        if section.kind == "table"
        else t(
            "forms.where.fields",
            lang,
            n=str(state.section + 1),
            total=str(len(form.sections)),
            title=section.title,
        )
    )
    d = _Draft.of(state)
    if state.mode == "more_rows":
        row = d.current_row(section)
        text = t(
            "forms.more_rows",
            lang,
            row=describe_row(form, section.id, row, lang),
            row_label=section.row_label or section.title,
        )
        back = _button(state, n, "back", t("forms.button.back", lang))
        return f"{where}\n{text}", (*_yes_no(state, n, lang), back), True

    fld = section.fields[state.field]
    if state.pending is not None:
        shown = _show(fld, state.pending.value, lang)
        return (
            f"{where}\n" + t("forms.confirm_typical", lang, label=fld.label, value=shown),
            _yes_no(state, n, lang),
            True,
        )
    if fld.type == "text":
        limit = format_count(fld.max_length or DEFAULT_TEXT_MAX)
        lines = [where, t("forms.ask.text", lang, label=fld.label, max=limit)]
    else:
        lines = [where, t(f"forms.ask.{fld.type}", lang, label=fld.label)]
    if fld.hint:
        lines.append(fld.hint)
    row = d.current_row(section)
    has_value = fld.id in row
    if has_value:
        lines.append(
            t("forms.ask.current", lang, value=_show(fld, row[fld.id], lang, preview=True))
        )
    if not fld.required:
        lines.append(t("forms.ask.optional", lang))
    none_ok = _none_allowed(form, d)
    if none_ok:
        lines.append(t("forms.ask.table_none", lang, row_label=section.row_label or section.title))
    choices: list[Choice] = []
    if fld.type == "choice":
        choices += [_button(state, n, f"c{i}", c.label) for i, c in enumerate(fld.choices)]
    if has_value:
        choices.append(_button(state, n, "keep", t("forms.button.keep", lang)))
    if not fld.required:
        choices.append(_button(state, n, "skip", t("forms.button.skip", lang)))
    if none_ok:
        choices.append(_button(state, n, "none", t("forms.button.none", lang)))
    if _delete_allowed(form, d):
        choices.append(_button(state, n, "delete", t("forms.button.delete", lang)))
    choices.append(_button(state, n, "back", t("forms.button.back", lang)))
    return "\n".join(lines), tuple(choices), fld.type == "choice"


def prompt(form: ReportForm, state: FormState, *, lang: str) -> FormReply:
    """The current question again (after a restart, or when the person asks «xem»)."""
    text, choices, numbered = _question(form, state, lang)
    done = state.mode in ("submitted", "cancelled")
    return FormReply(text=text, choices=choices, numbered=numbered, done=done)


def start(form: ReportForm, *, draft_id: str, lang: str) -> tuple[FormState, FormReply]:
    """A fresh draft and its first question; `draft_id` (≤ 16 chars) tells drafts apart."""
    if not _DRAFT_ID.match(draft_id):
        raise ValueError("draft_id must be up to 16 characters of [A-Za-z0-9_-]")
    d = _Draft.of(FormState(draft_id=draft_id))
    _enter_section(form, d, 0, at_end=False)
    state = d.freeze(nonce=1)
    reply = prompt(form, state, lang=lang)
    intro = t("forms.start", lang, title=form.title)
    return state, FormReply(
        text=f"{intro}\n\n{reply.text}", choices=reply.choices, numbered=reply.numbered
    )


def is_form_button(data: str) -> bool:
    """True if a button's callback data belongs to the form engine."""
    return data.startswith(BUTTON_PREFIX + "|")


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


# ---- the step ----------------------------------------------------------------------------------


def _decode(  # noqa: C901
    form: ReportForm, state: FormState, inp: FormInput, lang: str
) -> tuple[str, str] | Literal["stale"]:
    """The input as (action, argument); action «value» carries the typed text."""
    if inp.choice_data is not None:
        parts = inp.choice_data.split("|")
        if len(parts) != 4 or parts[0] != BUTTON_PREFIX:
            return "stale"
        _, draft_id, nonce, action = parts
        if draft_id != state.draft_id or nonce != str(state.nonce):
            return "stale"
        if action.startswith("c") and action[1:].isdigit():
            return "choice", action[1:]
        if action.startswith("e") and action[1:].isdigit():
            return "edit", action[1:]
        return action, ""
    if inp.command is not None:
        return _COMMANDS.get(fold(inp.command).lstrip("/"), "unknown"), ""
    text = normalize_text(inp.text or "")
    folded = fold(text)
    # Only a short number can pick a choice: build the question (costly in the summary) only then.
    if folded.isdigit() and len(folded) <= 3:
        _, choices, numbered = _question(form, state, lang)
        index = int(folded)
        if numbered and 1 <= index <= len(choices):
            return _decode(form, state, FormInput.pressed(choices[index - 1].data), lang)
        if numbered and state.pending is None:
            return "bad_number", folded
        # «Bạn chắc chắn số 500?» answered «45»: a corrected figure, not a choice number
    if state.mode in ("summary",):
        match = _EDIT.match(folded)
        if match:
            return "edit", match.group(1)
    word = _word(folded)
    if word is None:
        return "value", text
    if state.mode == "filling" and state.pending is None:
        # In a question, only the words that apply here are commands; «không có», «gửi» or «có»
        # can be a real answer to a text question.
        d = _Draft.of(state)
        allowed = {"back", "skip", "cancel", "show"}
        fld = form.sections[state.section].fields[state.field]
        if fld.id in d.current_row(form.sections[state.section]):
            allowed.add("keep")
        if _none_allowed(form, d):
            allowed.add("none")
        if _delete_allowed(form, d):
            allowed.add("delete")
        return (word, "") if word in allowed else ("value", text)
    return word, ""


_Handler = Callable[[ReportForm, _Draft, str, str, str], None]


def _on_filling(form: ReportForm, d: _Draft, action: str, arg: str, lang: str) -> None:  # noqa: C901
    section = form.sections[d.section]
    fld = section.fields[d.field]
    if d.pending is not None:
        if action == "yes":
            _store(form, d, fld, d.pending.value, lang)
            return
        if action == "no":
            d.pending = None
            d.notes.append(t("forms.retype", lang))
            return
        if action == "value":
            d.pending = d.pending if _digits_equal(arg, d.pending.value, fld) else None
            _answer(form, d, arg, lang)
            return
    if action == "choice" and fld.type == "choice" and int(arg) < len(fld.choices):
        _store(form, d, fld, fld.choices[int(arg)].id, lang)
    elif action == "value":
        _answer(form, d, arg, lang)
    elif action == "back":
        _go_back(form, d, lang)
    elif action == "skip":
        if fld.required:
            raise _Refusal(t("forms.error.required", lang, label=fld.label))
        _store(form, d, fld, None, lang)
    elif action == "keep":
        row = d.current_row(section)
        if fld.id not in row:
            raise _Refusal(t("forms.error.nothing_to_keep", lang))
        d.pending = None
        _advance(form, d, lang)
    elif action == "none":
        if not _none_allowed(form, d):
            raise _Refusal(t("forms.error.none_not_here", lang))
        d.tables[section.id] = []
        d.pending = None
        if d.editing is not None:
            _to_summary(d)
        else:
            _next_section(form, d)
    elif action == "delete":
        if not _delete_allowed(form, d):
            raise _Refusal(t("forms.error.unknown", lang))
        del d.rows(section)[d.row]
        d.notes.append(t("forms.row_deleted", lang))
        _to_summary(d)
    else:
        raise _Refusal(t("forms.error.unknown", lang))


def _digits_equal(text: str, value: int, fld: FormField) -> bool:
    """True if retyping the pending figure (which then counts as «Có»)."""
    try:
        parsed = parse_money(text) if fld.type == "money" else parse_count(text, cap=10**15)
    except NumberError:
        return False
    return parsed == value


def _on_more_rows(form: ReportForm, d: _Draft, action: str, arg: str, lang: str) -> None:
    section = form.sections[d.section]
    if action == "yes":
        d.rows(section).append({})
        d.mode, d.row, d.field = "filling", len(d.rows(section)) - 1, 0
    elif action in ("no", "none"):
        _next_section(form, d)
    elif action == "back":
        _go_back(form, d, lang)
    else:
        raise _Refusal(t("forms.error.yes_no", lang))


def _on_summary(form: ReportForm, d: _Draft, action: str, arg: str, lang: str) -> None:
    if action == "send":
        _submit(form, d, lang)
    elif action == "edit":
        _start_edit(form, d, int(arg), lang)
    elif action == "back":
        _go_back(form, d, lang)
    else:
        raise _Refusal(t("forms.error.summary", lang))


def _on_confirm_cancel(form: ReportForm, d: _Draft, action: str, arg: str, lang: str) -> None:
    if action == "yes":
        d.mode = "cancelled"
    elif action in ("no", "back"):
        d.mode = d.before_cancel or "filling"
        d.before_cancel = None
    else:
        raise _Refusal(t("forms.error.yes_no", lang))


_HANDLERS: dict[str, _Handler] = {
    "filling": _on_filling,
    "more_rows": _on_more_rows,
    "summary": _on_summary,
    "confirm_cancel": _on_confirm_cancel,
}


def step(
    form: ReportForm, state: FormState, inp: FormInput, *, lang: str
) -> tuple[FormState, FormReply]:
    """One turn of the conversation: the new state and the reply. Pure."""
    if state.mode in ("submitted", "cancelled"):
        return state, prompt(form, state, lang=lang)
    decoded = _decode(form, state, inp, lang)
    if decoded == "stale":
        again = prompt(form, state, lang=lang)
        text = f"{t('forms.stale', lang)}\n\n{again.text}"
        return state, FormReply(text=text, choices=again.choices, numbered=again.numbered)
    action, arg = decoded
    d = _Draft.of(state)
    try:
        if action == "show":
            pass
        elif action == "bad_number":
            raise _Refusal(t("forms.error.no_choice_number", lang, n=arg))
        elif action == "cancel" and state.mode != "confirm_cancel":
            d.before_cancel, d.mode = state.mode, "confirm_cancel"
        else:
            _HANDLERS[state.mode](form, d, action, arg, lang)
    except _Refusal as refusal:
        again = prompt(form, state, lang=lang)
        text = f"{refusal.message}\n\n{again.text}"
        return state, FormReply(text=text, choices=again.choices, numbered=again.numbered)

    changed = d.freeze(nonce=state.nonce) != state
    new = d.freeze(nonce=state.nonce + 1) if changed else state
    notes = "\n".join(d.notes)
    if new.mode == "submitted":
        text = t("forms.submitted", lang)
        return new, FormReply(text=text, done=True, submitted=d.submitted)
    if new.mode == "cancelled":
        return new, FormReply(text=t("forms.cancel.done", lang), done=True, cancelled=True)
    reply = prompt(form, new, lang=lang)
    text = f"{notes}\n\n{reply.text}" if notes else reply.text
    return new, FormReply(text=text, choices=reply.choices, numbered=reply.numbered)


# ---- one-line shortcuts and draft age ----------------------------------------------------------


def _section_by_id(form: ReportForm, section_id: str) -> FormSection:
    for section in form.sections:
        if section.id == section_id:
            return section
    raise KeyError(section_id)


def quick_fill(form: ReportForm, quick: QuickForm, args: str) -> Row:
    """One table row from `/nhanh <alias> n1 n2 …`; raises QuickFillError or NumberError."""
    section = _section_by_id(form, quick.section)
    fields = {f.id: f for f in section.fields}
    words = normalize_text(args).split()
    if len(words) != len(quick.fields):
        raise QuickFillError(
            "forms.quick.usage",
            alias=quick.alias,
            fields=" ".join(f"<{fields[name].label}>" for name in quick.fields),
        )
    row: Row = dict(quick.preset)
    for name, word in zip(quick.fields, words, strict=True):
        fld = fields[name]
        cap = {"cap": fld.max} if fld.max is not None else {}
        try:
            value = parse_money(word, **cap) if fld.type == "money" else parse_count(word, **cap)
        except NumberError as err:
            raise QuickFillError(
                "forms.quick.bad_number", label=fld.label, reason=err.key, **err.fields
            ) from None
        if fld.min is not None and value < fld.min:
            raise QuickFillError(
                "forms.quick.below_min", label=fld.label, min=format_count(fld.min)
            )
        row[name] = value
    for check in form.checks:
        if (
            check.section == section.id
            and check.kind == "requires_positive"
            and any(_number(row, n) > 0 for n in check.fields)
            and _number(row, check.target) <= 0
        ):
            raise QuickFillError("forms.quick.requires_positive", target=fields[check.target].label)
    return row


def unusual_fields(form: ReportForm, section_id: str, row: Row) -> tuple[str, ...]:
    """Field ids whose value is above the field's typical maximum (worth a confirmation)."""
    section = _section_by_id(form, section_id)
    return tuple(
        f.id
        for f in section.fields
        if f.typical_max is not None
        and isinstance(row.get(f.id), int)
        and _number(row, f.id) > f.typical_max
    )


def quick_fill_error_text(err: QuickFillError, lang: str) -> str:
    """The message for a QuickFillError (a bad number's own reason included)."""
    if err.key == "forms.quick.bad_number":
        fields = dict(err.fields)
        reason = fields.pop("reason")
        label = fields.pop("label")
        return t(err.key, lang, label=label, reason=t(reason, lang, **fields))
    return t(err.key, lang, **err.fields)


def _aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def draft_expired(updated_at: datetime, now: datetime, ttl_hours: int) -> bool:
    """True once a draft untouched since `updated_at` has outlived its time to live."""
    _aware(updated_at, "updated_at")
    _aware(now, "now")
    return now - updated_at >= timedelta(hours=ttl_hours)


def draft_expiry_warning_due(
    updated_at: datetime,
    now: datetime,
    ttl_hours: int,
    *,
    warned: bool,
    warn_before_hours: int = 12,
) -> bool:
    """True when the caller should warn (once) that the draft expires within `warn_before_hours`."""
    if warned or draft_expired(updated_at, now, ttl_hours):
        return False
    lead = min(warn_before_hours, max(ttl_hours // 2, 1))
    return now >= updated_at + timedelta(hours=ttl_hours - lead)
