"""One owner per database: a lease row with a heartbeat, portable SQLite / PostgreSQL.

`loa run` takes the lease «owner» before it touches anything (recovery re-queues rows that are
`sending`, which would double-send what another live process is sending). Taking it is one
conditional UPDATE — «take it if it is free, expired, or already mine» — after an INSERT that
does nothing when the row exists, so two processes racing cannot both win on either database.
The holder renews it every `heartbeat_s`; a crashed holder stops renewing and its lease expires
after `ttl_s`, after which a new process takes over — at once when the holder ran on this same
host and its pid is gone (a `kill -9` or a crash followed by a restart). A holder that finds its
lease taken (it was paused longer than the TTL) must stop at once: `Lease.lost` is set and
`run_bot` exits.

Sharing the work later: name leases per share of work (e.g. «inbox:0».. «inbox:3» by a hash of
the chat, «dispatcher:telegram», «scheduler») and let each process take the free ones; the
table and these functions already hold any number of names.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.clock import Clock
from bot.storage.db import Database
from bot.storage.models.lease import Lease as LeaseRow
from bot.storage.retry import DEFAULT_POLICY, RetryPolicy, retrying

log = logging.getLogger(__name__)

LEASES = LeaseRow.__table__  # type: ignore[attr-defined]
OWNER = "owner"


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a lease."""

    host: str
    pid: int
    since: datetime
    expires_at: datetime


def _alive(pid: int) -> bool:
    """True if a process with this pid runs on this host (or may: no permission to tell)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LeaseHeld(Exception):
    """Another live process holds the lease."""

    def __init__(self, holder: Holder) -> None:
        super().__init__(
            f"another loa process owns this database: host {holder.host}, pid {holder.pid}, "
            f"since {holder.since:%Y-%m-%d %H:%M:%S} UTC (its lease runs until "
            f"{holder.expires_at:%H:%M:%S} UTC unless renewed); stop it first"
        )
        self.holder = holder


class Lease:
    """A named lease for this process: `acquire`, then `keep` renews it until `release`."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        name: str = OWNER,
        ttl_s: float = 30.0,
        heartbeat_s: float = 10.0,
        host: str | None = None,
        pid: int | None = None,
        retry: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self._db = db
        self._clock = clock
        self.name = name
        self._ttl = timedelta(seconds=ttl_s)
        self._heartbeat_s = heartbeat_s
        self.host = (host or socket.gethostname())[:255]
        self.pid = os.getpid() if pid is None else pid
        self.holder_id = uuid.uuid4().hex
        self._retry = retry
        self._task: asyncio.Task[None] | None = None
        self.lost = asyncio.Event()

    async def acquire(self) -> None:
        """Take the lease or raise `LeaseHeld` naming the live holder."""

        async def once() -> Holder | None:
            now = self._clock.now()
            async with self._db.session() as session:
                dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
                insert = pg_insert if dialect == "postgresql" else sqlite_insert
                await session.execute(
                    insert(LEASES)
                    .values(self._values(now, since=now))
                    .on_conflict_do_nothing(index_elements=["name"])
                )
                taken = await session.execute(
                    update(LEASES)
                    .where(
                        LEASES.c.name == self.name,
                        or_(
                            LEASES.c.holder == self.holder_id,
                            LEASES.c.expires_at < now,
                        ),
                    )
                    .values(self._values(now, since=now))
                )
                if getattr(taken, "rowcount", 0):
                    return None
                row = (
                    await session.execute(select(LEASES).where(LEASES.c.name == self.name))
                ).one()
                if row.host == self.host and not _alive(row.pid):
                    # the holder crashed on this host: take over from exactly that holder
                    stolen = await session.execute(
                        update(LEASES)
                        .where(LEASES.c.name == self.name, LEASES.c.holder == row.holder)
                        .values(self._values(now, since=now))
                    )
                    if getattr(stolen, "rowcount", 0):
                        return None
                return Holder(row.host, row.pid, row.since, row.expires_at)

        holder = await retrying("lease", once, policy=self._retry)
        if holder is not None:
            raise LeaseHeld(holder)
        log.info("lease %s taken", self.name)

    async def renew(self) -> bool:
        """Extend the lease; False if another process took it meanwhile."""

        async def once() -> bool:
            now = self._clock.now()
            async with self._db.session() as session:
                result = await session.execute(
                    update(LEASES)
                    .where(LEASES.c.name == self.name, LEASES.c.holder == self.holder_id)
                    .values(heartbeat_at=now, expires_at=now + self._ttl)
                )
                return bool(getattr(result, "rowcount", 0))

        return await retrying("lease renew", once, policy=self._retry)

    def keep(self) -> None:
        """Renew every `heartbeat_s` in the background; sets `lost` if the lease was taken."""
        self._task = asyncio.create_task(self._heartbeat(), name=f"lease-{self.name}")

    async def release(self) -> None:
        """Stop renewing and free the lease (if still ours) so a successor starts at once."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            async with self._db.session() as session:
                await session.execute(
                    update(LEASES)
                    .where(LEASES.c.name == self.name, LEASES.c.holder == self.holder_id)
                    .values(expires_at=self._clock.now() - timedelta(seconds=1))
                )

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            try:
                kept = await self.renew()
            except Exception as error:
                log.error("lease %s: heartbeat failed (%s)", self.name, type(error).__name__)
                kept = False
            if not kept:
                log.error("lease %s lost: another process owns the database now", self.name)
                self.lost.set()
                return

    def _values(self, now: datetime, *, since: datetime) -> dict[str, object]:
        return {
            "name": self.name,
            "holder": self.holder_id,
            "host": self.host,
            "pid": self.pid,
            "since": since,
            "heartbeat_at": now,
            "expires_at": now + self._ttl,
        }
