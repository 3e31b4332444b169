"""Issue 10, referral side, on real PostgreSQL and NATS with the real consent service deciding: where a denied
social contact went, community referrers, site settings, linked participants, and the daily views."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import nats
import pytest

from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database, eventually, running, service_settings
from divert_kernel.clock import FixedClock
from referral.bootstrap import create
from referral.config import ReferralSettings

# 19:00 on 23 November in Seattle, already the 24th in UTC: deadlines must be Seattle's dates.
NOW = datetime(2026, 11, 24, 3, tzinfo=UTC)
SEA = "seattle-king-county"
HANDOFF = {"case_manager_id": "cm-7", "location": "Day center", "at": "2026-11-23T20:00:00Z"}
KING_COUNTY = json.loads((Path(__file__).parents[2] / "referral" / "presets" / "king-county-30-day.json").read_text())
POLICY = {k: v for k, v in KING_COUNTY.items() if k != "description"} | {
    "social_contact_referrers": ["police", "downtown-community"],
    "caseload_cap": 20,
    "owg_lookback_days": 7,
}


@pytest.fixture(scope="module")
async def service(
    postgres: PostgresServer, module_nats: NatsServer, jwks_file: Path, consent_url: str, sites_file: Path
) -> AsyncIterator[httpx.AsyncClient]:
    url = await create_database(postgres, "referral")
    settings = ReferralSettings(
        **service_settings(database_url=url, nats_url=module_nats.url, jwks_file=jwks_file, consent_url=consent_url),
        sites_file=str(sites_file),
    )
    async with running(create(settings, FixedClock(NOW))) as client:
        yield client


@pytest.fixture(scope="module")
def agency(tokens_for: Callable) -> Callable[..., dict[str, str]]:
    def make(agency_id: str, agency_type: str) -> dict[str, str]:
        return tokens_for(agency_type, agency=agency_id, jurisdictions=[SEA])  # type: ignore[no-any-return]

    return make


@pytest.fixture(scope="module")
async def policy(service: httpx.AsyncClient, agency: Callable) -> dict[str, Any]:
    """The site's policy: the King County preset, one named community referrer, two settings of its own."""
    put = await service.put(
        f"/v1/jurisdictions/{SEA}/eligibility-policy",
        json=POLICY,
        headers=agency("lead-project-manager", "project_manager"),
    )
    assert put.status_code == 200, put.text
    return put.json()  # type: ignore[no-any-return]


def person(last_name: str, first_name: str = "Robin", rms: str | None = "new") -> dict[str, Any]:
    found = {
        "first_name": first_name,
        "last_name": last_name,
        "date_of_birth": "1984-03-02",
        "race": "black",
        "ethnicity": "not_hispanic_or_latino",
        "gender": "female",
    }
    return found | ({"rms_person_id": f"RMS-{uuid4().hex[:10]}" if rms == "new" else rms} if rms else {})


def police_body(who: dict[str, Any], referral_type: str = "arrest_diversion") -> dict[str, Any]:
    return {
        "jurisdiction": SEA,
        "referral_type": referral_type,
        "person": who,
        "incident": {
            "rms_incident_number": "I-10",
            "offense_codes": ["35A"],
            "occurred_at": "2026-11-23T18:00:00Z",
            "location": "Pine St",
        },
        "officer": {"badge_number": "B-10", "name": "Officer Ten"},
    }


def community_body(who: dict[str, Any]) -> dict[str, Any]:
    return {
        "jurisdiction": SEA,
        "referral_type": "social_contact",
        "person": who,
        "incident": {"offense_codes": ["35A"], "occurred_at": "2026-11-23T18:00:00Z", "location": "Day center"},
        "officer": {"name": "Outreach worker"},
    }


async def post_ok(service: httpx.AsyncClient, path: str, body: Any, auth: dict[str, str]) -> dict[str, Any]:
    reply = await service.post(path, json=body, headers=auth)
    assert reply.status_code in (200, 201), reply.text
    return reply.json()  # type: ignore[no-any-return]


async def next_event(sub: Any, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        data = json.loads((await sub.next_msg(timeout=10)).data)["data"]
        return data if match(data) else {}

    return await eventually(probe)  # type: ignore[no-any-return]


class TestAnOwgDenialSaysWhereThePersonWent:
    async def test_a_denial_needs_referred_to_and_publishes_it_but_not_the_reason(
        self, service: httpx.AsyncClient, module_nats: NatsServer, agency: Callable, policy: dict
    ) -> None:
        police, pm = agency("seattle-pd", "police"), agency("lead-project-manager", "project_manager")
        created = await post_ok(service, "/v1/referrals", police_body(person("Denny"), "social_contact"), police)
        path = f"/v1/referrals/{created['referral_id']}/owg-decision"
        denial = {"decision": "denied", "decided_by": "sgt-1", "reason": "Sleeping at the Mission shelter"}
        missing = await service.post(path, json=denial, headers=pm)
        assert missing.status_code == 422 and missing.json()["field"] == "referred_to", missing.text
        approval = {**denial, "decision": "approved", "referred_to": "shelter"}
        refused = await service.post(path, json=approval, headers=pm)
        assert refused.status_code == 422 and refused.json()["field"] == "referred_to"
        nc = await nats.connect(module_nats.url)
        try:
            sub = await nc.jetstream().subscribe("lead.*.referral.SocialContactReferralDenied", ordered_consumer=True)
            done = await post_ok(service, path, denial | {"referred_to": "shelter"}, pm)
            assert done["status"] == "denied"  # the refusals changed nothing
            event = await next_event(sub, lambda d: d["referral_id"] == created["referral_id"])
            assert event["referred_to"] == "shelter"
            assert "Mission" not in json.dumps(event)
        finally:
            await nc.close()


class TestCommunityReferrers:
    async def test_a_community_referral_has_no_police_fields_and_its_event_no_badge(
        self, service: httpx.AsyncClient, module_nats: NatsServer, agency: Callable, policy: dict
    ) -> None:
        community = agency("downtown-community", "community")
        nc = await nats.connect(module_nats.url)
        try:
            sub = await nc.jetstream().subscribe(
                "lead.*.referral.SocialContactReferralSubmitted", ordered_consumer=True
            )
            created = await post_ok(service, "/v1/referrals", community_body(person("Cole", rms=None)), community)
            event = await next_event(sub, lambda d: d["referral_id"] == created["referral_id"])
        finally:
            await nc.close()
        assert event["officer_badge"] is None and "rms" not in json.dumps(event).lower()
        read = (await service.get(f"/v1/referrals/{created['referral_id']}", headers=community)).json()
        assert "rms_person_id" not in read["person"] and "rms_incident_number" not in read

    @pytest.mark.parametrize(
        ("field", "extra"),
        [
            ("person.rms_person_id", lambda b: b["person"].update(rms_person_id="P-9")),
            ("incident.rms_incident_number", lambda b: b["incident"].update(rms_incident_number="I-9")),
            ("officer.badge_number", lambda b: b["officer"].update(badge_number="B-9")),
        ],
    )
    async def test_a_police_field_from_a_community_referrer_is_refused_by_name(
        self, service: httpx.AsyncClient, agency: Callable, policy: dict, field: str, extra: Callable
    ) -> None:
        body = community_body(person("Cole", rms=None))
        extra(body)
        refused = await service.post("/v1/referrals", json=body, headers=agency("downtown-community", "community"))
        assert refused.status_code == 422 and refused.json()["field"] == field, refused.text

    async def test_a_police_referral_still_needs_its_rms_ids(
        self, service: httpx.AsyncClient, agency: Callable, policy: dict
    ) -> None:
        refused = await service.post(
            "/v1/referrals", json=police_body(person("Cole", rms=None)), headers=agency("seattle-pd", "police")
        )
        assert refused.status_code == 422 and refused.json()["field"] == "person.rms_person_id"

    async def test_social_contacts_are_screened_for_the_behaviour_not_the_exclusions(
        self, service: httpx.AsyncClient, agency: Callable, policy: dict
    ) -> None:
        police = agency("seattle-pd", "police")
        body = police_body(person("Hale"), "social_contact")
        body["incident"]["offense_codes"] = ["13A"]  # assault: not a behaviour King County diverts
        refused = await service.post("/v1/referrals", json=body, headers=police)
        assert refused.status_code == 422 and refused.json()["field"] == "incident.offense_codes"
        body["incident"]["offense_codes"], body["exclusions_present"] = ["35A"], ["sale_above_subsistence"]
        assert (await service.post("/v1/referrals", json=body, headers=police)).status_code == 201


class TestSiteSettings:
    async def test_the_policy_stores_and_publishes_its_settings(
        self, service: httpx.AsyncClient, module_nats: NatsServer, agency: Callable, policy: dict
    ) -> None:
        pm = agency("lead-project-manager", "project_manager")
        read = (await service.get(f"/v1/jurisdictions/{SEA}/eligibility-policy", headers=pm)).json()
        assert read["caseload_cap"] == 20 and read["caseload_preferred"] == 15  # set, and a default
        assert read["time_zone"] == "America/Los_Angeles" and read["owg_lookback_days"] == 7
        assert read["drug_quantity_threshold"] == KING_COUNTY["drug_quantity_threshold"]
        nc = await nats.connect(module_nats.url)
        try:
            sub = await nc.jetstream().subscribe("lead.*.referral.EligibilityPolicyAmended", ordered_consumer=True)
            event = await next_event(sub, lambda d: d["policy_version"] == policy["policy_version"])
        finally:
            await nc.close()
        assert (event["caseload_cap"], event["time_zone"], event["owg_lookback_days"]) == (
            20,
            "America/Los_Angeles",
            7,
        )

    async def test_a_bad_time_zone_is_refused_by_name_and_changes_nothing(
        self, service: httpx.AsyncClient, agency: Callable, policy: dict
    ) -> None:
        pm = agency("lead-project-manager", "project_manager")
        path = f"/v1/jurisdictions/{SEA}/eligibility-policy"
        refused = await service.put(path, json=POLICY | {"time_zone": "Pacific/Atlantis"}, headers=pm)
        assert refused.status_code == 422 and refused.json()["field"] == "time_zone"
        unknown = await service.put(path, json=POLICY | {"social_contact_referrers": ["nobody-here"]}, headers=pm)
        assert unknown.status_code == 422 and unknown.json()["field"] == "social_contact_referrers"
        assert (await service.get(path, headers=pm)).json()["policy_version"] == policy["policy_version"]

    async def test_the_intake_deadline_is_a_date_in_the_sites_time_zone(
        self, service: httpx.AsyncClient, agency: Callable, policy: dict
    ) -> None:
        created = await post_ok(service, "/v1/referrals", police_body(person("Date")), agency("seattle-pd", "police"))
        assert created["intake_deadline"] == "2026-12-23"  # 23 Nov in Seattle + 30 days (UTC would say 24 Dec)

    async def test_a_screening_shows_the_officer_the_drug_quantity_threshold(
        self, service: httpx.AsyncClient, agency: Callable, policy: dict
    ) -> None:
        body = {"jurisdiction": SEA, "referral_type": "arrest_diversion", "offense_codes": ["35A"]}
        screened = await post_ok(service, "/v1/screenings", body, agency("seattle-pd", "police"))
        assert screened["eligible"] and screened["drug_quantity_threshold"] == KING_COUNTY["drug_quantity_threshold"]
