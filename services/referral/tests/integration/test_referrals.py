"""The referral service on real PostgreSQL and NATS."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats
import pytest

from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database, running, service_settings
from divert_kernel.clock import FixedClock
from referral.bootstrap import create
from referral.config import ReferralSettings

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def body(rms_person_id: str, referral_type: str = "arrest_diversion") -> dict:
    return {
        "jurisdiction": "seattle-king-county",
        "referral_type": referral_type,
        "person": {
            "first_name": "Sam",
            "last_name": "Roe",
            "date_of_birth": "1985-02-03",
            "race": "asian",
            "ethnicity": "not_hispanic_or_latino",
            "gender": "female",
            "rms_person_id": rms_person_id,
        },
        "incident": {
            "rms_incident_number": "I-9",
            "offense_codes": ["35A"],
            "occurred_at": "2026-11-23T01:00:00Z",
            "location": "Pike St",
        },
        "officer": {"badge_number": "B-7", "name": "Officer Seven"},
    }


@pytest.fixture(scope="module")
async def service(
    postgres: PostgresServer, module_nats: NatsServer, jwks_file: Path
) -> AsyncIterator[httpx.AsyncClient]:
    url = await create_database(postgres, "referral")
    settings = ReferralSettings(
        **service_settings(database_url=url, nats_url=module_nats.url, jwks_file=jwks_file),
        default_intake_window_days=7,
    )
    async with running(create(settings, FixedClock(NOW))) as client:
        yield client


class TestReferrals:
    async def test_an_arrest_diversion_gets_the_sites_deadline_and_is_published(
        self, service: httpx.AsyncClient, module_nats: NatsServer, tokens_for: Callable
    ) -> None:
        nc = await nats.connect(module_nats.url)
        try:
            created = await service.post("/v1/referrals", json=body("RMS-1"), headers=tokens_for("police"))
            assert created.status_code == 201, created.text
            assert created.json()["intake_deadline"] == "2026-11-30"  # a Santa Fe-style 7-day window
            sub = await nc.jetstream().subscribe("lead.*.referral.DiversionOffered", ordered_consumer=True)
            envelope = json.loads((await sub.next_msg(timeout=10)).data)
            assert envelope["data"]["referral_id"] == created.json()["referral_id"]
            assert envelope["actoragency"] == "demo-police"
        finally:
            await nc.close()

    async def test_the_same_rms_person_is_the_same_participant(
        self, service: httpx.AsyncClient, tokens_for: Callable
    ) -> None:
        police = tokens_for("police")
        first = (await service.post("/v1/referrals", json=body("RMS-2"), headers=police)).json()
        second = (await service.post("/v1/referrals", json=body("RMS-2"), headers=police)).json()
        assert first["participant_id"] == second["participant_id"]
        assert first["referral_id"] != second["referral_id"]

    async def test_a_social_contact_referral_has_no_intake_clock(
        self, service: httpx.AsyncClient, tokens_for: Callable
    ) -> None:
        created = await service.post(
            "/v1/referrals", json=body("RMS-3", "social_contact"), headers=tokens_for("police")
        )
        assert created.status_code == 201
        assert created.json()["intake_deadline"] is None

    async def test_the_referring_agency_reads_its_referral(
        self, service: httpx.AsyncClient, tokens_for: Callable
    ) -> None:
        police = tokens_for("police")
        created = (await service.post("/v1/referrals", json=body("RMS-4"), headers=police)).json()
        read = await service.get(f"/v1/referrals/{created['referral_id']}", headers=police)
        assert read.status_code == 200
        assert read.json()["participant_id"] == created["participant_id"]

    async def test_another_agency_is_refused_when_consent_cannot_answer(
        self, service: httpx.AsyncClient, tokens_for: Callable
    ) -> None:
        created = (await service.post("/v1/referrals", json=body("RMS-5"), headers=tokens_for("police"))).json()
        read = await service.get(f"/v1/referrals/{created['referral_id']}", headers=tokens_for("prosecutor"))
        assert read.status_code == 503  # fail closed: never served without a decision

    async def test_a_token_for_another_jurisdiction_is_refused(
        self, service: httpx.AsyncClient, tokens_for: Callable
    ) -> None:
        reply = await service.post(
            "/v1/referrals", json=body("RMS-6"), headers=tokens_for("police", jurisdictions=["santa-fe"])
        )
        assert reply.status_code == 403
        assert reply.json()["field"] == "jurisdiction"


class TestThePersonIndex:
    def named(self, rms: str, first: str, last: str, born: str) -> dict:
        b = body(rms)
        b["person"] |= {"first_name": first, "last_name": last, "date_of_birth": born}
        return b

    async def test_the_same_name_and_birth_date_is_the_same_participant(
        self, service: httpx.AsyncClient, tokens_for: Callable
    ) -> None:
        police = tokens_for("police")
        first = (
            await service.post("/v1/referrals", json=self.named("RMS-A1", "Jo", "Rivera", "1979-05-06"), headers=police)
        ).json()
        again = (
            await service.post("/v1/referrals", json=self.named("RMS-A2", "jo", "RIVERA", "1979-05-06"), headers=police)
        ).json()
        assert again["participant_id"] == first["participant_id"]
        third = (
            await service.post("/v1/referrals", json=self.named("RMS-A2", "Jo", "Rivera", "1979-05-06"), headers=police)
        ).json()
        assert third["participant_id"] == first["participant_id"]  # the second RMS id is now known


class TestSitePolicy:
    async def test_a_policy_amendment_is_a_new_version_and_referrals_record_theirs(
        self, service: httpx.AsyncClient, tokens_for: Callable
    ) -> None:
        pm, police = tokens_for("project_manager"), tokens_for("police")
        preset = (await service.get("/v1/eligibility-presets", headers=pm)).json()["santa-fe-7-day"]
        preset.pop("description")
        first = await service.put("/v1/jurisdictions/seattle-king-county/eligibility-policy", json=preset, headers=pm)
        assert first.status_code == 200, first.text
        version = first.json()["policy_version"]
        created = (await service.post("/v1/referrals", json=body("RMS-POL-1"), headers=police)).json()
        assert created["policy_version"] == version and created["intake_deadline"] == "2026-11-30"
        preset["intake_window_days"] = 30
        second = await service.put("/v1/jurisdictions/seattle-king-county/eligibility-policy", json=preset, headers=pm)
        assert second.json()["policy_version"] == version + 1
        old = await service.get(
            "/v1/jurisdictions/seattle-king-county/eligibility-policy", params={"version": str(version)}, headers=police
        )
        assert old.json()["intake_window_days"] == 7  # amending never rewrites history
        refused = await service.post(
            "/v1/referrals",
            json=body("RMS-POL-2") | {"incident": body("x")["incident"] | {"offense_codes": ["13A"]}},
            headers=police,
        )
        assert refused.status_code == 422 and "13A is not divertible" in refused.json()["detail"]

    async def test_only_the_project_manager_sets_policy(self, service: httpx.AsyncClient, tokens_for: Callable) -> None:
        valid = {
            "divertible_offenses": [{"code": "35A", "statute": "RCW 69.50.4013", "description": "Possession"}],
            "exclusions": [],
            "intake_window_days": 30,
            "social_contact_referrers": ["police"],
        }
        reply = await service.put(
            "/v1/jurisdictions/seattle-king-county/eligibility-policy", headers=tokens_for("police"), json=valid
        )
        assert reply.status_code == 403
