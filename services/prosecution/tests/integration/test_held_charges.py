"""The prosecution service on real PostgreSQL and NATS, with the clock in the test's hand."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import httpx
import nats
import pytest

from divert_contracts.casemgmt import IntakeCompleted
from divert_contracts.referral import DiversionOffered
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database, eventually, publish_as, running, service_settings
from divert_kernel.clock import FixedClock
from prosecution.bootstrap import create
from prosecution.config import ProsecutionSettings

OFFERED_AT = datetime(2026, 11, 1, 9, tzinfo=UTC)
DEADLINE = date(2026, 12, 1)


def offer(referral_id: str, participant_id: str, referral_type: str = "arrest_diversion") -> DiversionOffered:
    return DiversionOffered(
        referral_id=referral_id,
        participant_id=participant_id,
        referral_type=referral_type,
        referring_agency="seattle-pd",
        officer_badge="B-1",
        policy_version=0,
        race="white",
        ethnicity="not_hispanic_or_latino",
        gender="male",
        age_band="35-44",
        offense_codes=["35A"],
        intake_window_days=30,
        intake_deadline=DEADLINE,
        offered_at=OFFERED_AT,
    )


@pytest.fixture(scope="module")
def clock() -> FixedClock:
    return FixedClock(OFFERED_AT)


@pytest.fixture(scope="module")
async def service(
    postgres: PostgresServer, module_nats: NatsServer, jwks_file: Path, clock: FixedClock
) -> AsyncIterator[httpx.AsyncClient]:
    url = await create_database(postgres, "prosecution")
    settings = ProsecutionSettings(**service_settings(database_url=url, nats_url=module_nats.url, jwks_file=jwks_file))
    async with running(create(settings, clock)) as client:
        yield client


@pytest.fixture(scope="module")
async def bus(module_nats: NatsServer) -> AsyncIterator[nats.NATS]:
    nc = await nats.connect(module_nats.url)
    yield nc
    await nc.close()


async def held_charge(service: httpx.AsyncClient, auth: dict[str, str], referral_id: str) -> dict:
    async def probe() -> dict | None:
        reply = await service.get(f"/v1/held-charges/{referral_id}", headers=auth)
        return reply.json() if reply.status_code == 200 else None

    return await eventually(probe)  # type: ignore[no-any-return]


class TestTheIntakeWindow:
    async def test_filing_waits_for_the_deadline_to_lapse(
        self, service: httpx.AsyncClient, bus: nats.NATS, clock: FixedClock, tokens_for: Callable
    ) -> None:
        prosecutor = tokens_for("prosecutor")
        referral_id = str(uuid4())
        await publish_as(bus, "referral", offer(referral_id, str(uuid4())))
        charge = await held_charge(service, prosecutor, referral_id)
        assert charge["status"] == "held" and charge["intake_deadline"] == "2026-12-01"

        clock.at = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
        early = await service.post(
            f"/v1/held-charges/{referral_id}/filing", json={"meets_filing_standards": True}, headers=prosecutor
        )
        assert early.status_code == 409
        assert early.headers["content-type"] == "application/problem+json"

        clock.advance(timedelta(minutes=2))
        lapsed = await service.post(
            f"/v1/held-charges/{referral_id}/filing", json={"meets_filing_standards": True}, headers=prosecutor
        )
        assert lapsed.status_code == 200, lapsed.text
        assert (await held_charge(service, prosecutor, referral_id))["status"] == "filed"


class TestNonCoercion:
    async def test_a_charge_closed_by_intake_is_never_filed(
        self, service: httpx.AsyncClient, bus: nats.NATS, clock: FixedClock, tokens_for: Callable
    ) -> None:
        prosecutor = tokens_for("prosecutor")
        referral_id, participant_id = str(uuid4()), str(uuid4())
        await publish_as(bus, "referral", offer(referral_id, participant_id))
        await held_charge(service, prosecutor, referral_id)
        await publish_as(
            bus,
            "casemgmt",
            IntakeCompleted(
                participant_id=participant_id, referral_ids=[referral_id], completed_at=OFFERED_AT + timedelta(days=3)
            ),
        )

        async def closed() -> bool:
            return (await held_charge(service, prosecutor, referral_id))["status"] == "closed_by_intake"

        await eventually(closed)
        clock.at = datetime(2027, 6, 1, tzinfo=UTC)  # long after the deadline: still never
        refused = await service.post(
            f"/v1/held-charges/{referral_id}/filing", json={"meets_filing_standards": True}, headers=prosecutor
        )
        assert refused.status_code == 409
        assert "never be filed" in refused.json()["detail"]

    async def test_intake_before_the_offer_arrives_still_closes_the_charge(
        self, service: httpx.AsyncClient, bus: nats.NATS, tokens_for: Callable
    ) -> None:
        prosecutor = tokens_for("prosecutor")
        referral_id, participant_id = str(uuid4()), str(uuid4())
        await publish_as(
            bus,
            "casemgmt",
            IntakeCompleted(participant_id=participant_id, referral_ids=[referral_id], completed_at=OFFERED_AT),
        )
        await publish_as(bus, "referral", offer(referral_id, participant_id))

        async def closed() -> bool:
            reply = await service.get(f"/v1/held-charges/{referral_id}", headers=prosecutor)
            return reply.status_code == 200 and reply.json()["status"] == "closed_by_intake"

        await eventually(closed)

    async def test_a_social_contact_referral_holds_no_charge(
        self, service: httpx.AsyncClient, bus: nats.NATS, tokens_for: Callable
    ) -> None:
        prosecutor = tokens_for("prosecutor")
        social, arrest = str(uuid4()), str(uuid4())
        await publish_as(bus, "referral", offer(social, str(uuid4()), referral_type="social_contact"))
        await publish_as(bus, "referral", offer(arrest, str(uuid4())))
        await held_charge(service, prosecutor, arrest)  # consumed in order: the social one came first
        assert (await service.get(f"/v1/held-charges/{social}", headers=prosecutor)).status_code == 404


class TestAccess:
    async def test_only_the_prosecutor_reads_held_charges(
        self, service: httpx.AsyncClient, tokens_for: Callable
    ) -> None:
        reply = await service.get(f"/v1/held-charges/{uuid4()}", headers=tokens_for("police"))
        assert reply.status_code == 403

    async def test_a_request_without_a_token_is_refused(self, service: httpx.AsyncClient) -> None:
        assert (await service.get(f"/v1/held-charges/{uuid4()}")).status_code == 401

    async def test_a_token_signed_by_another_key_is_refused(self, service: httpx.AsyncClient) -> None:
        from divert_devstack import tokens

        forged = tokens.mint(
            tokens.new_signing_key(), agency="x", agency_type="prosecutor", jurisdictions=["seattle-king-county"]
        )
        reply = await service.get(f"/v1/held-charges/{uuid4()}", headers={"Authorization": f"Bearer {forged}"})
        assert reply.status_code == 401
