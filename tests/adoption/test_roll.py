"""`loa campaign roll`: the window, deadlines and year move; the theme waits; the rest is listed."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.adoption.files import AdoptionError
from bot.adoption.roll import new_pack_id, roll_pack
from messages.packs import PACKS_DIR, load_pack


def test_roll_moves_year_window_and_deadlines_and_marks_the_theme(tmp_path: Path) -> None:
    out = tmp_path / "next.toml"
    rolled = roll_pack(PACKS_DIR / "ky-lua-2025.toml", 2026, out)
    assert rolled.new_id == "ky-lua-2026"
    pack = load_pack(str(out))
    info = pack.campaign
    assert (info.id, info.year, info.start, info.end) == (
        "ky-lua-2026",
        2026,
        date(2026, 11, 15),
        date(2026, 12, 15),
    )
    assert [d.due for d in pack.deadlines] == [date(2026, 12, 18)]
    assert info.theme_pending
    assert info.theme == info.theme_en == ""
    assert "# 2025: theme = " in out.read_text(encoding="utf-8")  # the old theme, for reference
    # only the pending theme is left to warn about
    assert [(p.severity, "theme_pending" in p.message) for p in rolled.problems] == [
        ("warning", True)
    ]
    # everything else is the same pack
    old = load_pack("ky-lua-2025")
    assert pack.agencies == old.agencies
    assert pack.daily_posts == old.daily_posts
    assert pack.residential_groups == old.residential_groups


def test_roll_lists_every_line_still_naming_the_old_year_or_a_date(tmp_path: Path) -> None:
    out = tmp_path / "next.toml"
    rolled = roll_pack(PACKS_DIR / "ky-lua-2025.toml", 2026, out)
    lines = out.read_text(encoding="utf-8").split("\n")
    by_file = {(r.file.name, r.line) for r in rolled.review}
    title = next(n for n, line in enumerate(lines, 1) if line.startswith("title = "))
    source = next(n for n, line in enumerate(lines, 1) if line.startswith("source = "))
    assert {("next.toml", title), ("next.toml", source)} <= by_file
    assert any(name == "posts-2025.toml" for name, _ in by_file)  # a library's «15/11 đến 15/12»
    assert all("2025" in r.text or "/" in r.text for r in rolled.review)
    for change in rolled.changes:  # what roll rewrote is not left for review, except comments
        assert "2025" not in change.after.split("#")[0] or change.after.startswith("# 2025")


def test_the_shipped_2026_pack_is_the_roll_of_2025_plus_the_reviewed_lines(
    tmp_path: Path,
) -> None:
    out = tmp_path / "ky-lua-2026.toml"
    roll_pack(PACKS_DIR / "ky-lua-2025.toml", 2026, out)
    rolled = tomllib.loads(out.read_text(encoding="utf-8"))
    shipped = tomllib.loads((PACKS_DIR / "ky-lua-2026.toml").read_text(encoding="utf-8"))
    reviewed = {"title", "title_en", "source"}
    assert {k: v for k, v in rolled["campaign"].items() if k not in reviewed} == {
        k: v for k, v in shipped["campaign"].items() if k not in reviewed
    }
    assert shipped["campaign"]["title"].endswith("năm 2026")
    assert {k: v for k, v in rolled.items() if k != "campaign"} == {
        k: v for k, v in shipped.items() if k != "campaign"
    }


def test_roll_refuses_to_overwrite_or_to_stay_in_the_same_year(tmp_path: Path) -> None:
    out = tmp_path / "next.toml"
    out.write_text("keep me", encoding="utf-8")
    with pytest.raises(AdoptionError, match="--force"):
        roll_pack(PACKS_DIR / "ky-lua-2025.toml", 2026, out)
    assert out.read_text(encoding="utf-8") == "keep me"
    roll_pack(PACKS_DIR / "ky-lua-2025.toml", 2026, out, force=True)
    assert "ky-lua-2026" in out.read_text(encoding="utf-8")
    with pytest.raises(AdoptionError, match="2025"):
        roll_pack(PACKS_DIR / "ky-lua-2025.toml", 2025, tmp_path / "same.toml")


def test_roll_over_several_years_and_ids_without_a_year(tmp_path: Path) -> None:
    assert new_pack_id("phuong-x", 2025, 2026) == "phuong-x-2026"
    rolled = roll_pack(PACKS_DIR / "tam-duong-2024.toml", 2026, tmp_path / "td.toml")
    pack = load_pack(str(rolled.path))
    assert (pack.campaign.start, pack.deadlines[0].due) == (date(2026, 11, 15), date(2026, 12, 10))


def test_roll_command_prints_changes_review_and_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.toml"
    assert main(["campaign", "roll", "ky-lua-2025", "--year", "2026", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "start = 2025-11-15  →  start = 2026-11-15" in printed
    assert "review each one" in printed
    assert "cảnh báo: campaign.theme_pending" in printed
    assert main(["campaign", "roll", "ky-lua-2025", "--year", "2026", "--out", str(out)]) == 1
    assert "--force" in capsys.readouterr().err
