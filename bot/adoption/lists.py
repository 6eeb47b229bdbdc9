"""A ward's lists as it keeps them: .xlsx (openpyxl) or .csv, one agency or residential group a row.

Read forgivingly, reported exactly. A header row is recognised by its words (Tên, Loại, Đầu
mối, STT …) and picks the columns; without one, the columns are name then type (or focal
point), after a leading STT column of numbers. Every row that is not used is reported with its
number and why: empty rows, title rows made of merged cells, rows covered by a merged cell,
repeated names, names that differ from an earlier one only by accents, case or spaces, names
too long for a chat button. CSV files may be UTF-8 (with or without BOM) or Windows-1258, as
Excel on a Vietnamese Windows saves them; text is normalised to NFC either way.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bot.adoption.files import AdoptionError
from bot.domain.text import fold_words, normalize_text
from messages import LANGUAGES, t

MAX_NAME = 100  # a chat button and a poster line; longer names are refused, not cut
MAX_GROUP_NAME = 64  # a resident's group is stored by name (subscriber.group_code, 64 characters)
NoteKind = Literal["skipped", "refused", "fixed"]

_NAME_WORDS = {
    "ten",
    "ten don vi",
    "ten co quan",
    "don vi",
    "co quan",
    "name",
    "agency",
    "ten khoi",
    "ten to",
    "khoi pho",
    "to dan pho",
    "thon",
    "group",
    "ten to dan pho",
    "ten khoi pho",
    "ten thon",
    "residential group",
}
_EXTRA_WORDS = {
    "agencies": {"loai", "loai hinh", "loai don vi", "type", "kind"},
    "groups": {
        "dau moi",
        "nguoi dau moi",
        "nguoi phu trach",
        "focal point",
        "focal",
        "truong khoi",
        "to truong",
        "truong thon",
        "ho ten",
        "ho va ten",
    },
}
_NUMBER_WORDS = {"stt", "so thu tu", "tt", "no", "#"}


@dataclass(frozen=True)
class ListRow:
    """One usable row: its number in the file, the name, and the type or focal point ("")."""

    row: int
    name: str
    extra: str


@dataclass(frozen=True)
class RowNote:
    """Why a row was not used as it stood."""

    row: int
    kind: NoteKind
    text: dict[str, str]  # language → message

    def line(self, lang: str) -> str:
        """`row 12: …` in one language."""
        return t("adoption.list.row", lang, row=self.row, text=self.text[lang])


@dataclass
class ListReading:
    """What a list file gave: the rows, the notes, and how it was read."""

    path: Path
    rows: list[ListRow] = field(default_factory=list)
    notes: list[RowNote] = field(default_factory=list)
    encoding: str = ""

    def note(self, row: int, kind: NoteKind, key: str, **fields: object) -> None:
        """Record why `row` was skipped, refused or fixed."""
        text = {lang: t(f"adoption.list.{key}", lang, **fields) for lang in LANGUAGES}
        self.notes.append(RowNote(row, kind, text))

    @property
    def refused(self) -> list[RowNote]:
        """Rows that a person must fix (or leave out on purpose)."""
        return [n for n in self.notes if n.kind == "refused"]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return normalize_text(str(value))


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "UTF-8 (BOM)"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        # Excel on a Vietnamese Windows saves "CSV" in the ANSI code page 1258, which writes
        # tone marks as combining characters: NFC (in _cell) composes them again.
        return data.decode("cp1258"), "Windows-1258"


def _csv_rows(path: Path, reading: ListReading) -> list[list[str]]:
    text, reading.encoding = _decode(path.read_bytes())
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [[_cell(v) for v in row] for row in csv.reader(io.StringIO(text), dialect)]


def _xlsx_rows(path: Path, reading: ListReading) -> list[list[str]]:
    from openpyxl import load_workbook  # imported here: only `campaign new` needs it

    reading.encoding = "xlsx"
    try:
        book = load_workbook(path, data_only=True)  # not read-only: merged cells are needed
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        reason = type(exc).__name__
        raise AdoptionError("adoption.list_unreadable", path=path, reason=reason) from None
    sheet = book.worksheets[0]
    rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    for merged in sheet.merged_cells.ranges:
        first, last = merged.min_row, merged.max_row
        if merged.max_col > merged.min_col and first == last:
            reading.note(first, "skipped", "merged_title", cells=str(merged))
            rows[first - 1] = []
        for row in range(first + 1, last + 1):
            reading.note(row, "skipped", "merged_covered", cells=str(merged))
            rows[row - 1] = []
    return rows


def _columns(rows: list[list[str]], what: str) -> tuple[int, int, int | None, int]:
    """(header row index or -1, name column, extra column, first data row index)."""
    for index, row in enumerate(rows):
        if not any(row):
            continue
        words = [fold_words(v) for v in row]
        name = next((i for i, w in enumerate(words) if w in _NAME_WORDS), None)
        if name is not None:
            extra = next((i for i, w in enumerate(words) if w in _EXTRA_WORDS[what]), None)
            return index, name, extra, index + 1
        break
    numbered = [r for r in rows if any(r)]
    first_is_number = bool(numbered) and all(r[0].isdigit() for r in numbered[:20] if r[0])
    name = 1 if first_is_number else 0
    return -1, name, name + 1, 0


def read_list(path: Path, what: Literal["agencies", "groups"]) -> ListReading:
    """Every row of an agency or group list, with a note for each row not used as it stood."""
    reading = ListReading(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise AdoptionError("adoption.list_missing", path=path)
    if suffix not in (".xlsx", ".csv"):
        raise AdoptionError("adoption.list_format", path=path)
    rows = _xlsx_rows(path, reading) if suffix == ".xlsx" else _csv_rows(path, reading)
    header, name_col, extra_col, start = _columns(rows, what)
    if header >= 0:
        reading.note(header + 1, "skipped", "header")
    seen: dict[str, int] = {}
    folded: dict[str, tuple[int, str]] = {}
    covered = {n.row for n in reading.notes}
    for index in range(start, len(rows)):
        number, row = index + 1, rows[index]
        if number in covered:
            continue
        typed = row[name_col] if name_col < len(row) else ""
        name = " ".join(typed.split())
        if name != typed:
            reading.note(number, "fixed", "spaces", name=name)
        extra = row[extra_col] if extra_col is not None and extra_col < len(row) else ""
        if not name:
            if any(row):
                reading.note(number, "refused", "no_name", values=", ".join(v for v in row if v))
            else:
                reading.note(number, "skipped", "empty")
            continue
        longest = MAX_GROUP_NAME if what == "groups" else MAX_NAME
        if len(name) > longest:
            reading.note(number, "refused", "too_long", length=len(name), max=longest)
            continue
        if name in seen:
            reading.note(number, "refused", "duplicate", name=name, first=seen[name])
            continue
        key = fold_words(name)
        if key in folded:
            first, earlier = folded[key]
            reading.note(number, "refused", "near_duplicate", name=name, first=first, other=earlier)
            continue
        seen[name], folded[key] = number, (number, name)
        reading.rows.append(ListRow(number, unicodedata.normalize("NFC", name), extra))
    return reading
