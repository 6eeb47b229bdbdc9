"""The summary's items (each table row one item, each field one item), the report's data, the
«sửa N» edit and the final submission."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.campaign import FormSection, ReportForm
from bot.domain.forms.state import Draft, EditTarget, FormData, FormState, Refusal, short_label
from bot.domain.text import fold


@dataclass(frozen=True, slots=True)
class Item:
    """One numbered summary item."""

    section: int
    row: int | None  # a table row (None: an empty table)
    field: int | None  # a fields-section field


def items(form: ReportForm, data: FormData) -> list[Item]:
    """The summary's numbered items, in order."""
    found: list[Item] = []
    for s_index, section in enumerate(form.sections):
        if section.kind == "table":
            rows = data.tables.get(section.id, [])
            if rows:
                found += [Item(s_index, r, None) for r in range(len(rows))]
            else:
                found.append(Item(s_index, None, None))
        else:
            found += [Item(s_index, None, f) for f in range(len(section.fields))]
    return found


def draft_data(form: ReportForm, d: Draft | FormState) -> FormData:
    """What the draft would send now (empty rows dropped, blank optional fields as None)."""
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


def first_gap(form: ReportForm, d: Draft) -> tuple[int, int, int] | None:
    """The first unanswered required question (a safety net before submitting)."""
    for s_index, section in enumerate(form.sections):
        if section.kind == "table":
            for r_index, row in enumerate(d.tables.get(section.id, [])):
                missing = [i for i, f in enumerate(section.fields) if row and f.id not in row]
                if missing:
                    return s_index, r_index, missing[0]
        else:
            row = d.values.get(section.id, {})
            for f_index, fld in enumerate(section.fields):
                if fld.required and row.get(fld.id) is None:
                    return s_index, 0, f_index
    return None


def start_edit(form: ReportForm, d: Draft, number: int) -> None:
    """«sửa N»: walk item N again (a whole table row, or one field)."""
    found = items(form, draft_data(form, d))
    if not 1 <= number <= len(found):
        raise Refusal("forms.error.no_item", n=str(number), count=str(len(found)))
    item = found[number - 1]
    section = form.sections[item.section]
    d.mode, d.section, d.pending, d.recheck = "filling", item.section, None, False
    if item.field is not None:
        d.row, d.field = 0, item.field
        d.editing = EditTarget(item=number, section=item.section, field=item.field)
        return
    rows = [r for r in d.rows(section) if r]
    if item.row is None:
        rows.append({})
    d.tables[section.id] = rows
    d.row, d.field = item.row or 0, 0
    d.editing = EditTarget(item=number, section=item.section, row=d.row)
    if item.row is not None:
        d.mode = "pick_field"  # a finished row: which of its fields?


def pick_field(form: ReportForm, d: Draft, index: int) -> None:
    """The field `index` of the row being edited, asked alone, then back to the summary."""
    assert d.editing is not None
    section = form.sections[d.section]
    if not 0 <= index < len(section.fields):
        raise Refusal("forms.error.unknown")
    d.mode, d.field = "filling", index
    d.editing = d.editing.model_copy(update={"field": index})


def find_field(section: FormSection, text: str) -> tuple[int, str] | None:
    """«nữ 150» → (the index of the field «…: Nữ», «150»): the longest field name the words start
    with (accent-insensitive, whole words: a label, its last part after «:», or the field id)."""
    words = fold(text).split()
    found: tuple[int, str] | None = None
    longest = 0
    for index, fld in enumerate(section.fields):
        for name in {fold(fld.label), fold(short_label(fld)), fld.id}:
            size = len(name.split())
            if words[:size] == name.split() and size > longest:
                found, longest = (index, " ".join(text.split()[size:])), size
    return found
