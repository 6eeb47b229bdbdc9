"""Where each key of a TOML text is set: a small scanner that maps key paths to line numbers."""

from __future__ import annotations

import re
import tomllib

from bot.domain.pack_issues import Loc


class Locator:
    """Maps each key path (as pydantic writes `loc`) to the line where the TOML text sets it.

    A small scanner over already-valid TOML: table headers, `[[array]]` entries (counted per
    parent, so nested arrays of tables resolve), dotted keys, inline tables, and the elements of
    arrays (each at the line where it starts).
    """

    _BARE = re.compile(r"[A-Za-z0-9_-]+")

    def __init__(self, text: str) -> None:
        self._s = text
        self._i = 0
        self._line = 1
        self._counts: dict[Loc, int] = {}
        self.lines: dict[Loc, int] = {}
        self._scan()

    def line_for(self, loc: Loc) -> int | None:
        """The line of `loc`, or of its nearest enclosing key that the text sets."""
        for end in range(len(loc), 0, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None

    # -- scanning

    def _peek(self, ahead: int = 0) -> str:
        j = self._i + ahead
        return self._s[j] if j < len(self._s) else ""

    def _advance(self, count: int = 1) -> None:
        chunk = self._s[self._i : self._i + count]
        self._line += chunk.count("\n")
        self._i += len(chunk)

    def _skip(self, newlines: bool) -> None:
        while self._i < len(self._s):
            ch = self._s[self._i]
            if ch in " \t\r" or (newlines and ch == "\n"):
                self._advance()
            elif ch == "#":
                while self._i < len(self._s) and self._s[self._i] != "\n":
                    self._advance()
            else:
                return

    def _record(self, loc: Loc) -> None:
        self.lines.setdefault(loc, self._line)

    def _scan(self) -> None:
        table: Loc = ()
        while True:
            self._skip(newlines=True)
            if self._i >= len(self._s):
                return
            if self._s.startswith("[[", self._i):
                self._advance(2)
                table = self._header(self._key(), array=True)
                self._advance(2)  # ]]
            elif self._peek() == "[":
                self._advance()
                table = self._header(self._key(), array=False)
                self._advance()  # ]
            else:
                self._pair(table)

    def _header(self, keys: list[str], array: bool) -> Loc:
        path: Loc = ()
        for n, key in enumerate(keys):
            path = (*path, key)
            if array and n == len(keys) - 1:
                index = self._counts.get(path, 0)
                self._counts[path] = index + 1
                self._record(path)
                path = (*path, index)
            elif path in self._counts:
                path = (*path, self._counts[path] - 1)
        self._record(path)
        return path

    def _key(self) -> list[str]:
        keys: list[str] = []
        while True:
            self._skip(newlines=False)
            ch = self._peek()
            if ch in "\"'":
                start = self._i
                self._string()
                keys.append(tomllib.loads(f"k = {self._s[start : self._i]}")["k"])
            else:
                match = self._BARE.match(self._s, self._i)
                if match is None:
                    return keys
                keys.append(match.group())
                self._advance(len(match.group()))
            self._skip(newlines=False)
            if self._peek() != ".":
                return keys
            self._advance()

    def _pair(self, table: Loc) -> None:
        loc = (*table, *self._key())
        self._record(loc)
        self._skip(newlines=False)
        self._advance()  # =
        self._skip(newlines=False)
        self._value(loc)

    def _value(self, loc: Loc) -> None:
        ch = self._peek()
        if ch in "\"'":
            self._string()
        elif ch == "[":
            self._advance()
            index = 0
            while True:
                self._skip(newlines=True)
                if self._peek() in ("]", ""):
                    self._advance()
                    return
                self._record((*loc, index))
                self._value((*loc, index))
                self._skip(newlines=True)
                if self._peek() == ",":
                    self._advance()
                index += 1
        elif ch == "{":
            self._advance()
            while True:
                self._skip(newlines=False)
                if self._peek() in ("}", ""):
                    self._advance()
                    return
                self._pair(loc)
                self._skip(newlines=False)
                if self._peek() == ",":
                    self._advance()
        else:
            while self._i < len(self._s) and self._s[self._i] not in ",]}\n#":
                self._advance()

    def _string(self) -> None:
        quote = self._peek()
        triple = quote * 3
        if self._s.startswith(triple, self._i):
            self._advance(3)
            while self._i < len(self._s):
                if quote == '"' and self._peek() == "\\":
                    self._advance(2)
                elif self._s.startswith(triple, self._i):
                    self._advance(3)
                    extra = 0  # up to two quotes may end the content right before the delimiter
                    while extra < 2 and self._peek() == quote:
                        self._advance()
                        extra += 1
                    return
                else:
                    self._advance()
            return
        self._advance()
        while self._i < len(self._s) and self._peek() != quote:
            self._advance(2 if quote == '"' and self._peek() == "\\" else 1)
        self._advance()
