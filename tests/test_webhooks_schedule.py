"""Webhook retries as timed work: the gateway's scheduler sends DispatchDueWebhooks, whose handler attempts every
message due on the injected clock; a retry goes out at the first tick after it falls due, not before."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database, running
from divert_gateway.adapters import clients
from divert_gateway.bootstrap import create
from divert_gateway.config import GatewaySettings
from divert_gateway.delivery import schedule
from divert_gateway.domain.webhooks import RETRY_SCHEDULE
from divert_kernel.clock import FixedClock
from divert_kernel.schedule import TicksByHand
from tests.test_webhooks_delivery import ISSUER, OTHER, POLICE, Harness
from tests.webhook_receiver import Receiver


@pytest.fixture(scope="module")
async def harness(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    url = await create_database(postgres, "divert_gateway")
    settings = GatewaySettings(
        database_url=url,
        issuer=ISSUER,
        signing_key_file=tmp_path_factory.mktemp("keys") / "k.jwk.json",
        webhook_allow_private_targets=True,
    )
    clock = FixedClock(datetime.now(UTC))
    app = create(settings, clock=clock)  # no NATS: the app runs no delivery of its own
    async with running(app) as http:
        await clients.register(app.state.engine, [POLICE, OTHER])
        h = Harness(app, http, clock)
        yield h
        await h.dispatcher.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


async def test_the_scheduled_command_delivers_and_retries_when_due(harness: Harness, receiver: Receiver) -> None:
    answers = iter([503])
    receiver.answer = lambda body: next(answers, 204)
    await harness.endpoint(receiver)
    [event_id] = await harness.publish()
    ticks = TicksByHand()
    task = asyncio.create_task(
        schedule.scheduler(harness.app.state.engine, harness.dispatcher, sleep=ticks.sleep).run()
    )
    try:
        await ticks.next(task)  # the first attempt: refused
        assert receiver.requests == 1 and receiver.ids() == []
        await ticks.next(task)  # the retry is not due yet on the clock
        assert receiver.requests == 1
        harness.clock.advance(RETRY_SCHEDULE[1])
        await ticks.next(task)  # due: retried, and delivered
        assert receiver.ids() == [event_id]
        await ticks.next(task)  # delivered once
        assert receiver.requests == 2
        assert ticks.intervals[0] == schedule.DISPATCH_EVERY_SECONDS
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
