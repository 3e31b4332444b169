"""The consent service with its lifespan running, on a fresh database per test module, for the demo sites.

Relations reach the service as they do in production: the referral and prosecution services' contract events,
published on the module's own NATS and applied by the service's durable consumers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
import sqlalchemy as sa

from consent.bootstrap import create
from consent.config import ConsentSettings
from divert_contracts.prosecution import ChargeHeld
from divert_contracts.referral import DiversionOffered, WarmHandoffCompleted
from divert_devstack import demo_site
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database, eventually, publish_as, running, service_settings
from divert_kernel.db import make_engine

J = demo_site.SEATTLE


@pytest.fixture(scope="module")
async def database(postgres: PostgresServer) -> str:
    return await create_database(postgres, "consent")


@pytest.fixture(scope="module")
async def service(
    database: str, module_nats: NatsServer, jwks_file: Path, sites_file: Path
) -> AsyncIterator[httpx.AsyncClient]:
    base = service_settings(database_url=database, nats_url=module_nats.url, jwks_file=jwks_file)
    settings = ConsentSettings(**base, sites_file=str(sites_file))
    async with running(create(settings)) as client:
        yield client


class Relations:
    """Publishes the events that relate an agency to a participant, and waits until the service applied them."""

    def __init__(self, nats_url: str, database: str) -> None:
        self._nats_url = nats_url
        self._engine = make_engine(database)

    async def _publish(self, service: str, event: Any, jurisdiction: str) -> str:
        nc = await nats.connect(self._nats_url)
        try:
            return await publish_as(nc, service, event, jurisdiction=jurisdiction)
        finally:
            await nc.close()

    async def _count(self, sql: str, params: dict[str, Any]) -> int:
        async with self._engine.connect() as conn:
            return int(await conn.scalar(sa.text(sql), params) or 0)

    async def settled(self, event_id: str) -> None:
        """Wait until the service's consumer has applied (or skipped) an event."""
        sql = "SELECT count(*) FROM processed_events WHERE event_id = CAST(:e AS uuid)"
        await eventually(lambda: self._count(sql, {"e": event_id}))

    async def dead_lettered(self, event_id: str) -> None:
        sql = "SELECT count(*) FROM dead_letters WHERE event_id = :e"
        await eventually(
            lambda: self._count(sql, {"e": event_id}), timeout=90
        )  # the consumer retries for ~37 s before it dead-letters

    async def holds(self, participant_id: str, relation: str, agency: str, jurisdiction: str = J) -> bool:
        sql = (
            "SELECT count(*) FROM participant_relations WHERE participant_id = CAST(:p AS uuid) "
            "AND relation = :r AND agency = :a AND jurisdiction = :j"
        )
        return bool(await self._count(sql, {"p": participant_id, "r": relation, "a": agency, "j": jurisdiction}))

    async def hand_off(
        self,
        participant_id: str,
        agency: str | None,
        jurisdiction: str = J,
        at: datetime | None = None,
        wait: bool = True,
    ) -> str:
        """The referral service's WarmHandoffCompleted naming `agency` as the receiving provider."""
        event = WarmHandoffCompleted(
            referral_id=participant_id,
            participant_id=participant_id,
            case_manager_id="cm-1",
            completed_at=at or datetime.now(UTC),
            case_management_agency=agency,
        )
        event_id = await self._publish("referral", event, jurisdiction)
        if wait:
            await self.settled(event_id)
        return event_id

    async def refer(self, participant_id: str, jurisdiction: str = J) -> None:
        """The referral service's DiversionOffered: the person becomes a participant of the jurisdiction."""
        now = datetime.now(UTC)
        event = DiversionOffered(
            referral_id=participant_id,
            participant_id=participant_id,
            referral_type="arrest_diversion",
            referring_agency="seattle-pd",
            officer_badge="B-1",
            offense_codes=["35A"],
            policy_version=1,
            intake_window_days=30,
            intake_deadline=date(2026, 12, 31),
            offered_at=now,
            race="unknown",
            ethnicity="unknown",
            gender="unknown",
            age_band="unknown",
        )
        await self.settled(await self._publish("referral", event, jurisdiction))

    async def hold_charge(self, participant_id: str, agency: str, jurisdiction: str = J) -> None:
        """The prosecution service's ChargeHeld naming the office holding the charge."""
        event = ChargeHeld(
            referral_id=participant_id,
            participant_id=participant_id,
            offense_codes=["35A"],
            intake_deadline=date(2026, 12, 31),
            held_at=datetime.now(UTC),
            prosecutor_agency=agency,
        )
        await self.settled(await self._publish("prosecution", event, jurisdiction))

    async def close(self) -> None:
        await self._engine.dispose()


@pytest.fixture(scope="module")
async def relations(service: httpx.AsyncClient, module_nats: NatsServer, database: str) -> AsyncIterator[Relations]:
    related = Relations(module_nats.url, database)
    yield related
    await related.close()
