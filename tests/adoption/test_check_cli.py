"""`loa campaign check`: its summary line comes from the catalogue, Vietnamese then English."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import main
from messages import t
from messages.packs import check_pack, errors_of, resolve_pack_path

PACKS = Path(__file__).parents[1] / "fixtures/packs"


def test_a_pack_with_errors_counts_them_in_both_languages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = PACKS / "window-backwards.toml"
    errors = len(errors_of(check_pack(path)))
    assert main(["campaign", "check", str(path)]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-2:]
    assert last == [
        t("packcheck.cli.errors", lang, errors=errors, path=path) for lang in ("vi", "en")
    ]


def test_a_good_pack_says_so_in_both_languages(capsys: pytest.CaptureFixture[str]) -> None:
    path = resolve_pack_path("ky-lua-2025")
    problems = check_pack(path)
    assert main(["campaign", "check", "ky-lua-2025"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-2:]
    if problems:
        expected = [
            t("packcheck.cli.ok_warnings", lang, path=path, warnings=len(problems))
            for lang in ("vi", "en")
        ]
    else:
        expected = [t("packcheck.cli.ok", lang, path=path) for lang in ("vi", "en")]
    assert last == expected


def test_warnings_only_are_counted_in_both_languages(capsys: pytest.CaptureFixture[str]) -> None:
    path = PACKS / "theme-pending.toml"
    problems = check_pack(path)
    assert problems
    assert not errors_of(problems)
    assert main(["campaign", "check", str(path)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-2:]
    assert last == [
        t("packcheck.cli.ok_warnings", lang, path=path, warnings=len(problems))
        for lang in ("vi", "en")
    ]
