"""A failed tick is logged as an event with its job and error class in fields (the JSON logger keeps those and
drops %-arguments), and the loop goes on."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from divert_kernel.schedule import Every, Scheduler, TicksByHand


class _Nothing:
    pass


async def test_a_failed_tick_is_logged_by_event_name_with_job_and_error(caplog: pytest.LogCaptureFixture) -> None:
    ticks = TicksByHand()
    # No database: the job's lead cannot be taken, so every tick fails (as when the database is away).
    job = Every(seconds=30, command=_Nothing, name="lapse")
    scheduler = Scheduler(None, "casemgmt", bus=None, jobs=[job], sleep=ticks.sleep)  # type: ignore[arg-type]
    task: asyncio.Task[Any] = asyncio.ensure_future(scheduler._every(job))
    with caplog.at_level(logging.WARNING, logger="divert"):
        await ticks.next(task)
        await ticks.next(task)  # still running after a failure
    task.cancel()
    failures = [r for r in caplog.records if r.getMessage() == "scheduled_job_failed"]
    assert len(failures) == 2
    assert failures[0].job == "lapse" and failures[0].error  # type: ignore[attr-defined]
    assert failures[0].next_tick_seconds == 30  # type: ignore[attr-defined]
