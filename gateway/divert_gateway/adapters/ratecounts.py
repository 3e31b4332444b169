"""Request counts kept in memory between short synchronisations with `rate_limit_counters`, so a limited request
costs no PostgreSQL write of its own (the gateway's profile found the per-request upsert the largest share of its
rate limiting, and one commit per request in its database).

Each replica counts a key's hits in memory on top of the window's shared total as it last read it. The first hit
of a key in a window is counted in PostgreSQL at once (exact, as before); after that the replica adds its hits to
the shared row in one statement for every key at most every `sync_seconds` (a background flush, and on the request
path when a key's knowledge is older than that), and reads the other replicas' totals back from that statement.

What this costs in exactness, on purpose: with one replica, nothing (its memory holds every hit). With several,
a replica admits on a total that may miss the other replicas' last `sync_seconds` of hits for that key, so a
client spreading requests over N replicas can exceed its limit by at most what the other N-1 replicas admitted
for it within one sync interval (at 0.2 s and a client's 600/minute reads: a few requests a window). A replica that
stops loses at most its unflushed hits (an undercount of the same bound). `sync_seconds = 0` writes every hit
through, exact across replicas. The token endpoint's lockout counters never take this path (entrypoints/ratelimit.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from divert_gateway.adapters.ratelimits import PostgresStorage

log = logging.getLogger("divert.gateway.ratelimit")

MAX_REMEMBERED = 10_000
# Every key's pending hits in one statement: each row starts a new window if the stored one ended, as _INCR does.
# Keys go in sorted so two replicas' flushes lock rows in the same order (no deadlock between them).
_FLUSH = sa.text(
    "INSERT INTO rate_limit_counters AS c (key, count, expires_at) "
    "SELECT * FROM unnest(CAST(:keys AS text[]), CAST(:amounts AS integer[]), CAST(:ends AS timestamptz[])) "
    "ON CONFLICT (key) DO UPDATE SET "
    "count = CASE WHEN c.expires_at <= :now THEN excluded.count ELSE c.count + excluded.count END, "
    "expires_at = CASE WHEN c.expires_at <= :now THEN excluded.expires_at ELSE c.expires_at END "
    "RETURNING key, count, expires_at"
)


@dataclass
class _Key:
    shared: int  # the window's total in PostgreSQL when last read (this replica's flushed hits included)
    ends: datetime
    synced_at: datetime
    expiry: int
    pending: int = 0  # this replica's hits not yet sent to PostgreSQL
    sending: int = 0  # sent, not yet answered: in neither `shared` nor `pending` until the flush returns

    @property
    def count(self) -> int:
        return self.shared + self.sending + self.pending


class BatchedCounts:
    """Fixed-window counts per key, shared through PostgreSQL every `sync_seconds`."""

    def __init__(self, storage: PostgresStorage, sync_seconds: float) -> None:
        self.storage = storage
        self.clock = storage.clock
        self.sync = timedelta(seconds=sync_seconds)
        self._keys: dict[str, _Key] = {}
        self._flusher: asyncio.Task[None] | None = None
        # One flush at a time: two in flight could answer out of order and leave an older total behind.
        self._flush_lock = asyncio.Lock()

    async def hit(self, key: str, expiry: int) -> tuple[int, datetime]:
        """The window's count after this hit, as this replica knows it, and when the window ends."""
        now = self.clock.now()
        known = self._keys.get(key)
        if known is None or known.ends <= now or self.sync <= timedelta(0):
            count, ends = await self.storage.hit(key, expiry)
            self._remember(key, _Key(count, ends, now, expiry))
            return count, ends
        known.pending += 1
        if now - known.synced_at >= self.sync and not self._flush_lock.locked():
            try:
                await self.flush()
            except self.storage.base_exceptions as exc:  # counted here all the same; sent with the next flush
                log.warning("rate_limit_flush_failed", extra={"error": type(exc).__name__})
        return known.count, known.ends

    def _remember(self, key: str, state: _Key) -> None:
        if len(self._keys) >= MAX_REMEMBERED:
            self._forget_ended()
        if len(self._keys) >= MAX_REMEMBERED:  # still full of live windows: keep only those with unsent hits
            self._keys = {k: v for k, v in self._keys.items() if v.pending}
        self._keys[key] = state

    def _forget_ended(self) -> None:
        now = self.clock.now()
        self._keys = {k: v for k, v in self._keys.items() if v.ends > now}

    async def flush(self) -> None:
        """Send every key's pending hits in one statement and read back each window's shared total."""
        async with self._flush_lock:
            await self._flush()

    async def _flush(self) -> None:
        self._forget_ended()  # hits of a window that has ended no longer count against anything
        now = self.clock.now()
        sending = sorted((k, v) for k, v in self._keys.items() if v.pending)
        if not sending:
            return
        amounts = {k: v.pending for k, v in sending}
        for _, state in sending:
            state.pending, state.sending = 0, state.sending + state.pending
        params = {
            "keys": [k for k, _ in sending],
            "amounts": [v for v in amounts.values()],
            "ends": [now + timedelta(seconds=v.expiry) for _, v in sending],
            "now": now,
        }
        try:
            async with self.storage.autocommit.connect() as conn:
                rows = (await conn.execute(_FLUSH, params)).all()
        except self.storage.base_exceptions:
            for key, state in sending:  # kept for the next flush: an outage loses no hit
                state.sending -= amounts[key]
                state.pending += amounts[key]
            raise
        for key, state in sending:
            state.sending -= amounts[key]
        sent = dict(sending)
        for key, count, ends in rows:
            state = sent[key]
            if self._keys.get(key) is state:  # not replaced meanwhile by a new window's first hit
                # The total includes what was just sent; hits counted while it was on its way stay pending.
                state.shared, state.ends, state.synced_at = int(count), ends, now

    async def run(self) -> None:
        """Flush every `sync_seconds` for the replica's life; an unreachable database is retried next time."""
        while True:
            await asyncio.sleep(self.sync.total_seconds())
            try:
                await self.flush()
            except self.storage.base_exceptions as exc:
                log.warning("rate_limit_flush_failed", extra={"error": type(exc).__name__})

    def start(self) -> None:
        if self.sync > timedelta(0):
            self._flusher = asyncio.create_task(self.run(), name="gateway-rate-limit-flush")

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        with contextlib.suppress(*self.storage.base_exceptions):
            await self.flush()  # the last hits reach the other replicas
