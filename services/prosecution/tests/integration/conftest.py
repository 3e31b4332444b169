"""The prosecution service with its lifespan running, the clock in the test's hand, and a bus to publish on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import nats
import pytest
from fastapi import FastAPI

from divert_contracts.referral import DiversionOffered
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database, diversion_offered, running, service_settings
from divert_kernel.clock import FixedClock
from prosecution.bootstrap import create
from prosecution.config import ProsecutionSettings
from prosecution.service_layer.handlers import Handlers

OFFERED_AT = datetime(2026, 11, 1, 9, tzinfo=UTC)
DEADLINE = date(2026, 12, 1)


def make_offer(referral_id: str, participant_id: str, referral_type: str = "arrest_diversion") -> DiversionOffered:
    return diversion_offered(
        referral_id, participant_id, referral_type=referral_type, intake_deadline=DEADLINE, offered_at=OFFERED_AT
    )


@pytest.fixture(scope="module")
def clock() -> FixedClock:
    return FixedClock(OFFERED_AT)


@pytest.fixture(scope="module")
async def database(postgres: PostgresServer) -> str:
    return await create_database(postgres, "prosecution")


@pytest.fixture(scope="module")
def app(database: str, module_nats: NatsServer, jwks_file: Path, clock: FixedClock) -> FastAPI:
    # The periodic lapse job is parked; tests drive lapses with the clock in hand.
    settings = ProsecutionSettings(
        **service_settings(database_url=database, nats_url=module_nats.url, jwks_file=jwks_file),
        lapse_every_seconds=3600,
    )
    return create(settings, clock)


@pytest.fixture(scope="module")
async def service(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        yield client


async def run_lapse(app: FastAPI, handlers: Handlers | None = None) -> int:
    """Run one pass of the lapse job, as the periodic task does."""
    handlers = handlers or app.state.handlers
    async with app.state.bus.uow() as uow:
        lapsed = await handlers.lapse_due(uow)
        await uow.commit()
    return lapsed


@pytest.fixture(scope="module")
async def bus(module_nats: NatsServer) -> AsyncIterator[nats.NATS]:
    nc = await nats.connect(module_nats.url)
    yield nc
    await nc.close()


@pytest.fixture(scope="session")
def offer() -> Callable[..., DiversionOffered]:
    """A DiversionOffered as the referral service publishes it (deadline 2026-12-01)."""
    return make_offer


@pytest.fixture(scope="session")
def lapse() -> Callable[..., Awaitable[int]]:
    """One pass of the lapse job, as the periodic task runs it."""
    return run_lapse
