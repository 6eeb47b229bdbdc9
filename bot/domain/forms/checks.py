"""Cross-checks between the fields of one row (e.g. the sum of men and women equals the total)."""

from __future__ import annotations

from bot.domain.campaign import CrossCheck, FormSection, ReportForm
from bot.domain.forms.state import Note, Row, number
from bot.domain.numbers import format_count


def _check_note(check: CrossCheck, row: Row, labels: dict[str, str]) -> Note | None:
    """The note if `check` fails on `row`, else None."""
    parts = ", ".join(labels[name] for name in check.fields)
    target = labels[check.target]
    if check.kind == "requires_positive":
        if any(number(row, n) > 0 for n in check.fields) and number(row, check.target) <= 0:
            return Note("forms.check.requires_positive", {"target": target, "fields": parts})
        return None
    total = row.get(check.target)
    if not isinstance(total, int):
        return None
    found = sum(number(row, n) for n in check.fields)
    if found == total:
        return None
    fields = {
        "target": target,
        "fields": parts,
        "sum": format_count(found),
        "total": format_count(total),
    }
    return Note("forms.check.sum_equals", fields)


def failed_check(
    form: ReportForm, section: FormSection, row: Row
) -> tuple[CrossCheck, Note] | None:
    """The first check of `section` that `row` fails, with its message."""
    labels = {f.id: f.label for f in section.fields}
    for check in form.checks:
        if check.section != section.id:
            continue
        note = _check_note(check, row, labels)
        if note is not None:
            return check, note
    return None


def lacks_positive(form: ReportForm, section: FormSection, row: Row) -> str | None:
    """The target field id of a «requires positive» check that `row` fails, if any."""
    for check in form.checks:
        if (
            check.section == section.id
            and check.kind == "requires_positive"
            and any(number(row, n) > 0 for n in check.fields)
            and number(row, check.target) <= 0
        ):
            return check.target
    return None
