"""`loa campaign new` from a ward's lists, and every bad input the issue names: merged cells,
empty rows, duplicates, names differing only by accents or spaces, Windows-1258 and UTF-8 BOM
CSV files, 2,000 groups, a 300-character name. Each is reported by row; nothing is half-written."""

from __future__ import annotations

import os
import stat
import unicodedata
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.__main__ import main
from bot.adoption.files import AdoptionError
from bot.adoption.lists import read_list
from bot.adoption.new_pack import agency_type, new_pack
from messages.packs import PACKS_DIR, check_pack, errors_of, load_pack

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TEMPLATE = PACKS_DIR / "ky-lua-2026.toml"


def xlsx(path: Path, rows: list[list[object]], merges: tuple[str, ...] = ()) -> Path:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    for cells in merges:
        sheet.merge_cells(cells)
    book.save(path)
    return path


TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"  # the combining marks code page 1258 has


def to_cp1258(text: str) -> bytes:
    """What Excel on a Vietnamese Windows writes: base letters precomposed where code page 1258
    has them (â, ô, ơ, ư …), tone marks as combining characters."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        parts = unicodedata.normalize("NFD", ch)
        tone = "".join(c for c in parts if c in TONE_MARKS)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONE_MARKS))
        out.append(base + tone)
    return "".join(out).encode("cp1258")


def make(tmp_path: Path, groups: Path, **options: object) -> Path:
    out = tmp_path / "out" / "pack.toml"
    new_pack(
        locality="Phường Đồng Tâm",
        agencies_file=EXAMPLES / "agencies.xlsx",
        groups_file=groups,
        template=TEMPLATE,
        out=out,
        **options,  # type: ignore[arg-type]
    )
    return out


def nothing_written(tmp_path: Path) -> bool:
    folder = tmp_path / "out"
    return not folder.exists() or not any(folder.iterdir())


def test_the_example_lists_make_a_pack_that_passes_check(tmp_path: Path) -> None:
    out = make(tmp_path, EXAMPLES / "groups.xlsx")
    assert errors_of(check_pack(out)) == []
    pack = load_pack(str(out))
    assert pack.campaign.id == "dong-tam-2026"
    assert pack.campaign.locality == "Phường Đồng Tâm"
    assert pack.residential_groups.kind == "tổ dân phố"
    assert len(pack.residential_groups.names) == 24
    assert pack.residential_groups.focal_points["Tổ dân phố 1"] == "Trần Văn Bình"
    assert len(pack.agencies) == 12
    types = {a.name: a.type for a in pack.agencies}
    assert types["Trạm y tế phường"] == "health_station"
    assert types["Trường THCS Đồng Tâm"] == "school"
    assert types["Đoàn Thanh niên phường"] == "front"
    template = load_pack("ky-lua-2026")
    assert pack.slogan_groups == template.slogan_groups  # shared content reused via include
    assert pack.daily_posts == template.daily_posts
    assert pack.hotlines == template.hotlines
    assert pack.report_form == template.report_form


def test_merged_cells_and_empty_rows_are_reported_and_skipped(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["DANH SÁCH TỔ DÂN PHỐ"],
        ["STT", "Tên tổ dân phố", "Người đầu mối"],
        [1, "Tổ dân phố 1", "Lê Thị Mai"],
        [],
        [2, "Tổ dân phố 2", None],
        [None, None, None],
        [3, "Tổ dân phố 3", "Phạm Văn Hùng"],
        [None, None, "Phạm Văn Hùng"],
    ]
    path = xlsx(tmp_path / "g.xlsx", rows, merges=("A1:C1", "B7:B8"))
    reading = read_list(path, "groups")
    assert [r.name for r in reading.rows] == ["Tổ dân phố 1", "Tổ dân phố 2", "Tổ dân phố 3"]
    notes = {n.row: (n.kind, n.text["en"]) for n in reading.notes}
    assert notes[1] == ("skipped", "merged cells A1:C1 (a title or section row), skipped")
    assert notes[2] == ("skipped", "header row")
    assert notes[4] == notes[6] == ("skipped", "empty row")
    assert notes[8][0] == "skipped"
    assert "inside merged cells B7:B8" in notes[8][1]
    assert reading.refused == []


def test_duplicates_and_names_differing_only_by_accents_or_spaces_are_refused(
    tmp_path: Path,
) -> None:
    rows: list[list[object]] = [
        ["Tên", "Đầu mối"],
        ["Tổ dân phố 1", ""],
        ["Tổ dân phố 2", ""],
        ["Tổ dân phố 1", ""],
        ["To dan pho 2", ""],
        ["Tổ  dân phố   2", ""],
        ["TỔ DÂN PHỐ 3", ""],
        ["Tổ dân phố 3", ""],
    ]
    groups = xlsx(tmp_path / "g.xlsx", rows)
    with pytest.raises(AdoptionError) as refused:
        make(tmp_path, groups)
    report = str(refused.value)
    assert "dòng 4: «Tổ dân phố 1» trùng với dòng 2" in report
    assert "row 5: 'To dan pho 2' looks like 'Tổ dân phố 2' on row 3" in report
    assert "row 6: extra spaces removed from the name: 'Tổ dân phố 2'" in report
    assert "row 6: 'Tổ dân phố 2' repeats row 3" in report
    assert "row 8: 'Tổ dân phố 3' looks like 'TỔ DÂN PHỐ 3' on row 7" in report
    assert "--skip-bad-rows" in report
    assert nothing_written(tmp_path)
    out = make(tmp_path, groups, skip_bad_rows=True)
    assert load_pack(str(out)).residential_groups.names == [
        "Tổ dân phố 1",
        "Tổ dân phố 2",
        "TỔ DÂN PHỐ 3",
    ]


def test_csv_in_windows_1258_and_in_utf8_with_bom(tmp_path: Path) -> None:
    names = ["Khối phố Đồng Tâm", "Khối phố Hòa Bình", "Khối phố Quyết Thắng", "Thôn Ngọc Lặc"]
    lines = "\r\n".join(
        ["STT;Tên khối phố;Người đầu mối"]
        + [f"{n};{name};Lê Thị Ất" for n, name in enumerate(names, 1)]
    )
    ansi = tmp_path / "ansi.csv"
    ansi.write_bytes(to_cp1258(lines))
    with pytest.raises(UnicodeDecodeError):
        ansi.read_bytes().decode("utf-8")  # really not UTF-8
    bom = tmp_path / "bom.csv"
    bom.write_bytes(lines.replace(";", ",").encode("utf-8-sig"))
    for path, encoding in ((ansi, "Windows-1258"), (bom, "UTF-8 (BOM)")):
        reading = read_list(path, "groups")
        assert reading.encoding == encoding
        assert [r.name for r in reading.rows] == names
        assert all(unicodedata.is_normalized("NFC", r.name) for r in reading.rows)
        assert {r.extra for r in reading.rows} == {"Lê Thị Ất"}
    out = make(tmp_path, ansi)
    assert load_pack(str(out)).residential_groups.kind == "khối phố"


def test_two_thousand_groups(tmp_path: Path) -> None:
    rows: list[list[object]] = [["STT", "Tên tổ dân phố"]]
    rows += [[n, f"Tổ dân phố {n}"] for n in range(1, 2001)]
    out = make(tmp_path, xlsx(tmp_path / "g.xlsx", rows))
    pack = load_pack(str(out))
    assert len(pack.residential_groups.all_names()) == 2000
    assert pack.residential_groups.names[-1] == "Tổ dân phố 2000"


def test_a_300_character_name_is_refused_not_cut(tmp_path: Path) -> None:
    long_name = "Tổ dân phố " + "x" * 289
    assert len(long_name) == 300
    rows: list[list[object]] = [["Tên", "Đầu mối"], ["Tổ dân phố 1", ""], [long_name, ""]]
    with pytest.raises(AdoptionError) as refused:
        make(tmp_path, xlsx(tmp_path / "g.xlsx", rows))
    assert "row 3: the name is 300 characters long, at most 64; shorten it" in str(refused.value)
    assert nothing_written(tmp_path)


def test_a_group_name_longer_than_a_stored_group_is_refused(tmp_path: Path) -> None:
    """A resident's group is stored by name in 64 characters (PostgreSQL refuses longer)."""
    fits, too_long = "Tổ dân phố " + "x" * 53, "Tổ dân phố " + "x" * 54
    assert (len(fits), len(too_long)) == (64, 65)
    rows: list[list[object]] = [["Tên", "Đầu mối"], [fits, ""], [too_long, ""]]
    with pytest.raises(AdoptionError) as refused:
        make(tmp_path, xlsx(tmp_path / "g.xlsx", rows))
    assert "row 3: the name is 65 characters long, at most 64; shorten it" in str(refused.value)


def test_unknown_agency_types_are_refused_and_empty_ones_guessed() -> None:
    assert agency_type("", "Trường Tiểu học Hòa Bình") == "school"
    assert agency_type("Công an", "X") == "police"
    assert agency_type("health_station", "X") == "health_station"
    assert agency_type("", "Ban quản lý chợ") == "other"
    assert agency_type("xe buýt", "X") is None


def test_nothing_is_half_written_and_nothing_overwritten(tmp_path: Path) -> None:
    out = make(tmp_path, EXAMPLES / "groups.xlsx")
    before = out.read_bytes()
    with pytest.raises(AdoptionError, match="--force"):
        make(tmp_path, EXAMPLES / "groups.xlsx")
    assert out.read_bytes() == before
    broken = tmp_path / "broken-template.toml"
    text = TEMPLATE.read_text(encoding="utf-8").replace("theme_pending = true", "")
    broken.write_text(text, encoding="utf-8")  # an empty theme without theme_pending: invalid
    target = tmp_path / "out" / "other.toml"
    with pytest.raises(AdoptionError, match="theme"):
        new_pack(
            locality="Xã Thử",
            agencies_file=EXAMPLES / "agencies.xlsx",
            groups_file=EXAMPLES / "groups.xlsx",
            template=broken,
            out=target,
        )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["pack.toml"]


def test_campaign_new_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.toml"
    args = ["campaign", "new", "--locality", "Phường Đồng Tâm", "--from", "ky-lua-2026"]
    args += ["--agencies", str(EXAMPLES / "agencies.xlsx"), "--groups"]
    assert main([*args, str(EXAMPLES / "groups.xlsx"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "groups.xlsx (xlsx): 24 row(s) used, 2 skipped, 0 refused." in printed
    assert "loa campaign check" in printed
    bad = tmp_path / "bad.csv"
    bad.write_text("Tên\nTổ 1\nTổ 1\n", encoding="utf-8")
    assert main([*args, str(bad), "--out", str(tmp_path / "q.toml")]) == 1
    assert "row 3: 'Tổ 1' repeats row 2" in capsys.readouterr().err
    assert not (tmp_path / "q.toml").exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_the_new_pack_is_readable_by_others_as_umask_allows(tmp_path: Path) -> None:
    """The pack is copied into the container's volume and read there by a non-root user: a
    private 0600 file (what a bare temporary file gets) would be unreadable."""
    old = os.umask(0o022)
    try:
        out = make(tmp_path, EXAMPLES / "groups.xlsx")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
