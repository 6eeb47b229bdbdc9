"""Database faults that pass: which errors are worth retrying, and a retry loop with backoff.

Driver-independent: only SQLAlchemy's exception tree and SQLSTATE codes are read, so the same
rules hold on SQLite (aiosqlite) and PostgreSQL (asyncpg).

- `DBAPIError` with `connection_invalidated` (the connection died under a statement);
- `OperationalError` and `InterfaceError` (SQLite «database is locked», a closed connection …);
- SQLSTATE classes 08 (connection), 53 (resources), 57P (shutdown, cannot connect now), and
  40001 / 40P01 (serialization failure, deadlock) — asyncpg reports some of these as plain
  `DBAPIError` or `InternalError`, which is why the class alone is not enough;
- connection refused / reset / timed out while connecting (`OSError`, `TimeoutError`: asyncpg
  raises these before SQLAlchemy can wrap them), and the pool's own `TimeoutError`.

Anything else (a constraint violation, a programming error) is a bug or bad data: retrying
would only repeat it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import exc as sa_exc

log = logging.getLogger(__name__)

T = TypeVar("T")

TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57P")


def _sqlstate(error: BaseException) -> str | None:
    orig = getattr(error, "orig", None)
    for source in (orig, getattr(orig, "__cause__", None), error):
        code = getattr(source, "sqlstate", None) or getattr(source, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def is_transient(error: BaseException) -> bool:
    """True for a database fault that may pass: retry the whole transaction later."""
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError):
            return True
        code = _sqlstate(error)
        return code is not None and (
            code in TRANSIENT_SQLSTATES or code.startswith(TRANSIENT_SQLSTATE_CLASSES)
        )
    if isinstance(error, sa_exc.DisconnectionError | sa_exc.TimeoutError):
        return True
    return isinstance(error, ConnectionError | TimeoutError) or (
        isinstance(error, OSError) and not isinstance(error, FileNotFoundError)
    )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter, for `window_s` seconds in all before giving up."""

    first_s: float = 0.05
    max_s: float = 5.0
    window_s: float = 90.0  # at least a minute: a database restart or failover fits in it

    def pauses(self, rng: random.Random | None = None) -> list[float]:
        """The pauses between attempts; their sum is at least `window_s`."""
        rng = rng or random.Random()
        pauses: list[float] = []
        pause, total = self.first_s, 0.0
        while total < self.window_s:
            step = min(self.max_s, pause) * (0.8 + 0.4 * rng.random())
            pauses.append(step)
            total += step
            pause *= 2
        return pauses


DEFAULT_POLICY = RetryPolicy()


class GaveUp(Exception):
    """The database stayed unavailable for the whole retry window; `__cause__` is the last
    fault."""


async def retrying(
    what: str,
    action: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run `action` (one whole transaction) until it succeeds; transient faults are retried
    with backoff for the policy's window, then `GaveUp` is raised. Other errors propagate at
    once. Only the error's type is logged: a database message may quote personal data."""
    pauses = policy.pauses()
    for attempt in range(len(pauses) + 1):
        try:
            return await action()
        except Exception as error:
            if not is_transient(error):
                raise
            if attempt == len(pauses):
                raise GaveUp(what) from error
            level = logging.WARNING if attempt in (0, 5, 10) else logging.DEBUG
            log.log(level, "%s: database fault %s; retrying", what, type(error).__name__)
            await sleep(pauses[attempt])
    raise AssertionError("unreachable")
