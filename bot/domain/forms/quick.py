"""`/nhanh`: one table row from one line, and the draft's age."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.campaign import ChoiceOption, FormSection, QuickForm, ReportForm
from bot.domain.forms.answers import parse_number
from bot.domain.forms.checks import lacks_positive
from bot.domain.forms.state import Row, number
from bot.domain.numbers import NumberError, format_count
from bot.domain.text import fold_words, normalize_text


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


def _names(option: ChoiceOption) -> set[str]:
    parts = [option.label, *option.label.split("/"), *option.aliases]
    return {fold_words(p) for p in parts if fold_words(p)} | {option.id}


def match_kind(section: FormSection, phrase: str) -> str | None:
    """The id of the section's kind (its first choice field) that `phrase` names, whole and
    accent-insensitive (a label, one of its «/» parts, an alias or the id); None if none does."""
    kind = next((f for f in section.fields if f.type == "choice"), None)
    folded = fold_words(phrase)
    if kind is None or not folded:
        return None
    return next((o.id for o in kind.choices if folded in _names(o)), None)


@dataclass(frozen=True, slots=True)
class QuickLine:
    """What a `/nhanh` line names: the shortcut, the kind if named, and the numbers' text."""

    quick: QuickForm
    kind: str | None
    numbers: str


def _kind_field(form: ReportForm, quick: QuickForm) -> str | None:
    section = section_by_id(form, quick.section)
    return next((f.id for f in section.fields if f.type == "choice"), None)


def _by_alias(form: ReportForm, phrase: str, numbers: str, typed: str) -> QuickLine | None:
    for quick in form.quick:
        if phrase == quick.alias:
            return QuickLine(quick, None, numbers)
        if phrase.startswith(quick.alias + " "):
            kind = match_kind(section_by_id(form, quick.section), phrase[len(quick.alias) + 1 :])
            if kind is None:
                raise QuickFillError("forms.quick.unknown", alias=typed[:32])
            return QuickLine(quick, kind, numbers)
    return None


def read_quick_line(form: ReportForm, args: str) -> QuickLine:
    """`/nhanh <shortcut> [kind] n1 n2 …` or `/nhanh <kind> n1 n2 …`: strictly matched (whole
    words, accent-insensitive, the pack's aliases); raises QuickFillError «unknown» otherwise."""
    words = normalize_text(args).split()
    first_number = next((i for i, w in enumerate(words) if any(c.isdigit() for c in w)), None)
    cut = len(words) if first_number is None else first_number
    typed, numbers = " ".join(words[:cut]), " ".join(words[cut:])
    phrase = fold_words(typed)
    found = _by_alias(form, phrase, numbers, typed)
    if found is not None:
        return found
    matches = [
        QuickLine(q, kind, numbers)
        for q in form.quick
        if (kind := match_kind(section_by_id(form, q.section), phrase)) is not None
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        shortcuts = ", ".join(m.quick.alias for m in matches)
        raise QuickFillError("forms.quick.ambiguous", alias=typed[:32], shortcuts=shortcuts)
    raise QuickFillError("forms.quick.unknown", alias=typed[:32])


def quick_row(form: ReportForm, line: QuickLine) -> Row:
    """The row of a `/nhanh` line (its kind, when named, before the numbers)."""
    row = quick_fill(form, line.quick, line.numbers)
    kind = _kind_field(form, line.quick)
    if line.kind is not None and kind is not None:
        row = {kind: line.kind, **{k: v for k, v in row.items() if k != kind}}
    return row


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
