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
from typing import Any

from pydantic import ValidationError

from bot.domain.campaign import CampaignInfo, CampaignPack, Loc, PackIssues

PACKS_DIR = Path(__file__).resolve().parent / "campaigns"
INCLUDE_KEY = "include"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a pack: where (file, 1-based line if known) and what."""

    file: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file.name if self.line is None else f"{self.file.name}:{self.line}"
        return f"{where}: {self.message}"


class PackError(ValueError):
    """A pack cannot be used; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class PackSummary:
    """One line of `loa campaign list`."""

    id: str
    locality: str
    year: int
    start: date
    end: date
    file: Path


# ---- locating keys in TOML text -------------------------------------------------------------


class _Locator:
    """Maps each key path (as pydantic writes `loc`) to the line where the TOML text sets it.

    A small scanner over already-valid TOML: table headers, `[[array]]` entries (counted per
    parent, so nested arrays of tables resolve), dotted keys, inline tables, and the elements of
    arrays (each at the line where it starts).
    """

    _BARE = re.compile(r"[A-Za-z0-9_-]+")

    def __init__(self, text: str) -> None:
        self._s = text
        self._i = 0
        self._line = 1
        self._counts: dict[Loc, int] = {}
        self.lines: dict[Loc, int] = {}
        self._scan()

    def line_for(self, loc: Loc) -> int | None:
        """The line of `loc`, or of its nearest enclosing key that the text sets."""
        for end in range(len(loc), 0, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None

    # -- scanning

    def _peek(self, ahead: int = 0) -> str:
        j = self._i + ahead
        return self._s[j] if j < len(self._s) else ""

    def _advance(self, count: int = 1) -> None:
        chunk = self._s[self._i : self._i + count]
        self._line += chunk.count("\n")
        self._i += len(chunk)

    def _skip(self, newlines: bool) -> None:
        while self._i < len(self._s):
            ch = self._s[self._i]
            if ch in " \t\r" or (newlines and ch == "\n"):
                self._advance()
            elif ch == "#":
                while self._i < len(self._s) and self._s[self._i] != "\n":
                    self._advance()
            else:
                return

    def _record(self, loc: Loc) -> None:
        self.lines.setdefault(loc, self._line)

    def _scan(self) -> None:
        table: Loc = ()
        while True:
            self._skip(newlines=True)
            if self._i >= len(self._s):
                return
            if self._s.startswith("[[", self._i):
                self._advance(2)
                table = self._header(self._key(), array=True)
                self._advance(2)  # ]]
            elif self._peek() == "[":
                self._advance()
                table = self._header(self._key(), array=False)
                self._advance()  # ]
            else:
                self._pair(table)

    def _header(self, keys: list[str], array: bool) -> Loc:
        path: Loc = ()
        for n, key in enumerate(keys):
            path = (*path, key)
            if array and n == len(keys) - 1:
                index = self._counts.get(path, 0)
                self._counts[path] = index + 1
                self._record(path)
                path = (*path, index)
            elif path in self._counts:
                path = (*path, self._counts[path] - 1)
        self._record(path)
        return path

    def _key(self) -> list[str]:
        keys: list[str] = []
        while True:
            self._skip(newlines=False)
            ch = self._peek()
            if ch in "\"'":
                start = self._i
                self._string()
                keys.append(tomllib.loads(f"k = {self._s[start : self._i]}")["k"])
            else:
                match = self._BARE.match(self._s, self._i)
                if match is None:
                    return keys
                keys.append(match.group())
                self._advance(len(match.group()))
            self._skip(newlines=False)
            if self._peek() != ".":
                return keys
            self._advance()

    def _pair(self, table: Loc) -> None:
        loc = (*table, *self._key())
        self._record(loc)
        self._skip(newlines=False)
        self._advance()  # =
        self._skip(newlines=False)
        self._value(loc)

    def _value(self, loc: Loc) -> None:
        ch = self._peek()
        if ch in "\"'":
            self._string()
        elif ch == "[":
            self._advance()
            index = 0
            while True:
                self._skip(newlines=True)
                if self._peek() in ("]", ""):
                    self._advance()
                    return
                self._record((*loc, index))
                self._value((*loc, index))
                self._skip(newlines=True)
                if self._peek() == ",":
                    self._advance()
                index += 1
        elif ch == "{":
            self._advance()
            while True:
                self._skip(newlines=False)
                if self._peek() in ("}", ""):
                    self._advance()
                    return
                self._pair(loc)
                self._skip(newlines=False)
                if self._peek() == ",":
                    self._advance()
        else:
            while self._i < len(self._s) and self._s[self._i] not in ",]}\n#":
                self._advance()

    def _string(self) -> None:
        quote = self._peek()
        triple = quote * 3
        if self._s.startswith(triple, self._i):
            self._advance(3)
            while self._i < len(self._s):
                if quote == '"' and self._peek() == "\\":
                    self._advance(2)
                elif self._s.startswith(triple, self._i):
                    self._advance(3)
                    extra = 0  # up to two quotes may end the content right before the delimiter
                    while extra < 2 and self._peek() == quote:
                        self._advance()
                        extra += 1
                    return
                else:
                    self._advance()
            return
        self._advance()
        while self._i < len(self._s) and self._peek() != quote:
            self._advance(2 if quote == '"' and self._peek() == "\\" else 1)
        self._advance()


# ---- reading files --------------------------------------------------------------------------


@dataclass
class _Source:
    """One parsed TOML file and its key locator."""

    path: Path
    data: dict[str, Any]
    locator: _Locator


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
        problems.append(Problem(path, None, f"cannot read the file: {exc.strerror or exc}"))
        return None
    except UnicodeDecodeError as exc:
        problems.append(Problem(path, None, f"not UTF-8 text ({exc.reason})"))
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_AT.search(message)
        line = int(match.group(1)) if match else None
        problems.append(Problem(path, line, f"TOML syntax: {_TOML_AT.sub('', message)}"))
        return None
    return _Source(path, _nfc(data), _Locator(text))


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
        problems.append(
            Problem(path, pack.locator.line_for((INCLUDE_KEY,)), "include: a list of names")
        )
        return reading
    for index, name in enumerate(names):
        line = pack.locator.line_for((INCLUDE_KEY, index))
        library_path = _library_path(name, path.parent)
        if library_path is None:
            problems.append(
                Problem(
                    path,
                    line,
                    f"include[{index}]: no library {name!r} next to the pack or in {PACKS_DIR}",
                )
            )
            continue
        library = _parse(library_path, problems)
        if library is None:
            continue
        for key, value in library.data.items():
            if key == INCLUDE_KEY:
                problems.append(
                    Problem(
                        library_path,
                        library.locator.line_for((key,)),
                        "include: a library cannot include other files",
                    )
                )
            elif key in reading.data:
                problems.append(
                    Problem(
                        path,
                        line,
                        f"include[{index}]: {key} is given both in "
                        f"{reading.origin[key].path.name} and in {library_path.name}",
                    )
                )
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


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key (not part of the pack format)"
    if error["type"] == "missing":
        return "required key is missing"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


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
        issues = cause.issues if isinstance(cause, PackIssues) else [((), _message(error))]
        for sub, message in issues:
            loc = (*base, *sub)
            path, line = _place(reading, loc)
            origin = reading.origin.get(loc[0]) if loc and isinstance(loc[0], str) else None
            note = f"(from {origin.path.name}) " if origin and origin.path != path else ""
            prefix = f"{_render(loc)}: " if loc else ""
            problems.append(Problem(path, line, f"{prefix}{note}{message}"))
    return problems


# ---- public API -----------------------------------------------------------------------------


def check_pack(path: Path) -> list[Problem]:
    """Every problem of the pack at `path` (with its libraries); an empty list means usable."""
    problems, _ = _check(path)
    return problems


def _check(path: Path) -> tuple[list[Problem], CampaignPack | None]:
    reading = _read(path)
    if reading.pack is None:
        return reading.problems, None
    problems = list(reading.problems)
    try:
        pack = CampaignPack.model_validate(reading.data)
    except ValidationError as exc:
        problems += _problems_from(reading, exc)
        pack = None
    problems.sort(key=lambda p: (str(p.file), p.line or 0))
    return problems, (None if problems else pack)


def resolve_pack_path(name_or_path: str) -> Path:
    """The file of a pack id from messages/campaigns/, or of a path to a .toml file."""
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix == ".toml" and candidate.is_file():
        return candidate.resolve()
    by_id = PACKS_DIR / f"{name_or_path}.toml"
    if "/" not in name_or_path and by_id.is_file():
        return by_id
    known = ", ".join(s.id for s in list_packs()) or "none"
    raise PackError(
        [
            Problem(
                candidate,
                None,
                f"no campaign pack {name_or_path!r}: not a .toml file on disk, nor a pack id "
                f"in {PACKS_DIR} (known: {known})",
            )
        ]
    )


def load_pack(name_or_path: str) -> CampaignPack:
    """The validated pack; raises PackError listing every problem."""
    path = resolve_pack_path(name_or_path)
    problems, pack = _check(path)
    if pack is None:
        raise PackError(problems)
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
        summaries.append(PackSummary(info.id, info.locality, info.year, info.start, info.end, path))
    return summaries
