"""Timed work as an entrypoint: each job sends its command through the message bus, on one replica at a time.

A service declares `schedules=[Every(30, LapseDueCharges)]`; the command's handler sits in the same handler table
as the HTTP commands, so its unit of work commits and the outbox publishes exactly as for a request.

Which replica runs a job is settled by a PostgreSQL advisory lock per service and job, held for as long as the
replica leads (a session lock on a connection of its own, like the outbox relay's leader lock but kept between
ticks): every replica tries it each tick, one wins and the others skip, so the job runs once per tick whatever
the number of replicas. A replica that dies drops its connection and the lock with it; another takes over on its
next tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from divert_kernel import context

log = logging.getLogger("divert.schedule")

_TRY_LEAD = sa.text("SELECT pg_try_advisory_lock(hashtext(:key))")
_ALIVE = sa.text("SELECT 1")


@dataclass(frozen=True)
class Every:
    """Send `command()` through the bus every `seconds` (the first time one interval after start)."""

    seconds: float
    command: Callable[[], Any]
    # Names the job's lock; by default the command's class name, which is what operators see in the logs.
    name: str = ""

    @property
    def job(self) -> str:
        return self.name or getattr(self.command, "__name__", type(self.command).__name__)


class Sends(Protocol):
    """What the scheduler needs of the message bus."""

    async def handle(self, command: Any) -> Any: ...


class _Lead:
    """This replica's hold on one job: a session advisory lock on a connection kept out of the pool."""

    def __init__(self, engine: AsyncEngine, key: str) -> None:
        self._engine = engine
        self._key = key
        self._conn: AsyncConnection | None = None

    async def held(self) -> bool:
        """True if this replica leads the job now, taking the lock when no replica holds it."""
        if self._conn is not None:
            try:
                await self._conn.execute(_ALIVE)
                await self._conn.commit()
                return True
            except Exception:
                await self.release()  # the connection died, and its lock with it: contend again
        conn = await self._engine.connect()
        try:
            won = bool((await conn.execute(_TRY_LEAD, {"key": self._key})).scalar())
            await conn.commit()  # the session lock outlives the transaction; an open one would sit idle for hours
        except BaseException:
            await conn.invalidate()
            await conn.close()
            raise
        if not won:
            await conn.close()
            return False
        self._conn = conn
        return True

    async def release(self) -> None:
        """Give the job up: the connection is closed for real, so the lock cannot go back to the pool with it."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.invalidate()
                await conn.close()
            except Exception as exc:
                log.info("schedule_lock_connection_closed", extra={"job": self._key, "error": type(exc).__name__})


class Scheduler:
    """Runs a service's jobs for the app's life; `sleep` is injectable so tests decide when a tick comes."""

    def __init__(
        self,
        engine: AsyncEngine,
        service: str,
        bus: Sends,
        jobs: Sequence[Every],
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self._service = service
        self._bus = bus
        self._jobs = list(jobs)
        self._sleep = sleep
        self._leads = {job.job: _Lead(engine, f"divert-schedule:{service}:{job.job}") for job in self._jobs}

    async def tick(self, job: Every) -> bool:
        """Send the job's command once if this replica leads the job; False when another replica does."""
        if not await self._leads[job.job].held():
            return False
        caller = context.current()
        context.set_current(context.Causation())  # each run its own correlation, acted by the system
        try:
            await self._bus.handle(job.command())
        finally:
            context.set_current(caller)
        return True

    async def run(self) -> None:
        try:
            await asyncio.gather(*(self._every(job) for job in self._jobs))
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Give up every job this replica leads, so another replica takes it at its next tick."""
        for lead in self._leads.values():
            await lead.release()

    async def _every(self, job: Every) -> None:
        while True:
            await self._sleep(job.seconds)
            try:
                await self.tick(job)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # By class only: an exception's text may carry what it was about. The next tick tries again.
                log.warning(
                    "scheduled_job_failed",
                    extra={
                        "job": job.job,
                        "error": type(exc).__name__,
                        "next_tick_seconds": job.seconds,
                    },
                )


class TicksByHand:
    """The scheduler's sleep in a test's hand, as FixedClock is the clock (for a scheduler of one job):
    `await ticks.next(task)` lets one interval pass and returns once that tick has run and the job sleeps again,
    or raises at once if the scheduler's task ended instead (a loop that died fails the test, never hangs it)."""

    def __init__(self) -> None:
        self.intervals: list[float] = []
        self._asleep: asyncio.Queue[None] = asyncio.Queue()
        self._passed: asyncio.Queue[None] = asyncio.Queue()

    async def sleep(self, seconds: float) -> None:
        self.intervals.append(seconds)
        self._asleep.put_nowait(None)
        await self._passed.get()

    async def next(self, task: asyncio.Task[None]) -> None:
        await self._unless_ended(task)  # the job waits for its interval...
        self._passed.put_nowait(None)  # ...which passes
        await self._unless_ended(task)  # the tick ran: it waits again
        self._asleep.put_nowait(None)

    async def _unless_ended(self, task: asyncio.Task[None]) -> None:
        asleep = asyncio.ensure_future(self._asleep.get())
        await asyncio.wait({asleep, task}, return_when=asyncio.FIRST_COMPLETED)
        if not asleep.done():
            asleep.cancel()
            raise RuntimeError(f"the scheduler stopped: {task.exception()!r}")
