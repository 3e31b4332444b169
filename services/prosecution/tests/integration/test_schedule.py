"""The lapse as timed work: the service's scheduler sends LapseDueCharges through its bus once the clock passes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

import httpx
import nats
import sqlalchemy as sa
from fastapi import FastAPI

from divert_devstack.testing import JURISDICTION, eventually, publish_as
from divert_kernel.clock import FixedClock
from divert_kernel.schedule import Scheduler, TicksByHand

from .conftest import OFFERED_AT


async def status(service: httpx.AsyncClient, auth: dict[str, str], referral_id: str) -> str | None:
    reply = await service.get(f"/v1/held-charges/{referral_id}", headers=auth)
    return reply.json()["status"] if reply.status_code == 200 else None


async def lapses_recorded(app: FastAPI, referral_id: str) -> int:
    async with app.state.engine.connect() as conn:
        count = await conn.scalar(
            sa.text("SELECT count(*) FROM events WHERE type = 'IntakeDeadlineLapsed' AND data->>'referral_id' = :r"),
            {"r": referral_id},
        )
    return int(count)


class TestTheLapseIsAScheduledCommand:
    async def test_a_tick_past_the_deadline_lapses_the_charge_and_publishes_the_lapse(
        self,
        app: FastAPI,
        service: httpx.AsyncClient,
        bus: nats.NATS,
        offer: Callable,
        clock: FixedClock,
        tokens_for: Callable,
    ) -> None:
        prosecutor = tokens_for("prosecutor", agency="kc-prosecutor")
        referral_id = str(uuid4())
        clock.at = OFFERED_AT
        await publish_as(bus, "referral", offer(referral_id, str(uuid4())))

        async def held() -> bool:
            return await status(service, prosecutor, referral_id) == "held"

        await eventually(held)
        published = await bus.jetstream().subscribe(
            f"lead.{JURISDICTION}.prosecution.IntakeDeadlineLapsed", ordered_consumer=True
        )
        # The jobs the service declares, run by a scheduler whose intervals the test lets pass.
        ticks = TicksByHand()
        scheduler = Scheduler(app.state.engine, "prosecution", app.state.bus, app.state.schedules, sleep=ticks.sleep)
        task = asyncio.create_task(scheduler.run())
        try:
            clock.at = datetime(2026, 12, 2, 7, 59, tzinfo=UTC)  # 23:59 on the deadline day in Seattle
            await ticks.next(task)
            assert await status(service, prosecutor, referral_id) == "held"
            assert await lapses_recorded(app, referral_id) == 0

            clock.at = datetime(2026, 12, 2, 8, 1, tzinfo=UTC)  # 00:01 the day after: lapsed
            await ticks.next(task)
            assert await status(service, prosecutor, referral_id) == "lapsed"
            await ticks.next(task)  # a later tick finds nothing more to lapse
            assert await lapses_recorded(app, referral_id) == 1
            assert ticks.intervals[0] == app.state.settings.lapse_every_seconds
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        async def lapse_on_the_bus() -> dict | None:
            async for message in published.messages:
                data = json.loads(message.data)["data"]
                if data["referral_id"] == referral_id:
                    return data  # type: ignore[no-any-return]
            return None

        lapsed = await eventually(lapse_on_the_bus)
        assert lapsed["intake_deadline"] == "2026-12-01"
        await published.unsubscribe()
