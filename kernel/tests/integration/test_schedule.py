"""Timed work on real PostgreSQL: each job's command goes through the bus, on one replica per tick."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import singledispatchmethod
from uuid import uuid4

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.ext.asyncio import AsyncEngine

from divert_devstack.postgres import PostgresServer, ensure_databases
from divert_kernel.aggregate import Aggregate
from divert_kernel.db import create_kernel_tables, make_engine
from divert_kernel.events import Event
from divert_kernel.messagebus import MessageBus
from divert_kernel.schedule import Every, Scheduler, TicksByHand
from divert_kernel.uow import UnitOfWork

SERVICE = "scheduletest"


class Ticked(Event):
    service = SERVICE
    job_id: str


class Job(Aggregate):
    """One stream per job: its events are the effects a test counts."""

    stream_prefix = "job"

    def tick(self) -> None:
        self._record(Ticked(job_id=self.id))

    @singledispatchmethod
    def apply(self, event: Event) -> None:
        raise TypeError(type(event).__name__)

    @apply.register
    def _(self, event: Ticked) -> None:
        pass


@dataclass(frozen=True)
class Tick:
    job_id: str


class Handlers:
    """Appends one Ticked per command; fails the first `failures` times (as a handler whose database is away)."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures

    async def tick(self, cmd: Tick, uow: UnitOfWork) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("participant 1234 could not be read")  # text the log must not carry
        job = await uow.get(Job, cmd.job_id) or Job(cmd.job_id, "seattle-king-county")
        uow.add(job)
        job.tick()


@pytest.fixture(scope="module")
async def engine(postgres: PostgresServer) -> AsyncIterator[AsyncEngine]:
    name = f"schedule_{uuid4().hex[:10]}"
    await ensure_databases(postgres.url("postgres", driver="postgresql"), [name])
    engine = make_engine(postgres.url(name))
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: create_kernel_tables(Operations(MigrationContext.configure(sync))))
    yield engine
    await engine.dispose()


def replica(engine: AsyncEngine, job: Every, handlers: Handlers, ticks: TicksByHand | None = None) -> Scheduler:
    """One replica's scheduler: its own bus over the shared database."""
    bus = MessageBus(engine, SERVICE, {Tick: handlers.tick})
    if ticks is None:
        return Scheduler(engine, SERVICE, bus, [job])
    return Scheduler(engine, SERVICE, bus, [job], sleep=ticks.sleep)


async def ticked(engine: AsyncEngine, job_id: str) -> int:
    async with engine.connect() as conn:
        return int(
            await conn.scalar(sa.text("SELECT count(*) FROM events WHERE stream_id = :s"), {"s": f"job-{job_id}"})
        )


@contextlib.asynccontextmanager
async def running(scheduler: Scheduler) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(scheduler.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def every(job_id: str) -> Every:
    return Every(30, lambda: Tick(job_id), name=f"tick-{job_id}")


class TestOneReplicaPerTick:
    async def test_two_replicas_ticking_together_run_the_job_once_per_tick(self, engine: AsyncEngine) -> None:
        job = every(str(uuid4()))
        first, second = replica(engine, job, Handlers()), replica(engine, job, Handlers())
        try:
            for _ in range(4):
                ran = await asyncio.gather(first.tick(job), second.tick(job))
                assert sorted(ran) == [False, True]
            assert await ticked(engine, job.command().job_id) == 4
        finally:
            await asyncio.gather(first.stop(), second.stop())

    async def test_a_replica_that_stops_hands_the_job_to_the_next(self, engine: AsyncEngine) -> None:
        job = every(str(uuid4()))
        leader, follower = replica(engine, job, Handlers()), replica(engine, job, Handlers())
        try:
            assert await leader.tick(job)
            assert not await follower.tick(job)
            await leader.stop()  # its connection closes, and the lock goes with it
            assert await follower.tick(job)
            assert not await leader.tick(job)  # back, it finds the job taken
            assert await ticked(engine, job.command().job_id) == 2
        finally:
            await asyncio.gather(leader.stop(), follower.stop())

    async def test_another_jobs_lock_is_not_this_ones(self, engine: AsyncEngine) -> None:
        one, other = every(str(uuid4())), every(str(uuid4()))
        first, second = replica(engine, one, Handlers()), replica(engine, other, Handlers())
        try:
            assert await first.tick(one) and await second.tick(other)
        finally:
            await asyncio.gather(first.stop(), second.stop())


class TestTheLoop:
    async def test_a_failing_tick_is_logged_by_class_and_the_next_tick_runs(
        self, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
    ) -> None:
        job, ticks = every(str(uuid4())), TicksByHand()
        async with running(replica(engine, job, Handlers(failures=1), ticks)) as task:
            await ticks.next(task)
            assert await ticked(engine, job.command().job_id) == 0
            await ticks.next(task)
            assert await ticked(engine, job.command().job_id) == 1
            assert not task.done()
        failed = [r for r in caplog.records if r.name == "divert.schedule"]
        assert [r.getMessage() for r in failed] == ["scheduled_job_failed"]
        assert failed[0].error == "RuntimeError" and failed[0].job == job.job  # type: ignore[attr-defined]
        assert "1234" not in caplog.text
        assert ticks.intervals[:3] == [30, 30, 30]

    async def test_a_stopped_loop_gives_the_job_up(self, engine: AsyncEngine) -> None:
        job, ticks = every(str(uuid4())), TicksByHand()
        async with running(replica(engine, job, Handlers(), ticks)) as task:
            await ticks.next(task)
        other = replica(engine, job, Handlers())
        try:
            assert await other.tick(job)
            assert await ticked(engine, job.command().job_id) == 2
        finally:
            await other.stop()


def test_a_job_is_named_after_its_command() -> None:
    assert Every(1, Tick).job == "Tick"
    assert every("x").job == "tick-x"
