"""Campaign packs on disk: find, list, load and check them, with file:line for every problem.

A pack is a TOML file in messages/campaigns/ (or anywhere on disk) validated by
`bot.domain.campaign.CampaignPack`. A pack may share tables with other packs through library
files: `include = ["posts-2025", "hotlines-national"]` merges the top-level keys of
`<name>.toml` (looked up next to the pack, then in messages/campaigns/) into the pack. A key may
come from only one place, and a library cannot include another library.

Every string is normalised to NFC on load (an editor may save NFD). `check_pack` never stops at
the first problem: it reports TOML syntax errors with tomllib's line, and every validation error
at the line of the offending key or `[[array]]` entry, in the file that holds it.

Exceptions: `PackError(problems)` from `load_pack`, `resolve_pack_path` and `list_packs`.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from bot.domain.campaign import CampaignInfo, CampaignPack, Loc, PackIssues
from messages import both, t
from messages.pack_words import Words, error_words, issue_words, repair_dates, say
from messages.toml_lines import Locator

PACKS_DIR = Path(__file__).resolve().parent / "campaigns"
INCLUDE_KEY = "include"


Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a pack: where (file, 1-based line if known) and what, in English
    (`message`) and Vietnamese (`message_vi`); a warning does not stop the pack from loading."""

    file: Path
    line: int | None
    message: str
    message_vi: str = ""
    severity: Severity = "error"

    @property
    def where(self) -> str:
        """`file:line`, or the file name alone when the line is unknown."""
        return self.file.name if self.line is None else f"{self.file.name}:{self.line}"

    def __str__(self) -> str:
        tag = "warning: " if self.severity == "warning" else ""
        return f"{self.where}: {tag}{self.message}"

    def describe(self) -> str:
        """Two lines for a person: Vietnamese first, then English."""
        tag = f"{t('packcheck.warning', 'vi')}: " if self.severity == "warning" else ""
        return f"{self.where}: {tag}{self.message_vi or self.message}\n    {self}"


def said(
    path: Path, line: int | None, words: Words, prefix: str = "", severity: Severity = "error"
) -> Problem:
    """A problem from words in every language, each after the same `prefix` (e.g. a key path)."""
    return Problem(path, line, prefix + words["en"], prefix + words["vi"], severity)


class PackError(ValueError):
    """A pack cannot be used; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def unusable_text(name: str, problems: list[Problem]) -> str:
    """Why a command refuses the pack `name`: both languages, then every problem described."""
    lines = "\n".join(f"  {p.describe()}" for p in problems)
    return f"loa: {both('packcheck.cli.unusable', name=name)}\n{lines}"


@dataclass(frozen=True)
class PackSummary:
    """One line of `loa campaign list`."""

    id: str
    locality: str
    year: int
    start: date
    end: date
    file: Path
    last_due: date | None = None  # the last report deadline written in the pack file


# ---- reading files --------------------------------------------------------------------------


@dataclass
class _Source:
    """One parsed TOML file and its key locator."""

    path: Path
    data: dict[str, Any]
    locator: Locator


@dataclass
class _Reading:
    """A pack with its libraries merged in, and where each top-level key came from."""

    pack: _Source | None
    data: dict[str, Any] = field(default_factory=dict)
    origin: dict[str, _Source] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


_TOML_AT = re.compile(r"\s*\(at line (\d+), column \d+\)\s*$")


def _parse(path: Path, problems: list[Problem]) -> _Source | None:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        detail = str(exc.strerror or exc)
        problems.append(said(path, None, say("file.cannot_read", detail=detail)))
        return None
    except UnicodeDecodeError as exc:
        problems.append(said(path, None, say("file.not_utf8", detail=exc.reason)))
        return None
    text, dates = repair_dates(text)  # reported, then read as TOML dates to check the rest
    problems += [said(path, found.line, found.words) for found in dates]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_AT.search(message)
        line = int(match.group(1)) if match else None
        detail = _TOML_AT.sub("", message)
        problems.append(said(path, line, say("file.syntax", detail=detail)))
        return None
    return _Source(path, _nfc(data), Locator(text))


def _nfc(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    if isinstance(value, dict):
        return {unicodedata.normalize("NFC", k): _nfc(v) for k, v in value.items()}
    return value


def _library_path(name: str, pack_dir: Path) -> Path | None:
    for directory in (pack_dir, PACKS_DIR):
        candidate = directory / f"{name}.toml"
        if candidate.is_file():
            return candidate
    return None


def _read(path: Path) -> _Reading:
    problems: list[Problem] = []
    pack = _parse(path, problems)
    reading = _Reading(pack, problems=problems)
    if pack is None:
        return reading
    reading.data = {k: v for k, v in pack.data.items() if k != INCLUDE_KEY}
    reading.origin = dict.fromkeys(reading.data, pack)
    names = pack.data.get(INCLUDE_KEY, [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        line = pack.locator.line_for((INCLUDE_KEY,))
        problems.append(said(path, line, say("file.include_list")))
        return reading
    for index, name in enumerate(names):
        line = pack.locator.line_for((INCLUDE_KEY, index))
        library_path = _library_path(name, path.parent)
        if library_path is None:
            words = say("file.include_missing", index=index, name=name, dir=PACKS_DIR)
            problems.append(said(path, line, words))
            continue
        library = _parse(library_path, problems)
        if library is None:
            continue
        for key, value in library.data.items():
            if key == INCLUDE_KEY:
                where = library.locator.line_for((key,))
                problems.append(said(library_path, where, say("file.include_nested")))
            elif key in reading.data:
                first, second = reading.origin[key].path.name, library_path.name
                words = say("file.include_twice", index=index, key=key, first=first, second=second)
                problems.append(said(path, line, words))
            else:
                reading.data[key] = value
                reading.origin[key] = library
    return reading


# ---- validation errors → problems ----------------------------------------------------------


def _render(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _place(reading: _Reading, loc: Loc) -> tuple[Path, int | None]:
    assert reading.pack is not None
    pack = reading.pack
    if not loc or not isinstance(loc[0], str) or loc[0] not in reading.origin:
        return pack.path, pack.locator.line_for(loc)
    source = reading.origin[loc[0]]
    if source is not pack and len(loc) == 1:
        # A whole included table is wrong for this pack (e.g. posts that miss a day of this
        # pack's window): the fix belongs to the pack's include line, not to the library.
        names = pack.data.get(INCLUDE_KEY, [])
        stem = source.path.stem
        index = names.index(stem) if stem in names else None
        key: Loc = (INCLUDE_KEY,) if index is None else (INCLUDE_KEY, index)
        return pack.path, pack.locator.line_for(key)
    return source.path, source.locator.line_for(loc)


def _problems_from(reading: _Reading, exc: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    for error in exc.errors():
        base: Loc = tuple(error["loc"])
        cause = error.get("ctx", {}).get("error")
        issues: list[tuple[Loc, Words]] = (
            [(sub, issue_words(issue)) for sub, issue in cause.issues]
            if isinstance(cause, PackIssues)
            else [((), error_words(error))]
        )
        for sub, words in issues:
            loc = (*base, *sub)
            path, line = _place(reading, loc)
            origin = reading.origin.get(loc[0]) if loc and isinstance(loc[0], str) else None
            if origin and origin.path != path:
                note = say("from_library", file=origin.path.name)
                words = {lang: note[lang] + text for lang, text in words.items()}
            prefix = f"{_render(loc)}: " if loc else ""
            problems.append(said(path, line, words, prefix))
    return problems


def _warnings(reading: _Reading, pack: CampaignPack) -> list[Problem]:
    """What does not stop the pack but a person must still do (e.g. set the year's theme)."""
    assert reading.pack is not None
    warnings: list[Problem] = []
    if pack.campaign.theme_pending:
        loc: Loc = ("campaign", "theme_pending")
        path, line = _place(reading, loc)
        words = say("warn.theme_pending", year=pack.campaign.year)
        warnings.append(said(path, line, words, f"{_render(loc)}: ", "warning"))
    return warnings


# ---- public API -----------------------------------------------------------------------------


def check_pack(path: Path) -> list[Problem]:
    """Every problem of the pack at `path` (with its libraries), warnings included; the pack is
    usable when none is an error."""
    problems, _ = _check(path)
    return problems


def errors_of(problems: list[Problem]) -> list[Problem]:
    """The problems that stop a pack from loading."""
    return [p for p in problems if p.severity == "error"]


def _check(path: Path) -> tuple[list[Problem], CampaignPack | None]:
    reading = _read(path)
    if reading.pack is None:
        return reading.problems, None
    problems = list(reading.problems)
    pack: CampaignPack | None = None
    try:
        pack = CampaignPack.model_validate(reading.data)
    except ValidationError as exc:
        problems += _problems_from(reading, exc)
    if pack is not None:
        problems += _warnings(reading, pack)
    problems.sort(key=lambda p: (str(p.file), p.line or 0))
    return problems, (None if errors_of(problems) else pack)


def resolve_pack_path(name_or_path: str) -> Path:
    """The file of a pack id from messages/campaigns/, or of a path to a .toml file."""
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix == ".toml" and candidate.is_file():
        return candidate.resolve()
    by_id = PACKS_DIR / f"{name_or_path}.toml"
    if "/" not in name_or_path and by_id.is_file():
        return by_id
    known = ", ".join(s.id for s in list_packs()) or "-"
    words = say("file.unknown_pack", name=name_or_path, dir=PACKS_DIR, known=known)
    raise PackError([said(candidate, None, words)])


def load_pack(name_or_path: str) -> CampaignPack:
    """The validated pack; raises PackError listing every problem."""
    path = resolve_pack_path(name_or_path)
    problems, pack = _check(path)
    if pack is None:
        raise PackError(errors_of(problems))
    return pack


def list_packs(directory: Path = PACKS_DIR) -> list[PackSummary]:
    """The packs in `directory` (files with a [campaign] table; libraries are skipped)."""
    summaries: list[PackSummary] = []
    for path in sorted(directory.glob("*.toml")):
        problems: list[Problem] = []
        source = _parse(path, problems)
        if source is None:
            raise PackError(problems)
        raw = source.data.get("campaign")
        if raw is None:
            continue
        try:
            info = CampaignInfo.model_validate(raw)
        except ValidationError:
            raise PackError(check_pack(path)) from None
        dues = [d.get("due") for d in source.data.get("deadlines", []) if isinstance(d, dict)]
        last_due = max((d for d in dues if isinstance(d, date)), default=None)
        summaries.append(
            PackSummary(info.id, info.locality, info.year, info.start, info.end, path, last_due)
        )
    return summaries
