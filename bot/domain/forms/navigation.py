"""Moving through the form: entering sections, the next question, one question back, and where
«Không có» or «Xóa dòng này» apply."""

from __future__ import annotations

from bot.domain.campaign import ReportForm
from bot.domain.forms.checks import failed_check
from bot.domain.forms.state import Draft, EditTarget, complete, has_data
from bot.domain.forms.summary import first_gap


def enter_section(form: ReportForm, d: Draft, index: int, *, at_end: bool) -> None:
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


def to_summary(d: Draft) -> None:
    """Show the summary (leaving any edit, confirmation or re-check)."""
    d.mode, d.editing, d.pending, d.recheck = "summary", None, None, False


def to_next_gap(form: ReportForm, d: Draft) -> bool:
    """Position at the first unanswered required question (asked alone, then the next one, then
    the summary); False, at the summary, when nothing is missing."""
    gap = first_gap(form, d)
    if gap is None:
        to_summary(d)
        return False
    d.mode, d.pending, d.recheck = "filling", None, False
    d.section, d.row, d.field = gap
    d.editing = EditTarget(item=0, section=d.section, row=d.row, field=d.field, gaps=True)
    return True


def next_section(form: ReportForm, d: Draft) -> None:
    """The first question of the next section, or the summary after the last."""
    if d.section + 1 >= len(form.sections):
        to_summary(d)
    else:
        enter_section(form, d, d.section + 1, at_end=False)


def none_allowed(form: ReportForm, d: Draft) -> bool:
    """«Không có» is offered at the first question of a table that holds nothing entered yet:
    never over a figure, a choice or an unfinished row (it would silently wipe them)."""
    section = form.sections[d.section]
    if section.kind != "table" or d.row != 0 or d.field != 0 or d.mode != "filling":
        return False
    return not has_data(d.tables.get(section.id, []))


def delete_allowed(form: ReportForm, d: Draft) -> bool:
    """«Xóa dòng này» is offered when editing a finished table row, at its first question."""
    section = form.sections[d.section]
    rows = d.tables.get(section.id, [])
    return (
        d.editing is not None
        and d.editing.field is None
        and section.kind == "table"
        and d.field == 0
        and d.row < len(rows)
        and complete(section, rows[d.row])
    )


def _after_row(form: ReportForm, d: Draft) -> None:
    section = form.sections[d.section]
    rows = d.rows(section)
    if d.row + 1 < len(rows):  # rows entered before a «quay lại»: walk them again
        d.row, d.field = d.row + 1, 0
    elif len(rows) < section.max_rows:
        d.mode = "more_rows"
    else:
        d.note("forms.max_rows", max=str(section.max_rows))
        next_section(form, d)


def finish_unit(form: ReportForm, d: Draft) -> None:
    """A row (table) or the fields section is answered: run checks, then move on."""
    section = form.sections[d.section]
    failed = failed_check(form, section, d.current_row(section))
    if failed is not None:
        check, note = failed
        # The figure stays (shown as current): «quay lại» from here loses nothing, and
        # «giữ nguyên» simply runs the check again.
        d.field = [f.id for f in section.fields].index(check.target)
        d.recheck = True
        d.notes.append(note)
        d.mode = "filling"
        return
    d.recheck = False
    if d.editing is not None and d.editing.gaps:
        to_next_gap(form, d)
    elif d.editing is not None:
        to_summary(d)
    elif section.kind == "table":
        _after_row(form, d)
    else:
        next_section(form, d)


def advance(form: ReportForm, d: Draft) -> None:
    """After an answer: the next field, or the end of the row/section."""
    section = form.sections[d.section]
    single = d.editing is not None and d.editing.field is not None
    if d.recheck or single or d.field + 1 >= len(section.fields):
        finish_unit(form, d)
    else:
        d.field += 1


def drop_empty_rows(form: ReportForm, d: Draft) -> None:
    """Remove rows nothing was entered in from the current table."""
    section = form.sections[d.section]
    if section.kind == "table":
        d.tables[section.id] = [r for r in d.rows(section) if r]


def _back_from_edit(form: ReportForm, d: Draft) -> None:
    assert d.editing is not None
    if d.editing.field is None and d.field > 0:
        d.field -= 1
    else:
        drop_empty_rows(form, d)
        to_summary(d)


def _back_across(form: ReportForm, d: Draft) -> None:
    """Back from the first field of a row: the previous row, or the previous section."""
    section = form.sections[d.section]
    if section.kind == "table" and d.row > 0:
        rows = d.rows(section)
        if not rows[d.row]:
            del rows[d.row]
        d.row -= 1
        d.field = len(section.fields) - 1
    elif d.section == 0:
        d.note("forms.error.first_question")
    else:
        drop_empty_rows(form, d)
        enter_section(form, d, d.section - 1, at_end=True)


def go_back(form: ReportForm, d: Draft) -> None:
    """One question back: previous field, previous row, previous section."""
    d.recheck = False
    if d.pending is not None:
        d.pending = None
    elif d.mode == "more_rows":
        d.mode, d.field = "filling", len(form.sections[d.section].fields) - 1
    elif d.mode == "summary":
        enter_section(form, d, len(form.sections) - 1, at_end=True)
    elif d.editing is not None:
        _back_from_edit(form, d)
    elif d.field > 0:
        d.field -= 1
    else:
        _back_across(form, d)
