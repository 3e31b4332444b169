"""The audit service on real PostgreSQL and NATS: every event enters the chain once, even when replayed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import httpx
import nats
import nats.js.errors
import pytest

from audit.bootstrap import create
from audit.config import AuditSettings
from divert_contracts.consent import AccessDecided
from divert_contracts.prosecution import ChargeHeld
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database, eventually, publish_as, running, service_settings
from divert_kernel import bus

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
async def service(
    postgres: PostgresServer, module_nats: NatsServer, jwks_file: Path
) -> AsyncIterator[httpx.AsyncClient]:
    url = await create_database(postgres, "audit")
    settings = AuditSettings(**service_settings(database_url=url, nats_url=module_nats.url, jwks_file=jwks_file))
    async with running(create(settings)) as client:
        yield client


async def verification(service: httpx.AsyncClient, auth: dict[str, str]) -> dict:
    reply = await service.get("/v1/audit/verification", headers=auth)
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


class TestTheChain:
    async def test_events_from_every_service_enter_once_even_when_redelivered(
        self, service: httpx.AsyncClient, module_nats: NatsServer, tokens_for: Callable
    ) -> None:
        auditor = tokens_for("auditor")
        nc = await nats.connect(module_nats.url)
        try:
            await publish_as(
                nc,
                "prosecution",
                ChargeHeld(
                    referral_id=str(uuid4()),
                    participant_id=str(uuid4()),
                    offense_codes=["35A"],
                    intake_deadline=NOW.date(),
                    held_at=NOW,
                ),
            )
            await publish_as(
                nc,
                "consent",
                AccessDecided(
                    decision_id=str(uuid4()),
                    participant_id=str(uuid4()),
                    requester_agency="kc-prosecutor",
                    requester_agency_type="prosecutor",
                    category="assessment",
                    purpose="diversion_monitoring",
                    decision="deny",
                    basis_kind="none",
                    basis_id=None,
                    decided_at=NOW,
                ),
            )

            async def two_entries() -> bool:
                return (await verification(service, auditor))["entries"] == 2

            await eventually(two_entries)
            # Make JetStream deliver everything again, as after lost acks: the chain must not grow.
            js = nc.jetstream()
            for source in ("prosecution", "consent"):
                await js.delete_consumer(bus.stream_name(source), f"audit-from-{source}")

            async def redelivered() -> bool:
                for source in ("prosecution", "consent"):
                    try:
                        info = await js.consumer_info(bus.stream_name(source), f"audit-from-{source}")
                    except nats.js.errors.NotFoundError:
                        return False
                    if info.num_pending or info.num_ack_pending or not info.delivered.stream_seq:
                        return False
                return True

            await eventually(redelivered, timeout=60)
        finally:
            await nc.close()
        report = await verification(service, auditor)
        assert report["valid"] and report["entries"] == 2

    async def test_only_auditors_read_the_verification(self, service: httpx.AsyncClient, tokens_for: Callable) -> None:
        reply = await service.get("/v1/audit/verification", headers=tokens_for("prosecutor"))
        assert reply.status_code == 403
