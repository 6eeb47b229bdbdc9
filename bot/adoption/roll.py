"""`loa campaign roll PACK --year 2026`: next year's pack from this year's, honestly.

The pack file is rewritten line by line (comments and layout kept): the campaign id and `year`
move to the new year, every TOML date value (window, deadlines) moves by the same number of
years, and the theme, which the ministry sets anew each year, is emptied and marked
`theme_pending = true` (the old one stays as a comment) so `check` warns until a person writes
it. Nothing else is guessed: every line of the pack and of its libraries that still names the
old year or a dd/mm date is listed, with file:line, for a person to review.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bot.adoption.files import AdoptionError, write_atomically
from messages import both
from messages.packs import INCLUDE_KEY, PACKS_DIR, Problem, check_pack

_TABLE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_DATE_VALUE = re.compile(
    r"^(?P<head>\s*[A-Za-z0-9_-]+\s*=\s*)(?P<date>\d{4}-\d{2}-\d{2})(?P<tail>\s*(?:#.*)?)$"
)
_KEY_VALUE = re.compile(r"^(?P<head>\s*(?P<key>[A-Za-z0-9_-]+)\s*=\s*)(?P<value>.*?)\s*$")
_DAY_MONTH = re.compile(r"(?<![\d/])\d{1,2}/\d{1,2}(?:/\d{2,4})?(?![\d/])")


@dataclass(frozen=True)
class Change:
    """A line roll rewrote."""

    line: int
    before: str
    after: str


@dataclass(frozen=True)
class Review:
    """A line that still names the old year or a date: a person decides."""

    file: Path
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.file.name}:{self.line}: {self.text}"


@dataclass
class Rolled:
    """What `roll_pack` wrote and what is left for a person."""

    path: Path
    new_id: str
    changes: list[Change] = field(default_factory=list)
    review: list[Review] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _shift(value: date, years: int) -> date:
    try:
        return value.replace(year=value.year + years)
    except ValueError:  # 29 February into a common year
        return value.replace(year=value.year + years, day=28)


def new_pack_id(old_id: str, old_year: int, year: int) -> str:
    """The id with the year replaced (or appended when the id names none)."""
    if str(old_year) in old_id:
        return old_id.replace(str(old_year), str(year))
    return f"{old_id}-{year}"


def _rewrite(text: str, old_year: int, year: int) -> tuple[list[str], list[Change], str]:
    """The new lines, what changed, and the new id."""
    lines = text.split("\n")
    out: list[str] = []
    changes: list[Change] = []
    table = ""
    new_id = ""
    has_pending = re.search(r"^\s*theme_pending\s*=", text, re.MULTILINE) is not None
    for number, line in enumerate(lines, start=1):
        header = _TABLE.match(line)
        if header is not None:
            table = header.group(1)
        after = [line]
        dated = _DATE_VALUE.match(line)
        pair = _KEY_VALUE.match(line) if table == "campaign" else None
        key = pair.group("key") if pair else ""
        if dated is not None:
            moved = _shift(date.fromisoformat(dated.group("date")), year - old_year)
            after = [f"{dated.group('head')}{moved.isoformat()}{dated.group('tail')}"]
        elif pair is not None and key == "year":
            after = [f"{pair.group('head')}{year}"]
        elif pair is not None and key == "id":
            old_id = tomllib.loads(line.strip())["id"]
            new_id = new_pack_id(old_id, old_year, year)
            after = [f'{pair.group("head")}"{new_id}"']
        elif pair is not None and key in ("theme", "theme_en") and pair.group("value") != '""':
            after = [f"# {old_year}: {line.strip()}", f'{pair.group("head")}""']
            if key == "theme" and not has_pending:
                after.append("theme_pending = true  # the national theme is not published yet")
        elif pair is not None and key == "theme_pending":
            after = [f"{pair.group('head')}true"]
        if after != [line]:
            changes.append(Change(number, line.strip(), " / ".join(a.strip() for a in after)))
        out.extend(after)
    return out, changes, new_id


def _review(path: Path, lines: list[str], old_year: int) -> list[Review]:
    year = re.compile(rf"(?<!\d){old_year}(?!\d)")
    found = []
    for number, line in enumerate(lines, start=1):
        if year.search(line) or _DAY_MONTH.search(line):
            found.append(Review(path, number, line.strip()[:160]))
    return found


def _libraries(path: Path, data: dict[str, object]) -> list[Path]:
    names = data.get(INCLUDE_KEY, [])
    found: list[Path] = []
    for name in names if isinstance(names, list) else []:
        for directory in (path.parent, PACKS_DIR):
            candidate = directory / f"{name}.toml"
            if candidate.is_file():
                found.append(candidate)
                break
    return found


def roll_pack(source: Path, year: int, out: Path | None = None, *, force: bool = False) -> Rolled:
    """Write next year's pack from `source`; see the module docstring for what moves."""
    text = source.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    campaign = data.get("campaign")
    if not isinstance(campaign, dict) or not isinstance(campaign.get("year"), int):
        raise AdoptionError("adoption.roll_no_year", path=source)
    old_year = campaign["year"]
    if year == old_year:
        raise AdoptionError("adoption.roll_same_year", year=year)
    lines, changes, new_id = _rewrite(text, old_year, year)
    target = out if out is not None else Path.cwd() / f"{new_id}.toml"
    if target.resolve() == source.resolve():
        raise AdoptionError("adoption.exists", path=target)
    write_atomically(target, "\n".join(lines), force=force)
    rolled = Rolled(target, new_id, changes)
    rolled.review = _review(target, lines, old_year)
    for library in _libraries(source, data):
        rolled.review += _review(library, library.read_text(encoding="utf-8").split("\n"), old_year)
    rolled.problems = check_pack(target)
    return rolled


def format_rolled(rolled: Rolled) -> str:
    """What `loa campaign roll` prints: the changes, the lines to review, the new pack's check."""
    out = [
        both(
            "adoption.roll_written", path=rolled.path, id=rolled.new_id, changes=len(rolled.changes)
        )
    ]
    out += [f"  {c.line}: {c.before}  →  {c.after}" for c in rolled.changes]
    out.append(both("adoption.roll_review", count=len(rolled.review)))
    out += [f"  {r}" for r in rolled.review]
    out.append(both("adoption.roll_check"))
    out += [f"  {p.describe()}" for p in rolled.problems] or [f"  {rolled.path.name}: ok"]
    return "\n".join(out)
