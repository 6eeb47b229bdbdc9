"""User-facing text: `t(key, lang, **fields)` over messages/vi/*.toml (the reference) and en/.

Each area has its own file (residents.toml, reports.toml …) with the same name in every
language; keys are `<file stem>.<dotted key>`, e.g. t("residents.welcome", "vi", theme=…).

An unknown key, a missing field or an unexpected field raises at once, so a typo never reaches
a resident as a half-filled message.
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

MESSAGES_DIR = Path(__file__).resolve().parent
LANGUAGES = ("vi", "en")
DEFAULT_LANG = "vi"


class MessageError(KeyError):
    """A message key or its fields do not match the catalogue."""


def _flatten(prefix: str, table: dict[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            _flatten(full, value, out)
        elif isinstance(value, str):
            out[full] = value
        else:
            raise MessageError(f"{full}: messages must be strings")


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every message of one language, keyed by dotted name."""
    if lang not in LANGUAGES:
        raise MessageError(f"unknown language {lang!r}")
    out: dict[str, str] = {}
    for path in sorted((MESSAGES_DIR / lang).glob("*.toml")):
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        _flatten(path.stem, data, out)
    return out


def placeholders(template: str) -> set[str]:
    """The {field} names a template uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def t(key: str, lang: str = DEFAULT_LANG, /, **fields: object) -> str:
    """The message `key` in `lang`, filled with `fields`; raises MessageError on any mismatch."""
    table = catalogue(lang if lang in LANGUAGES else DEFAULT_LANG)
    try:
        template = table[key]
    except KeyError:
        raise MessageError(f"unknown message key {key!r}") from None
    wanted = placeholders(template)
    given = set(fields)
    if wanted != given:
        raise MessageError(
            f"{key}: fields {sorted(given)} do not match the template's {sorted(wanted)}"
        )
    return template.format(**fields)


def both(key: str, /, **fields: object) -> str:
    """The message `key` in Vietnamese, then English, one line each (the office PC's CLI lines,
    which have no language setting)."""
    return "\n".join(t(key, lang, **fields) for lang in LANGUAGES)


def has(key: str) -> bool:
    """True if `key` exists in the reference language."""
    return key in catalogue(DEFAULT_LANG)


def channel_name(channel: str, lang: str = DEFAULT_LANG, /) -> str:
    """A channel as a person reads it («Zalo OA» for `zalo_oa`); an unknown one as its id."""
    key = f"channels.{channel}"
    return t(key, lang) if has(key) else channel
