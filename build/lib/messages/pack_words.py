"""Plain words for pack problems: pydantic's errors and the model's issues said in Vietnamese and
English (messages/*/packcheck.toml), "did you mean" for unknown keys, and dates written dd/mm/yyyy.

A date written `start = 18/12/2025` is a TOML syntax error that would hide every other problem of
the file; `repair_dates` finds such lines in the raw text, reports each with the TOML form to
write, and hands back the text with those dates rewritten so the rest of the file is still checked.
"""

from __future__ import annotations

import difflib
import re
import types
from dataclasses import dataclass
from datetime import date
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from bot.domain.campaign import CampaignPack, Issue, Loc
from messages import LANGUAGES, t

Words = dict[str, str]  # language → text

_DDMM = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_DDMM_LINE = re.compile(
    r"^(?P<head>\s*(?P<key>[A-Za-z0-9_.\"'-]+)\s*=\s*)"
    r"(?P<value>\d{1,2}/\d{1,2}/\d{4})(?P<tail>\s*(?:#.*)?)$"
)


def say(name: str, /, **fields: object) -> Words:
    """The catalogue message `packcheck.<name>` in every language."""
    return {lang: t(f"packcheck.{name}", lang, **fields) for lang in LANGUAGES}


def iso_of(text: str) -> str | None:
    """`2025-12-18` for `18/12/2025`, or None when `text` is not a real dd/mm/yyyy date."""
    match = _DDMM.match(text.strip())
    if match is None:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


@dataclass(frozen=True)
class DateLine:
    """A `key = dd/mm/yyyy` line found in the raw text."""

    line: int
    words: Words


def repair_dates(text: str) -> tuple[str, list[DateLine]]:
    """The text with each `key = dd/mm/yyyy` value rewritten as a TOML date, and those lines."""
    found: list[DateLine] = []
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        match = _DDMM_LINE.match(line)
        if match is None:
            continue
        key, value = match.group("key"), match.group("value")
        iso = iso_of(value)
        if iso is None:
            continue
        found.append(DateLine(number, say("file.ddmm", key=key, value=value, iso=iso)))
        lines[number - 1] = f"{match.group('head')}{iso}{match.group('tail')}"
    return "\n".join(lines), found


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = get_origin(annotation)
    if origin in (list, Union, types.UnionType):
        for arg in get_args(annotation):
            model = _model_of(arg)
            if model is not None:
                return model
    return None


def allowed_keys(loc: Loc) -> list[str]:
    """The keys the pack format allows in the table at `loc` (empty when it is not a table)."""
    model: type[BaseModel] = CampaignPack
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        inner = _model_of(field.annotation) if field is not None else None
        if inner is None:
            return []
        model = inner
    return list(model.model_fields)


def _unknown_key(loc: Loc) -> Words:
    key = str(loc[-1]) if loc else ""
    close = difflib.get_close_matches(key, allowed_keys(loc[:-1]), n=1, cutoff=0.6)
    if close:
        return say("value.unknown_key_close", key=key, close=close[0])
    return say("value.unknown_key", key=key)


def _date_words(value: object) -> Words:
    iso = iso_of(value) if isinstance(value, str) else None
    if iso is not None:
        return say("value.date_ddmm", value=value, iso=iso)
    return say("value.date", value=str(value)[:40])


_SIMPLE = {
    "missing": "value.missing",
    "int_type": "value.integer",
    "int_parsing": "value.integer",
    "int_from_float": "value.integer",
    "float_type": "value.number",
    "float_parsing": "value.number",
    "bool_type": "value.boolean",
    "bool_parsing": "value.boolean",
    "string_type": "value.text",
    "list_type": "value.list",
    "model_type": "value.table",
    "dict_type": "value.table",
    "model_attributes_type": "value.table",
}
_LIMITS = {
    "greater_than_equal": ("value.at_least", "ge"),
    "less_than_equal": ("value.at_most", "le"),
    "greater_than": ("value.above", "gt"),
    "less_than": ("value.below", "lt"),
}


def issue_words(issue: str) -> Words:
    """A model issue in every language (the model's own English text when it has no code)."""
    if not isinstance(issue, Issue):
        return {"vi": issue, "en": issue}
    fields = dict(issue.fields)
    if issue.code == "repeated":
        kind = str(fields.pop("kind"))
        what = say(f"kind.{kind}")
        return {
            lang: t("packcheck.model.repeated", lang, what=what[lang], **fields)
            for lang in LANGUAGES
        }
    return say(f"model.{issue.code}", **fields)


def error_words(error: Any) -> Words:
    """One pydantic error (not a model issue) in plain words, in every language."""
    kind, ctx, loc = error["type"], error.get("ctx", {}), tuple(error["loc"])
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind in _SIMPLE:
        return say(_SIMPLE[kind])
    if kind in _LIMITS:
        key, name = _LIMITS[kind]
        return say(key, limit=ctx.get(name))
    if kind.startswith("date_"):
        return _date_words(error.get("input"))
    if kind == "string_too_short":
        minimum = ctx.get("min_length", 1)
        return say("value.empty_text") if minimum == 1 else say("value.short_text", min=minimum)
    if kind == "string_too_long":
        return say("value.long_text", length=len(str(error.get("input"))), max=ctx["max_length"])
    if kind == "too_short":
        return say("value.short_list", min=ctx.get("min_length"))
    if kind == "too_long":
        return say("value.long_list", max=ctx.get("max_length"))
    if kind == "string_pattern_mismatch":
        return say("value.pattern", pattern=ctx.get("pattern"))
    if kind == "literal_error":
        return say("value.literal", expected=ctx.get("expected"))
    return say("value.other", detail=str(error["msg"]).removeprefix("Value error, "))
