"""A `limits` storage on the gateway's PostgreSQL, so every gateway replica counts against the same windows.

`limits` finds a storage by the scheme of its URI (`limits.storage.storage_from_string`): subclassing
`limits.aio.storage.Storage` with a `STORAGE_SCHEME` registers it. The fixed-window strategy needs `incr`, `get`,
`get_expiry` and `clear`; one row per key holds the window's count and its end, and one upsert moves it on.
Time comes from the gateway's injectable clock, so tests pass a window without waiting for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from limits.aio.storage import Storage
from limits.errors import StorageError
from limits.storage import storage_from_string
from sqlalchemy.exc import SQLAlchemyError

from divert_kernel.clock import Clock, SystemClock
from divert_kernel.db import make_engine

SCHEMES = ["async+postgresql", "async+postgresql+asyncpg"]
PURGE_EVERY = timedelta(minutes=5)
MAX_REMEMBERED = 10_000

# A window that has ended starts again at `amount`; a live one adds to its count. One statement: no race between
# replicas, and no read-modify-write round trip.
_INCR = sa.text(
    "INSERT INTO rate_limit_counters AS c (key, count, expires_at) VALUES (:key, :amount, :expires_at) "
    "ON CONFLICT (key) DO UPDATE SET "
    "count = CASE WHEN c.expires_at <= :now THEN :amount ELSE c.count + :amount END, "
    "expires_at = CASE WHEN c.expires_at <= :now THEN :expires_at ELSE c.expires_at END "
    "RETURNING count, expires_at"
)
_GET = sa.text("SELECT count, expires_at FROM rate_limit_counters WHERE key = :key AND expires_at > :now")
_CLEAR = sa.text("DELETE FROM rate_limit_counters WHERE key = :key")
_RESET = sa.text("DELETE FROM rate_limit_counters")
_PURGE = sa.text("DELETE FROM rate_limit_counters WHERE expires_at <= :now")


class PostgresStorage(Storage):
    """Fixed-window counters in the `rate_limit_counters` table (gateway migration 0004)."""

    STORAGE_SCHEME = SCHEMES

    def __init__(
        self,
        uri: str,
        wrap_exceptions: bool = False,
        clock: Clock | None = None,
        **options: Any,
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        database_url = "postgresql+asyncpg" + uri[uri.index("://") :]
        self.engine = make_engine(database_url, pool_size=int(options.get("pool_size", 5)))
        # The upsert is atomic alone: without BEGIN and COMMIT around it a hit is one round trip, not three.
        self.autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.clock = clock or SystemClock()
        self._purged_at: datetime | None = None
        # A window's end never moves while it lasts: remembered from `incr`, `get_expiry` needs no round trip.
        self._ends: dict[str, datetime] = {}

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return (SQLAlchemyError, OSError, TimeoutError)

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        count, _ = await self._add(key, expiry, amount)
        return count

    async def hit(self, key: str, expiry: int, amount: int = 1) -> tuple[int, datetime]:
        """The window's count after adding `amount`, and when the window ends: what a limited request needs to
        know, from the one statement that counts it (the gateway's profile found a second query per request)."""
        try:
            return await self._add(key, expiry, amount)
        except self.base_exceptions as exc:  # as `limits` wraps incr, get and the others
            if self.wrap_exceptions:
                raise StorageError(exc) from exc
            raise

    async def _add(self, key: str, expiry: int, amount: int) -> tuple[int, datetime]:
        now = self.clock.now()
        async with self.autocommit.connect() as conn:
            params = {"key": key, "amount": amount, "now": now, "expires_at": now + timedelta(seconds=expiry)}
            count, ends = (await conn.execute(_INCR, params)).one()
            if self._purged_at is None or now - self._purged_at > PURGE_EVERY:
                # Keys of addresses seen once would pile up; ended windows carry nothing worth keeping.
                self._purged_at = now
                await conn.execute(_PURGE, {"now": now})
        if len(self._ends) > MAX_REMEMBERED:
            self._ends.clear()
        self._ends[key] = ends
        return int(count), ends

    async def _row(self, key: str) -> sa.Row[Any] | None:
        async with self.engine.connect() as conn:
            return (await conn.execute(_GET, {"key": key, "now": self.clock.now()})).first()

    async def get(self, key: str) -> int:
        row = await self._row(key)
        return int(row.count) if row is not None else 0

    async def get_expiry(self, key: str) -> float:
        ends = self._ends.get(key)
        if ends is not None and ends > self.clock.now():
            return ends.timestamp()
        row = await self._row(key)
        return (row.expires_at if row is not None else self.clock.now()).timestamp()

    async def check(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except self.base_exceptions:
            return False
        return True

    async def reset(self) -> int | None:
        self._ends.clear()
        async with self.engine.begin() as conn:
            return (await conn.execute(_RESET)).rowcount

    async def clear(self, key: str) -> None:
        self._ends.pop(key, None)
        async with self.engine.begin() as conn:
            await conn.execute(_CLEAR, {"key": key})

    async def close(self) -> None:
        await self.engine.dispose()


def storage_for(database_url: str, clock: Clock) -> PostgresStorage:
    """The counters in this PostgreSQL database, found through `limits`' own registry of storage schemes."""
    storage = storage_from_string(f"async+{database_url}", clock=clock, wrap_exceptions=True)  # type: ignore[arg-type]
    if not isinstance(storage, PostgresStorage):
        raise TypeError(f"the gateway's database URL does not name PostgreSQL: {database_url.partition(':')[0]}")
    return storage
