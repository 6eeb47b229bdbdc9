"""The OA's token pair: sealed at rest, refreshed before expiry, one refresh at a time.

The refresh token is single-use: refreshing returns a new pair and kills the old refresh token
and the access token it replaced. So two holders of one refresh token (a second process, a
database restored from a backup) break each other. Here: the pair lives in one database row with
a version; before refreshing, a process re-reads the row and adopts a newer pair; a refused
refresh is re-checked against the row (another process may have won the race), and only then
reported — one log line and one alert, then a pause before the next try, never a tight loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select, update

from bot.channels.zalo_oa.client import OaAuthError, OaClient, OaError, TokenPair
from bot.clock import Clock
from bot.storage.db import Database
from bot.storage.models.zalo_oa import OaToken

log = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(hours=1)  # refresh an access token this long before it expires
RETRY_PAUSE = timedelta(minutes=5)  # after a failed refresh, wait this long before trying again

Alert = Callable[[str], Awaitable[object]]


class TokenUnavailable(Exception):
    """No usable access token: never authorised, or the refresh failed (already reported)."""


class TokenSealError(Exception):
    """The stored pair cannot be opened with this key (wrong ZALO_OA_TOKEN_KEY)."""


def new_key() -> str:
    """A fresh key for ZALO_OA_TOKEN_KEY."""
    return Fernet.generate_key().decode("ascii")


class TokenVault:
    """Reads and writes the sealed pair of one OA."""

    def __init__(self, db: Database, oa_id: str, key: str) -> None:
        self._db = db
        self._oa_id = oa_id
        self._fernet = Fernet(key.encode("ascii"))  # ValueError on a malformed key

    def seal(self, pair: TokenPair) -> str:
        """The pair as Fernet ciphertext."""
        plain = json.dumps(
            {
                "access_token": pair.access_token,
                "refresh_token": pair.refresh_token,
                "access_expires_at": pair.access_expires_at.isoformat(),
                "refresh_expires_at": pair.refresh_expires_at.isoformat(),
            }
        )
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> TokenPair:
        """The inverse of `seal`."""
        try:
            data = json.loads(self._fernet.decrypt(sealed.encode("ascii")))
        except InvalidToken:
            raise TokenSealError(
                "the stored OA tokens do not open with ZALO_OA_TOKEN_KEY"
            ) from None
        return TokenPair(
            access_token=data["access_token"],
            refresh_token=data["refresh_token"],
            access_expires_at=datetime.fromisoformat(data["access_expires_at"]),
            refresh_expires_at=datetime.fromisoformat(data["refresh_expires_at"]),
        )

    async def load(self) -> tuple[TokenPair, int] | None:
        """The stored pair and its version, or None before the first login."""
        async with self._db.session() as session:
            row = (
                await session.execute(select(OaToken).where(OaToken.oa_id == self._oa_id))  # type: ignore[arg-type]
            ).scalar_one_or_none()
            if row is None:
                return None
            return self.open(row.sealed), row.version

    async def store(self, pair: TokenPair, *, now: datetime, after: int | None) -> int | None:
        """Write `pair` as the version after `after` (None: replace whatever is there, as a
        fresh login does); None when another process wrote a newer version first."""
        sealed = self.seal(pair)
        async with self._db.session() as session:
            if after is None:
                row = await session.get(OaToken, self._oa_id)
                if row is None:
                    session.add(
                        OaToken(oa_id=self._oa_id, sealed=sealed, version=1, updated_at=now)
                    )
                    return 1
                row.sealed, row.version, row.updated_at = sealed, row.version + 1, now
                return row.version
            result = await session.execute(
                update(OaToken)
                .where(OaToken.oa_id == self._oa_id, OaToken.version == after)  # type: ignore[arg-type]
                .values(sealed=sealed, version=after + 1, updated_at=now)
            )
            return after + 1 if int(getattr(result, "rowcount", 0) or 0) == 1 else None


class TokenManager:
    """Hands out a valid access token; refreshes it before it expires or when Zalo refuses it."""

    def __init__(
        self,
        client: OaClient,
        vault: TokenVault,
        clock: Clock,
        *,
        alert: Alert | None = None,
        margin: timedelta = REFRESH_MARGIN,
        retry_pause: timedelta = RETRY_PAUSE,
    ) -> None:
        self._client = client
        self._vault = vault
        self._clock = clock
        self._alert = alert
        self._margin = margin
        self._retry_pause = retry_pause
        self._pair: TokenPair | None = None
        self._version: int | None = None
        self._lock = asyncio.Lock()
        self._paused_until: datetime | None = None
        self._reported = False
        self.refreshes = 0
        self.failures = 0

    async def access_token(self) -> str:
        """A usable access token (refreshed first when it expires within the margin)."""
        pair = self._pair
        if pair is not None and pair.access_expires_at - self._margin > self._clock.now():
            return pair.access_token
        return await self._renew(stale=None)

    async def renew(self, stale: str) -> str:
        """Zalo refused `stale` (-216/-220): refresh unless another send already did."""
        return await self._renew(stale=stale)

    async def _renew(self, *, stale: str | None) -> str:
        async with self._lock:  # one refresh at a time: the refresh token is single-use
            now = self._clock.now()
            pair = self._pair
            if (
                pair is not None
                and (stale is None or pair.access_token != stale)
                and pair.access_expires_at - self._margin > now
            ):
                return pair.access_token  # fresh already (a concurrent caller refreshed)
            if self._paused_until is not None and now < self._paused_until:
                raise TokenUnavailable("the last refresh failed; waiting before the next try")
            stored = await self._vault.load()
            if stored is None:
                await self._fail("no token stored: run `loa zalo-oa login`", now)
            assert stored is not None
            if self._version is None or stored[1] > self._version:
                self._pair, self._version = stored  # adopt what the database holds
                fresh = stored[0].access_expires_at - self._margin > now
                if fresh and stored[0].access_token != stale:
                    return stored[0].access_token
            return await self._refresh(now)

    async def _refresh(self, now: datetime) -> str:
        assert self._pair is not None
        assert self._version is not None
        try:
            new = await self._client.token_from_refresh(self._pair.refresh_token, now=now)
        except OaAuthError as exc:
            stored = await self._vault.load()
            if stored is not None and stored[1] > self._version:
                self._pair, self._version = stored  # another process refreshed first: theirs wins
                return stored[0].access_token
            await self._fail(
                f"refresh token refused (error {exc.code}): it was already used — a second "
                "process, or a database restored from a backup — or it expired; "
                "run `loa zalo-oa login`",
                now,
            )
            raise  # unreachable: _fail raises
        except OaError as exc:
            await self._fail(f"refresh failed ({type(exc).__name__} {exc.code}); will retry", now)
            raise
        version = await self._vault.store(new, now=now, after=self._version)
        if version is None:
            # Our refresh succeeded, so the stored pair is dead already; ours is the live one.
            log.warning("zalo oa: a newer token row appeared during a refresh; keeping ours")
            version = await self._vault.store(new, now=now, after=None)
        self._pair, self._version = new, version
        self._paused_until = None
        self._reported = False
        self.refreshes += 1
        log.info("zalo oa: access token refreshed")
        return new.access_token

    async def _fail(self, reason: str, now: datetime) -> None:
        self.failures += 1
        self._paused_until = now + self._retry_pause
        log.error("zalo oa: %s", reason)
        if not self._reported and self._alert is not None:
            self._reported = True
            try:
                await self._alert(reason)
            except Exception as exc:  # an alert that fails must not turn into a crash loop
                log.error("zalo oa: could not queue the alert (%s)", type(exc).__name__)
        raise TokenUnavailable(reason)
