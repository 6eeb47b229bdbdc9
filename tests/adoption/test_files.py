"""Files the adoption commands write (packs, posters) are ordinary files, not private ones."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.adoption.files import write_atomically

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_mode_the_umask_allows(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        target = tmp_path / "sub" / "pack.toml"
        write_atomically(target, "x = 1\n")
        write_atomically(target, "x = 2\n", force=True)
    finally:
        os.umask(old)
    assert target.read_text() == "x = 2\n"
    assert stat.S_IMODE(target.stat().st_mode) == mode
