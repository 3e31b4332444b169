"""The evaluation service on real PostgreSQL and NATS, fed a known month of events as the other services publish them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import nats
import pytest
from fastapi import FastAPI

from divert_contracts.casemgmt import IntakeCompleted
from divert_contracts.referral import ContactScreened, DiversionAccepted, EligibleContactNotDiverted
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import (
    create_database,
    diversion_offered,
    eventually,
    publish_as,
    running,
    service_settings,
)
from divert_kernel.clock import FixedClock
from evaluation.bootstrap import create
from evaluation.config import EvaluationSettings

OCT = datetime(2026, 10, 6, 17, tzinfo=UTC)
J = "seattle-king-county"


@pytest.fixture(scope="module")
async def database(postgres: PostgresServer) -> str:
    return await create_database(postgres, "evaluation")


@pytest.fixture(scope="module")
def app(database: str, module_nats: NatsServer, jwks_file: Path, sites_file: Path) -> FastAPI:
    common = service_settings(database_url=database, nats_url=module_nats.url, jwks_file=jwks_file)
    return create(
        EvaluationSettings(**common, sites_file=str(sites_file)), FixedClock(datetime(2027, 2, 1, tzinfo=UTC))
    )


@pytest.fixture(scope="module")
async def service(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        yield client


@pytest.fixture(scope="module")
async def seeded(service: httpx.AsyncClient, module_nats: NatsServer, database: str) -> int:
    """Fifteen white and twelve black diversions accepted, the white ones enrolled; three screenings, one
    discretion record (primary-suppressed); published as the referral and case-management services would."""
    nc = await nats.connect(module_nats.url)
    sent = 0
    for i in range(27):
        race = "white" if i < 15 else "black"
        rid, pid = f"00000000-0000-4000-8000-{i:012d}", f"00000000-0000-4000-9000-{i:012d}"
        offer = diversion_offered(rid, pid, race=race, offered_at=OCT, intake_deadline=date(2026, 11, 5))
        await publish_as(nc, "referral", offer, jurisdiction=J)
        await publish_as(
            nc, "referral", DiversionAccepted(referral_id=rid, participant_id=pid, accepted_at=OCT), jurisdiction=J
        )
        sent += 2
        if race == "white":
            intake = IntakeCompleted(participant_id=pid, referral_ids=[rid], completed_at=OCT + timedelta(days=4))
            await publish_as(nc, "casemgmt", intake, jurisdiction=J)
            sent += 1
    for i in range(3):
        screened = ContactScreened(
            screening_id=f"s{i}",
            referral_type="arrest_diversion",
            offense_codes=["35A"],
            exclusions_present=[],
            eligible=True,
            reasons=[],
            policy_version=1,
            screened_at=OCT,
            race="asian",
        )
        await publish_as(nc, "referral", screened, jurisdiction=J)
        sent += 1
    record = EligibleContactNotDiverted(
        record_id="d1",
        offense_codes=["35A"],
        reason="officer_judgment",
        officer_badge="B-9",
        race="black",
        ethnicity="unknown",
        gender="male",
        age_band="25-34",
        recorded_at=OCT,
    )
    await publish_as(nc, "referral", record, jurisdiction=J)
    sent += 1
    await nc.close()

    async def stored() -> bool:
        conn = await asyncpg.connect(database.replace("+asyncpg", ""))
        try:
            return await conn.fetchval("SELECT count(*) FROM evaluation_facts") == sent
        finally:
            await conn.close()

    await eventually(stored, timeout=30)
    return sent
