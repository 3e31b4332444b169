"""Sealing as timed work: the service's scheduler sends SealAuditCheckpoint through its bus each interval."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from uuid import uuid4

import asyncpg
import httpx
import nats
from fastapi import FastAPI

from divert_devstack.nats import NatsServer
from divert_devstack.testing import eventually
from divert_kernel import bus
from divert_kernel.schedule import Scheduler, TicksByHand

from .conftest import decision

SUBJECT = "lead.all.audit.AuditCheckpointSealed"


class TestSealingIsAScheduledCommand:
    async def test_a_tick_seals_the_moved_head_and_publishes_the_checkpoint_once(
        self,
        app: FastAPI,
        service: httpx.AsyncClient,
        publish: Callable[..., Awaitable[str]],
        db: asyncpg.Connection,
        module_nats: NatsServer,
    ) -> None:
        before = await db.fetchval("SELECT seq FROM audit_head")
        for _ in range(2):
            await publish("consent", decision(str(uuid4()), "deny"))

        async def moved() -> int | None:
            head = await db.fetchval("SELECT seq FROM audit_head")
            return head if head >= before + 2 else None

        head = await eventually(moved)
        ticks = TicksByHand()
        scheduler = Scheduler(app.state.engine, "audit", app.state.bus, app.state.schedules, sleep=ticks.sleep)
        task = asyncio.create_task(scheduler.run())
        try:
            await ticks.next(task)
            assert await db.fetchval("SELECT max(seq) FROM audit_checkpoints") == head
            sealed = await db.fetchval("SELECT count(*) FROM audit_checkpoints")
            await ticks.next(task)  # the head did not move: nothing more to seal
            assert await db.fetchval("SELECT count(*) FROM audit_checkpoints") == sealed
            assert ticks.intervals[0] == app.state.settings.checkpoint_seconds
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        nc = await nats.connect(module_nats.url)
        try:
            js = nc.jetstream()

            async def on_the_bus() -> dict | None:
                try:
                    data = json.loads((await js.get_last_msg(bus.stream_name("audit"), SUBJECT)).data)["data"]
                except nats.js.errors.NotFoundError:
                    return None
                return data if data["entries"] == head else None  # type: ignore[no-any-return]

            await eventually(on_the_bus)
        finally:
            await nc.close()
