"""`/nhanh`: one table row from one line, and the draft's age."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.campaign import FormSection, QuickForm, ReportForm
from bot.domain.forms.answers import parse_number
from bot.domain.forms.checks import lacks_positive
from bot.domain.forms.state import Row, number
from bot.domain.numbers import NumberError, format_count
from bot.domain.text import normalize_text


class QuickFillError(ValueError):
    """A `/nhanh` line that cannot fill a row; `key`/`fields` give the message."""

    def __init__(self, key: str, **fields: str) -> None:
        super().__init__(key)
        self.key = key
        self.fields = fields


def section_by_id(form: ReportForm, section_id: str) -> FormSection:
    """The form's section `section_id`; raises KeyError."""
    for section in form.sections:
        if section.id == section_id:
            return section
    raise KeyError(section_id)


def quick_fill(form: ReportForm, quick: QuickForm, args: str) -> Row:
    """One table row from `/nhanh <alias> n1 n2 …`; raises QuickFillError or NumberError."""
    section = section_by_id(form, quick.section)
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
        try:
            value = parse_number(fld, word)
        except NumberError as err:
            raise QuickFillError(
                "forms.quick.bad_number", label=fld.label, reason=err.key, **err.fields
            ) from None
        if fld.min is not None and value < fld.min:
            raise QuickFillError(
                "forms.quick.below_min", label=fld.label, min=format_count(fld.min)
            )
        row[name] = value
    target = lacks_positive(form, section, row)
    if target is not None:
        raise QuickFillError("forms.quick.requires_positive", target=fields[target].label)
    return row


def unusual_fields(form: ReportForm, section_id: str, row: Row) -> tuple[str, ...]:
    """Field ids whose value is above the field's typical maximum (worth a confirmation)."""
    section = section_by_id(form, section_id)
    return tuple(
        f.id
        for f in section.fields
        if f.typical_max is not None
        and isinstance(row.get(f.id), int)
        and number(row, f.id) > f.typical_max
    )


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
