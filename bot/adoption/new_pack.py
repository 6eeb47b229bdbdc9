"""`loa campaign new`: a ward's own pack from its agency and group lists, on a shipped template.

The template pack (`--from`, the current year's by default) gives everything that is not the
ward's: its `include` libraries (posts, slogans, hotlines, report form), title, theme, window,
delivery hours and deadlines. The lists give the locality's agencies and residential groups.
The pack is written whole or not at all: it is checked in a temporary file next to the target
and renamed only when `check` finds no error; a list row that had to be refused stops the
command (so no group silently goes missing) unless `--skip-bad-rows` says to leave it out.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.adoption.files import AdoptionError, plain_file_mode
from bot.adoption.lists import ListReading, read_list
from bot.adoption.toml_out import document
from bot.domain.campaign import AgencyType
from bot.domain.text import fold_words
from messages import both
from messages.packs import Problem, errors_of

GROUP_KINDS = ("tổ dân phố", "khối phố", "thôn", "bản", "ấp", "tổ")
# Words of a type column (or of an agency's name when the column is empty) → the pack's type.
_TYPE_WORDS: list[tuple[str, AgencyType]] = [
    ("tram y te", "health_station"),
    ("y te", "health_station"),
    ("cong an", "police"),
    ("phu nu", "womens_union"),
    ("truong", "school"),
    ("mat tran", "front"),
    ("mttq", "front"),
    ("doan the", "front"),
    ("doan thanh nien", "front"),
    ("cuu chien binh", "front"),
    ("nong dan", "front"),
    ("trung tam", "service_center"),
    ("khoi pho", "residential_group"),
    ("to dan pho", "residential_group"),
    ("thon", "residential_group"),
    ("phong", "office"),
    ("van phong", "office"),
    ("uy ban", "office"),
    ("khac", "other"),
]
_TYPE_CODES = {
    "office",
    "service_center",
    "school",
    "health_station",
    "police",
    "womens_union",
    "front",
    "residential_group",
    "other",
}


def agency_type(type_text: str, name: str) -> AgencyType | None:
    """The pack type of an agency from its type column, else guessed from its name ("other" when
    nothing fits); None when the type column says something unknown."""
    if type_text.strip() in _TYPE_CODES:
        return type_text.strip()  # type: ignore[return-value]
    for text in (type_text, "" if type_text else name):
        words = f" {fold_words(text)} "
        for needle, kind in _TYPE_WORDS:
            if f" {needle} " in words:
                return kind
    return None if type_text else "other"


def slug(text: str, limit: int) -> str:
    """An id from a name: «Trạm y tế phường» → `tram-y-te-phuong`."""
    return re.sub(r"[^a-z0-9]+", "-", fold_words(text)).strip("-")[:limit].strip("-") or "x"


def group_kind(names: list[str]) -> str:
    """What the groups are called, from their names («Tổ dân phố 3» → «tổ dân phố»)."""
    first = fold_words(names[0]) if names else ""
    for kind in GROUP_KINDS:
        if first.startswith(fold_words(kind) + " "):
            return kind
    return "tổ dân phố"


@dataclass
class NewPack:
    """What `campaign new` read and wrote."""

    path: Path
    pack_id: str
    agencies: ListReading
    groups: ListReading
    problems: list[Problem] = field(default_factory=list)


def _agencies(reading: ListReading) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    ids: set[str] = set()
    for row in reading.rows:
        kind = agency_type(row.extra, row.name)
        if kind is None:
            reading.note(row.row, "refused", "bad_type", type=row.extra, name=row.name)
            continue
        base = slug(row.name, 44)
        agency_id, n = base, 2
        while agency_id in ids:
            agency_id, n = f"{base}-{n}", n + 1
        ids.add(agency_id)
        out.append({"id": agency_id, "name": row.name, "type": kind})
    return out


def build_pack_data(
    template: dict[str, Any], locality: str, agencies: ListReading, groups: ListReading
) -> dict[str, Any]:
    """The new pack as TOML data: the template's shared parts, the ward's names."""
    campaign = dict(template["campaign"])
    year = campaign["year"]
    campaign.update(
        id=f"{slug(locality.removeprefix('Phường ').removeprefix('Xã '), 56)}-{year}",
        locality=locality,
        source=f"loa campaign new: {agencies.path.name}, {groups.path.name}, "
        f"{campaign['id']} (template)",
    )
    campaign.pop("province", None)
    names = [row.name for row in groups.rows]
    residential: dict[str, Any] = {"kind": group_kind(names), "names": names}
    focal = {row.name: row.extra for row in groups.rows if row.extra}
    if focal:
        residential["focal_points"] = focal
    data: dict[str, Any] = {}
    if "include" in template:
        data["include"] = template["include"]
    data["residential_groups"] = residential
    data["campaign"] = campaign
    for name, item in template.items():
        if name not in data and name not in ("agencies", "residential_groups"):
            data[name] = item
    data["agencies"] = _agencies(agencies)
    return data


def new_pack(
    *,
    locality: str,
    agencies_file: Path,
    groups_file: Path,
    template: Path,
    out: Path | None,
    force: bool = False,
    skip_bad_rows: bool = False,
) -> NewPack:
    """Read the lists and write the pack; AdoptionError (with the row report) when it cannot."""
    locality = " ".join(locality.split())
    if not locality:
        raise AdoptionError("adoption.new_no_locality")
    agencies, groups = read_list(agencies_file, "agencies"), read_list(groups_file, "groups")
    raw = tomllib.loads(template.read_text(encoding="utf-8"))
    data = build_pack_data(raw, locality, agencies, groups)
    pack_id = data["campaign"]["id"]
    result = NewPack(out or Path.cwd() / f"{pack_id}.toml", pack_id, agencies, groups)
    if not groups.rows:
        raise AdoptionError("adoption.new_no_groups", path=groups_file)
    if (agencies.refused or groups.refused) and not skip_bad_rows:
        raise AdoptionError("adoption.new_refused_rows", report=format_report(result))
    if result.path.exists() and not force:
        raise AdoptionError("adoption.exists", path=result.path)
    comments = {
        "residential_groups": f"From {groups_file.name}.",
        "agencies": f"From {agencies_file.name}.",
    }
    result.problems = _write_checked(result.path, document(data, comments))
    return result


def _write_checked(path: Path, text: str) -> list[Problem]:
    """Write `text` to `path` only if the pack it makes has no error; returns its warnings."""
    from messages.packs import check_pack

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".new-", suffix=".toml", dir=path.parent)
    try:
        os.chmod(temporary, plain_file_mode())
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        problems = check_pack(Path(temporary))
        if errors_of(problems):
            shown = "\n".join(f"  {p}" for p in errors_of(problems)[:20])
            raise AdoptionError("adoption.new_invalid", problems=shown)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return check_pack(path)  # again, so warnings name the file a person will open


def format_report(result: NewPack) -> str:
    """Rows used, skipped and refused per list, in Vietnamese then English."""
    lines: list[str] = []
    for reading in (result.agencies, result.groups):
        skipped = sum(n.kind == "skipped" for n in reading.notes)
        lines.append(
            both(
                "adoption.list_summary",
                file=reading.path.name,
                encoding=reading.encoding,
                used=len({r.row for r in reading.rows} - {n.row for n in reading.refused}),
                skipped=skipped,
                refused=len(reading.refused),
            )
        )
        for note in sorted(reading.notes, key=lambda n: n.row):
            lines += [f"  {note.line('vi')}", f"    {note.line('en')}"]
    return "\n".join(lines)


def format_written(result: NewPack) -> str:
    """The row report, the new pack's warnings, and what to do next."""
    pack_kind = group_kind([row.name for row in result.groups.rows])
    lines = [format_report(result)]
    lines += [f"  {p.describe()}" for p in result.problems]
    lines.append(
        both(
            "adoption.new_written",
            path=result.path,
            id=result.pack_id,
            agencies=len(result.agencies.rows) - len(result.agencies.refused),
            groups=len(result.groups.rows),
            kind=pack_kind,
        )
    )
    return "\n".join(lines)
