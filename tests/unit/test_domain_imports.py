"""The domain stays pure: nothing under bot/domain imports the message catalogue or the channels."""

from __future__ import annotations

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "bot" / "domain"
FORBIDDEN = ("messages", "bot.channels")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def test_the_domain_imports_neither_messages_nor_channels() -> None:
    files = sorted(DOMAIN.rglob("*.py"))
    assert any(p.parent.name == "forms" for p in files)  # the form engine package is looked at
    bad = {
        str(p.relative_to(DOMAIN)): sorted(n for n in _imports(p) if _forbidden(n)) for p in files
    }
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from messages import t\nimport bot.channels.base\n", encoding="utf-8")
    assert sorted(n for n in _imports(sample) if _forbidden(n)) == [
        "bot.channels.base",
        "messages",
        "messages.t",
    ]
