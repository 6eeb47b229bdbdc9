"""The OA webhook signature: ``X-ZEvent-Signature: mac=<sha256 hex>``.

mac = SHA-256(app_id + raw body + timestamp + OA secret key), a plain hash of the concatenation,
not an HMAC; the timestamp is the body's `timestamp` field (chatwoot's zalo_events_job.rb; the
hainh.me webhook guide). Sources disagree on the secret (OA secret key vs app secret) and one
names the OA id instead of the app id: the secret is a setting, see the README.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-ZEvent-Signature"


def expected_mac(*, app_id: str, body: bytes, timestamp: str, secret: str) -> str:
    """The lowercase hex digest Zalo sends after ``mac=``."""
    raw = app_id.encode("utf-8") + body + timestamp.encode("utf-8") + secret.encode("utf-8")
    return hashlib.sha256(raw).hexdigest()


def verify_signature(
    header: str | None, *, app_id: str, body: bytes, timestamp: str, secret: str
) -> bool:
    """True when `header` carries the right mac; compared in constant time."""
    if not header or not secret:
        return False
    value = header.strip()
    if value[:4].lower() == "mac=":
        value = value[4:]
    wanted = expected_mac(app_id=app_id, body=body, timestamp=timestamp, secret=secret)
    return hmac.compare_digest(value.lower().encode("ascii", "replace"), wanted.encode("ascii"))
