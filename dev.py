#!/usr/bin/env python3
"""Bootstrap and task runner that needs nothing but Python >= 3.11.

python3 dev.py demo   # create .venv on first use, then run `loa demo`
python3 dev.py test   # ruff, mypy --strict, pytest (and PostgreSQL when TEST_DATABASE_URL is set)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".loa-installed"


def _fingerprint() -> str:
    """Hash of the files that decide what gets installed."""
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        path = ROOT / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create .venv and install the project into it, again only when dependencies change."""
    if sys.version_info < (3, 11):  # noqa: UP036  (dev.py may run on an old Python)
        sys.exit("Loa needs Python 3.11 or newer.")
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    if not (BIN / "python").exists():
        print("dev.py: creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    python = str(BIN / "python")
    print("dev.py: installing dependencies (first run only) …", flush=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints.txt"), "-e", ".[dev]"],
        check=True,
        cwd=ROOT,
    )
    STAMP.write_text(_fingerprint())


def run(args: list[str]) -> int:
    """Run one command from the virtual environment and return its exit code."""
    print("$", " ".join(args), flush=True)
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    """Entry point: `demo` or `test` (extra arguments go to the underlying tool)."""
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    ensure_venv()
    if argv[0] == "demo":
        # `python -m bot` in the checkout: the fake servers (top-level `fakes/`) are not installed.
        return run(["python", "-m", "bot", "demo", *argv[1:]])
    for step in (["ruff", "check", "."], ["mypy"]):
        code = run(step)
        if code:
            return code
    return run(["pytest", *argv[1:]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
