"""Writing a campaign pack as TOML: the few shapes a pack has, nothing more (no TOML writer is
among the runtime dependencies, and this keeps the output in the layout the shipped packs use)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any


def value(item: Any) -> str:
    """One TOML value: strings as basic strings (JSON's escapes are TOML's), dates bare, lists
    and tables inline."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int | float):
        return repr(item)
    if isinstance(item, date):
        return item.isoformat()
    if isinstance(item, str):
        return json.dumps(item, ensure_ascii=False)
    if isinstance(item, list):
        return "[" + ", ".join(value(v) for v in item) + "]"
    if isinstance(item, dict):
        return "{ " + ", ".join(f"{key(k)} = {value(v)}" for k, v in item.items()) + " }"
    raise TypeError(f"cannot write {type(item).__name__} as TOML")


def key(name: str) -> str:
    """A bare key when it can be one, else a quoted key."""
    bare = name and all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in name)
    return name if bare else json.dumps(name, ensure_ascii=False)


def _pair(name: str, item: Any) -> list[str]:
    if isinstance(item, list) and len(item) > 8 and not _is_tables(item):  # one item a line
        return [f"{key(name)} = [", *(f"    {value(v)}," for v in item), "]"]
    return [f"{key(name)} = {value(item)}"]


def _is_tables(item: Any) -> bool:
    return isinstance(item, list) and bool(item) and all(isinstance(v, dict) for v in item)


def document(data: dict[str, Any], comments: dict[str, str] | None = None) -> str:
    """A TOML document: top-level values first, then tables, then arrays of tables, each table
    after its `comments[name]` (a comment line, if given)."""
    comments = comments or {}
    lines: list[str] = []
    plain = {k: v for k, v in data.items() if not isinstance(v, dict) and not _is_tables(v)}
    for name, item in plain.items():
        if name in comments:
            lines.append(f"# {comments[name]}")
        lines += _pair(name, item)
    for name, item in data.items():
        if isinstance(item, dict):
            lines += ["", *([f"# {comments[name]}"] if name in comments else []), f"[{key(name)}]"]
            lines += [line for k, v in item.items() for line in _pair(k, v)]
    for name, item in data.items():
        if _is_tables(item):
            if name in comments:
                lines += ["", f"# {comments[name]}"]
            for entry in item:
                lines += ["", f"[[{key(name)}]]"]
                lines += [line for k, v in entry.items() for line in _pair(k, v)]
    return "\n".join(lines).lstrip("\n") + "\n"
