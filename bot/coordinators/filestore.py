"""Exported files kept on disk for a day: sent from here by the outbox (Telegram documents) and
served from here at signed links (channels that cannot carry files).

Each file gets its own directory named by a random id (`secrets`), so a name never collides and
an id is never guessable; `purge` removes directories older than the keep time.
"""

from __future__ import annotations

import re
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.coordinators.export.files import ExportFile

KEEP = timedelta(hours=24)
_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file in the store: its id (for links), its path (for the outbox), how to present it."""

    file_id: str
    path: Path
    filename: str
    media_type: str


class FileStore:
    """A directory of exported files, one sub-directory per file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, file: ExportFile) -> StoredFile:
        """Write `file` under a fresh id."""
        file_id = secrets.token_hex(16)
        folder = self.root / file_id
        folder.mkdir(parents=True, exist_ok=False)
        path = folder / Path(file.filename).name
        path.write_bytes(file.content)
        (folder / "media_type").write_text(file.media_type, encoding="utf-8")
        return StoredFile(file_id, path, path.name, file.media_type)

    def get(self, file_id: str) -> StoredFile | None:
        """The stored file with this id, if it is still here."""
        if not _ID.match(file_id):
            return None
        folder = self.root / file_id
        try:
            media_type = (folder / "media_type").read_text(encoding="utf-8")
            path = next(p for p in folder.iterdir() if p.name != "media_type")
        except (OSError, StopIteration):
            return None
        return StoredFile(file_id, path, path.name, media_type)

    def purge(self, *, keep: timedelta = KEEP, now: float | None = None) -> int:
        """Delete files older than `keep` (by modification time); returns how many."""
        if not self.root.is_dir():
            return 0
        cutoff = (now if now is not None else time.time()) - keep.total_seconds()
        removed = 0
        for folder in self.root.iterdir():
            if folder.is_dir() and _ID.match(folder.name) and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed
