"""The deployment files say what the README promises (no container is built here: see
scripts/container_check.sh for that)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_image_runs_as_a_user_and_installs_the_runtime_only() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users
    assert users[-1] not in ("root", "0")
    installs = re.findall(r"pip install [^\n]*", dockerfile)
    assert any("-c constraints.txt ." in line for line in installs)
    assert not any("[dev]" in line or "-e " in line for line in installs)
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".venv", "tests/", "fakes/"} <= set(ignored)


def test_compose_runs_postgresql_with_a_volume_and_checks_healthz() -> None:
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert "image: postgres:" in compose
    assert "pgdata:/var/lib/postgresql/data" in compose
    assert "env_file: .env" in compose
    assert "/healthz" in compose
    assert "LOA_WEB_PORT" in compose
    assert "condition: service_healthy" in compose


def test_the_runtime_dependencies_hold_no_dev_tool_and_are_all_pinned() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = [re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower() for d in project["dependencies"]]
    dev = {
        re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower()
        for d in project["optional-dependencies"]["dev"]
    }
    assert not set(runtime) & dev
    pinned = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line
    }
    for name in runtime:
        assert name.replace("_", "-") in pinned, name


def test_the_systemd_unit_runs_loa_as_its_own_user() -> None:
    unit = (ROOT / "deploy" / "loa.service").read_text(encoding="utf-8")
    assert "User=loa" in unit
    assert "ExecStart=/opt/loa/.venv/bin/loa run" in unit
    assert "EnvironmentFile=" in unit
