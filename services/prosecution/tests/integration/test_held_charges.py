"""Held charges on real PostgreSQL and NATS: the intake window, lapse, and non-coercion."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import nats
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from divert_contracts.casemgmt import IntakeCompleted
from divert_devstack.testing import eventually, publish_as
from divert_kernel.clock import FixedClock
from divert_kernel.db import make_engine
from divert_kernel.errors import ConcurrencyError
from prosecution.service_layer.handlers import Handlers

OFFERED_AT = datetime(2026, 11, 1, 9, tzinfo=UTC)


async def held_charge(service: httpx.AsyncClient, auth: dict[str, str], referral_id: str) -> dict:
    async def probe() -> dict | None:
        reply = await service.get(f"/v1/held-charges/{referral_id}", headers=auth)
        return reply.json() if reply.status_code == 200 else None

    return await eventually(probe)  # type: ignore[no-any-return]


class TestTheIntakeWindow:
    async def test_filing_waits_for_the_lapse_which_is_recorded_once(
        self,
        offer: Callable,
        lapse: Callable,
        service: httpx.AsyncClient,
        app: FastAPI,
        bus: nats.NATS,
        clock: FixedClock,
        tokens_for: Callable,
    ) -> None:
        prosecutor = tokens_for("prosecutor", agency="kc-prosecutor")
        referral_id = str(uuid4())
        await publish_as(bus, "referral", offer(referral_id, str(uuid4())))
        charge = await held_charge(service, prosecutor, referral_id)
        assert charge["status"] == "held" and charge["intake_deadline"] == "2026-12-01"
        assert charge["charging_reference"] == "2026-000777"

        # 07:59 UTC on 12-02 is 23:59 on the deadline day in Seattle: the window is still open.
        clock.at = datetime(2026, 12, 2, 7, 59, tzinfo=UTC)
        assert await lapse(app) == 0
        early = await service.post(
            f"/v1/held-charges/{referral_id}/filing", json={"meets_filing_standards": True}, headers=prosecutor
        )
        assert early.status_code == 409
        assert early.headers["content-type"] == "application/problem+json"
        assert "2026-12-01" in early.json()["detail"]

        clock.advance(timedelta(minutes=2))  # 00:01 local: lapsed
        assert await lapse(app) >= 1
        assert (await held_charge(service, prosecutor, referral_id))["status"] == "lapsed"
        lapsed = await service.post(
            f"/v1/held-charges/{referral_id}/filing", json={"meets_filing_standards": True}, headers=prosecutor
        )
        assert lapsed.status_code == 200, lapsed.text
        assert (await held_charge(service, prosecutor, referral_id))["status"] == "filed"

    async def test_two_scheduler_replicas_lapse_each_charge_exactly_once(
        self,
        offer: Callable,
        lapse: Callable,
        service: httpx.AsyncClient,
        app: FastAPI,
        bus: nats.NATS,
        clock: FixedClock,
        tokens_for: Callable,
        database: str,
    ) -> None:
        prosecutor = tokens_for("prosecutor", agency="kc-prosecutor")
        clock.at = OFFERED_AT
        referral_ids = [str(uuid4()) for _ in range(20)]
        for referral_id in referral_ids:
            await publish_as(bus, "referral", offer(referral_id, str(uuid4())))
        for referral_id in referral_ids:
            await held_charge(service, prosecutor, referral_id)
        clock.at = datetime(2026, 12, 5, tzinfo=UTC)
        replica = Handlers(clock)  # a second instance of the scheduler, on the same database
        results = await asyncio.gather(
            lapse(app), lapse(app, replica), lapse(app), lapse(app, replica), return_exceptions=True
        )
        assert all(not isinstance(r, BaseException) or isinstance(r, ConcurrencyError) for r in results), results
        engine = make_engine(database)
        try:
            async with engine.connect() as conn:
                counts = (
                    await conn.execute(
                        sa.text(
                            "SELECT stream_id, count(*) FROM events WHERE type = 'IntakeDeadlineLapsed' "
                            "AND data->>'referral_id' = ANY(:ids) GROUP BY stream_id"
                        ),
                        {"ids": referral_ids},
                    )
                ).all()
        finally:
            await engine.dispose()
        assert len(counts) == 20 and all(n == 1 for _, n in counts)


class TestNonCoercion:
    async def test_a_charge_closed_by_intake_is_never_filed(
        self,
        offer: Callable,
        lapse: Callable,
        service: httpx.AsyncClient,
        bus: nats.NATS,
        clock: FixedClock,
        tokens_for: Callable,
    ) -> None:
        prosecutor = tokens_for("prosecutor", agency="kc-prosecutor")
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
        self, offer: Callable, lapse: Callable, service: httpx.AsyncClient, bus: nats.NATS, tokens_for: Callable
    ) -> None:
        prosecutor = tokens_for("prosecutor", agency="kc-prosecutor")
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
        self, offer: Callable, lapse: Callable, service: httpx.AsyncClient, bus: nats.NATS, tokens_for: Callable
    ) -> None:
        prosecutor = tokens_for("prosecutor", agency="kc-prosecutor")
        social, arrest = str(uuid4()), str(uuid4())
        await publish_as(bus, "referral", offer(social, str(uuid4()), referral_type="social_contact"))
        await publish_as(bus, "referral", offer(arrest, str(uuid4())))
        await held_charge(service, prosecutor, arrest)  # consumed in order: the social one came first
        assert (await service.get(f"/v1/held-charges/{social}", headers=prosecutor)).status_code == 404


class TestAccess:
    async def test_only_the_prosecutor_reads_held_charges(
        self, offer: Callable, lapse: Callable, service: httpx.AsyncClient, tokens_for: Callable
    ) -> None:
        reply = await service.get(f"/v1/held-charges/{uuid4()}", headers=tokens_for("police"))
        assert reply.status_code == 403

    async def test_a_request_without_a_token_is_refused(
        self, offer: Callable, lapse: Callable, service: httpx.AsyncClient
    ) -> None:
        assert (await service.get(f"/v1/held-charges/{uuid4()}")).status_code == 401

    async def test_a_token_signed_by_another_key_is_refused(
        self, offer: Callable, lapse: Callable, service: httpx.AsyncClient
    ) -> None:
        from divert_devstack import tokens

        forged = tokens.mint(
            tokens.new_signing_key(), agency="x", agency_type="prosecutor", jurisdictions=["seattle-king-county"]
        )
        reply = await service.get(f"/v1/held-charges/{uuid4()}", headers={"Authorization": f"Bearer {forged}"})
        assert reply.status_code == 401


class TestBadInput:
    @pytest.mark.parametrize("body", [{}, {"meets_filing_standards": False}, {"meets_filing_standards": "yes"}])
    async def test_a_filing_without_the_attestation_is_refused_and_changes_nothing(
        self, service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, tokens_for: Callable, body: dict
    ) -> None:
        prosecutor = tokens_for("prosecutor", agency="kc-prosecutor")
        referral_id = str(uuid4())
        await publish_as(bus, "referral", offer(referral_id, str(uuid4())))
        await held_charge(service, prosecutor, referral_id)
        reply = await service.post(f"/v1/held-charges/{referral_id}/filing", json=body, headers=prosecutor)
        assert reply.status_code == 422 and reply.json()["field"] == "meets_filing_standards"
        assert (await held_charge(service, prosecutor, referral_id))["status"] == "held"

    async def test_an_unknown_held_charge_is_404(self, service: httpx.AsyncClient, tokens_for: Callable) -> None:
        reply = await service.post(
            f"/v1/held-charges/{uuid4()}/non-filing", headers=tokens_for("prosecutor", agency="kc-prosecutor")
        )
        assert reply.status_code == 404 and reply.json()["field"] == "referral_id"
