"""Writing a whole file or nothing: a temporary file next to the target, then an atomic rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from messages import both


class AdoptionError(Exception):
    """A ward-adoption command cannot go on; the message (both languages) is ready to print."""

    def __init__(self, key: str, /, **fields: object) -> None:
        super().__init__(both(key, **fields))


def plain_file_mode() -> int:
    """The mode `open()` would give a new file: 0o666 less the umask. A temporary file from
    `mkstemp` is private (0o600); a pack or poster copied into a container's volume must stay
    readable by the non-root user the container runs as."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: Path, data: str | bytes, *, force: bool = False) -> None:
    """Write `data` to `path` whole or not at all; refuse to replace a file unless `force`."""
    if path.exists() and not force:
        raise AdoptionError("adoption.exists", path=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(temporary, plain_file_mode())
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
