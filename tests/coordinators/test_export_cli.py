"""`loa export` on the office PC: where the file goes, and what a wrong name says."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.coordinators.cli import export_command
from messages import t


def settings(tmp_path: Path) -> Settings:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    return Settings(_env_file=None, database_url=url)


def test_the_folder_of_the_file_is_created(tmp_path: Path) -> None:
    out = tmp_path / "bao-cao" / "2025" / "tong-hop.csv"
    code = export_command(
        settings(tmp_path), "ky-lua-2025", fmt="csv", out=out, deadline=None, lang="vi"
    )
    assert code == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # the CSV's byte-order mark


def test_an_unwritable_place_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder was expected")
    out = blocker / "tong-hop.csv"
    code = export_command(
        settings(tmp_path), "ky-lua-2025", fmt="csv", out=out, deadline=None, lang="vi"
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"Không ghi được tệp {out}:")


def test_an_unknown_deadline_names_the_deadlines_there_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.csv"
    code = export_command(
        settings(tmp_path), "ky-lua-2025", fmt="csv", out=out, deadline="khong-co", lang="vi"
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "Không có hạn báo cáo «khong-co»" in err
    assert "ket-qua-thang-hanh-dong" in err
    assert not out.exists()


def test_a_file_name_naming_another_format_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--format xlsx --out bao-cao.csv` would put a workbook in a file Excel opens as text."""
    out = tmp_path / "bao-cao.csv"
    code = export_command(
        settings(tmp_path), "ky-lua-2025", fmt="xlsx", out=out, deadline=None, lang="vi"
    )
    assert code == 2
    assert "bao-cao.csv" in capsys.readouterr().err
    assert not out.exists()
    other = tmp_path / "bao-cao.XLSX"  # the same format in capitals is fine
    assert (
        export_command(
            settings(tmp_path), "ky-lua-2025", fmt="xlsx", out=other, deadline=None, lang="vi"
        )
        == 0
    )


@pytest.mark.parametrize(("lang", "said"), [("vi", "Đã ghi tệp {out} ("), ("en", "Wrote {out} (")])
def test_the_written_line_speaks_the_officials_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lang: str, said: str
) -> None:
    out = tmp_path / "tong-hop.csv"
    code = export_command(
        settings(tmp_path), "ky-lua-2025", fmt="csv", out=out, deadline=None, lang=lang
    )
    assert code == 0
    size = len(out.read_bytes())
    expected = t("coordinators.cli.written", lang, path=out, size=size)
    assert capsys.readouterr().out.strip() == expected
    assert expected.startswith(said.format(out=out))


def test_an_unusable_pack_is_refused_in_both_languages(tmp_path: Path) -> None:
    bad = Path(__file__).parents[1] / "fixtures/packs/window-backwards.toml"
    with pytest.raises(SystemExit) as refused:
        export_command(
            settings(tmp_path), str(bad), fmt="csv", out=tmp_path / "x.csv", deadline=None,
            lang="vi",
        )  # fmt: skip
    lines = str(refused.value.code).splitlines()
    assert lines[0] == "loa: " + t("packcheck.cli.unusable", "vi", name=repr(str(bad)))
    assert lines[1] == t("packcheck.cli.unusable", "en", name=repr(str(bad)))
    assert "window-backwards.toml" in lines[2]
