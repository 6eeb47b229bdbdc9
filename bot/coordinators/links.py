"""Signed, expiring links to exported files, for channels that cannot carry a file (Zalo).

A link is `<public url>/files/<file id>/<expiry>/<signature>/<filename>`: the signature is
HMAC-SHA256 over the file id and the expiry (Unix seconds) with the deployment's signing key,
checked in constant time (`hmac.compare_digest`). An expired, altered or unknown link gets the
same «not found», so an answer never tells which of the three it was.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from urllib.parse import quote

from bot.coordinators.filestore import FileStore, StoredFile

LINK_TTL = timedelta(hours=24)
ROUTE = "/files/{file_id}/{expires}/{signature}/{name}"


def signature(key: bytes, file_id: str, expires: int) -> str:
    """The link's signature (hex, 32 characters: 128 bits of HMAC-SHA256)."""
    message = f"file\0{file_id}\0{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def signed_path(key: bytes, file: StoredFile, *, now: datetime, ttl: timedelta = LINK_TTL) -> str:
    """The link's path (append it to LOA_PUBLIC_URL)."""
    expires = int((now + ttl).timestamp())
    return ROUTE.format(
        file_id=file.file_id,
        expires=expires,
        signature=signature(key, file.file_id, expires),
        name=quote(file.filename),
    )


def verify(key: bytes, file_id: str, expires: str, sig: str, *, now: datetime) -> bool:
    """True when the signature matches (constant time) and the link has not expired."""
    if not expires.isdigit() or len(expires) > 12:
        return False
    expected = signature(key, file_id, int(expires))
    valid = hmac.compare_digest(expected.encode(), sig.encode())
    return valid and now.timestamp() < int(expires)


def resolve(
    key: bytes, store: FileStore, file_id: str, expires: str, sig: str, *, now: datetime
) -> StoredFile | None:
    """The file a link names when the link is valid and the file still kept; None otherwise
    (the web route answers 404 alike for a bad signature, an expired link and a purged file)."""
    if not verify(key, file_id, expires, sig, now=now):
        return None
    return store.get(file_id)
