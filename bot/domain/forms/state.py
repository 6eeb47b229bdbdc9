"""The form's values: the saved state, the input, the submitted data, and notes/refusals as keys.

Nothing here renders text: a `Note` is a message key with its fields, turned into words at the chat
edge (bot.reporting.form_render). The state is frozen and JSON-serialisable; `Draft` is the mutable
working copy one step edits.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.domain.campaign import FormField, FormSection

Value = int | str | None  # None: an optional field left blank
Row = dict[str, Value]
Mode = Literal[
    "filling", "more_rows", "summary", "pick_field", "confirm_cancel", "submitted", "cancelled"
]

DEFAULT_TEXT_MAX = 2000
MAX_EDIT_BUTTONS = 24  # beyond this, «sửa N» is typed (the summary's footer says how)
DRAFT_ID_PATTERN = r"^[A-Za-z0-9_-]{0,16}$"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pending(_Frozen):
    """A figure above the field's typical maximum, waiting for «Có»."""

    field: str
    value: int


class EditTarget(_Frozen):
    """The summary item being edited: a table row (every field) or one field; `gaps`: the
    questions «gửi» found unanswered, one after the other, then back to the summary."""

    item: int
    section: int
    row: int = 0
    field: int | None = None  # None: the whole table row
    gaps: bool = False


class FormState(_Frozen):
    """Where a person is in the form and what they entered; JSON round-trips exactly."""

    schema_version: int = 1
    draft_id: str = Field(default="", pattern=DRAFT_ID_PATTERN)
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
    clearing: bool = False  # «bỏ qua» over an entered value: waiting for «Có» to blank it

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
    length: int | None = None  # the typed text's length before the messenger layer cut it

    @classmethod
    def typed(cls, text: str, *, length: int | None = None) -> FormInput:
        """Typed text (a value, a numbered reply or a word such as «quay lại»); `length` is its
        real length when `text` is a cut copy of a longer message."""
        return cls(text=text, length=length)

    @classmethod
    def pressed(cls, data: str) -> FormInput:
        """A button press carrying the button's data."""
        return cls(choice_data=data)

    @classmethod
    def word(cls, command: str) -> FormInput:
        """A command (e.g. from /quaylai): back, skip, cancel, keep, none, send, show."""
        return cls(command=command)


@dataclass(frozen=True, slots=True)
class Note:
    """A message for the person, as a catalogue key and its fields (rendered at the chat edge)."""

    key: str
    fields: dict[str, str] = dataclasses.field(default_factory=dict)


class Refusal(Exception):
    """An answer refused; nothing is stored. `note` says why."""

    def __init__(self, key: str, **fields: str) -> None:
        super().__init__(key)
        self.note = Note(key, dict(fields))


@dataclass(slots=True)
class Draft:
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
    clearing: bool
    notes: list[Note] = dataclasses.field(default_factory=list)
    submitted: FormData | None = None
    typed_length: int | None = None  # the typed answer's length before any cut (see FormInput)

    @classmethod
    def of(cls, state: FormState) -> Draft:
        """A working copy of `state` (rows copied, so the state stays untouched)."""
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
            clearing=state.clearing,
        )

    def freeze(self, nonce: int) -> FormState:
        """The working copy as a state with `nonce`."""
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
            clearing=self.clearing,
        )

    def note(self, key: str, **fields: str) -> None:
        """Add a message to the reply."""
        self.notes.append(Note(key, dict(fields)))

    def rows(self, section: FormSection) -> list[Row]:
        """The rows of a table section (created empty if missing)."""
        return self.tables.setdefault(section.id, [])

    def current_row(self, section: FormSection) -> Row:
        """The row being answered (a table row, or the fields section's values)."""
        if section.kind == "table":
            rows = self.rows(section)
            while len(rows) <= self.row:
                rows.append({})
            return rows[self.row]
        return self.values.setdefault(section.id, {})


def has_data(rows: list[Row]) -> bool:
    """True if any row holds an entered value (a figure, a choice, a text)."""
    return any(rows)


def short_label(fld: FormField) -> str:
    """The label's last part: «Số người tham gia: Nữ» → «Nữ» (for buttons and «sửa N nữ»)."""
    return fld.label.rsplit(":", 1)[-1].strip() or fld.label


def complete(section: FormSection, row: Row) -> bool:
    """True if every field of the row is answered."""
    return all(f.id in row for f in section.fields)


def number(row: Row, name: str) -> int:
    """The row's figure `name` (0 when blank or not a number)."""
    value = row.get(name)
    return value if isinstance(value, int) else 0
