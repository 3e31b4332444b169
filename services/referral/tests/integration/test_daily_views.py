"""Issue 10, referral side: person matches resolve into one participant, and the views staff need every day
(an officer's field lookup, discretion records, a case manager's caseload), with the real consent service."""

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
from services.referral.tests.integration.conftest import referrals_reach_consent

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
SEA = "seattle-king-county"
HANDOFF = {
    "case_manager_id": "cm-7",
    "location": "Day center",
    "at": "2026-11-23T11:00:00Z",
    "case_management_agency": "lead-case-management",
}


@pytest.fixture(scope="module")
async def service(
    consent_database: str,
    postgres: PostgresServer,
    module_nats: NatsServer,
    jwks_file: Path,
    consent_url: str,
    sites_file: Path,
) -> AsyncIterator[httpx.AsyncClient]:
    url = await create_database(postgres, "referral")
    settings = ReferralSettings(
        **service_settings(database_url=url, nats_url=module_nats.url, jwks_file=jwks_file, consent_url=consent_url),
        sites_file=str(sites_file),
    )
    async with running(create(settings, FixedClock(NOW))) as client:
        client.event_hooks["response"].append(referrals_reach_consent(consent_database))
        yield client


@pytest.fixture(scope="module")
async def consent(consent_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=consent_url) as client:
        yield client


@pytest.fixture(scope="module")
def agency(tokens_for: Callable) -> Callable[..., dict[str, str]]:
    def make(agency_id: str, agency_type: str) -> dict[str, str]:
        return tokens_for(agency_type, agency=agency_id, jurisdictions=[SEA])  # type: ignore[no-any-return]

    return make


def body(last_name: str, first_name: str = "Robin", rms: str | None = None) -> dict[str, Any]:
    return {
        "jurisdiction": SEA,
        "referral_type": "arrest_diversion",
        "person": {
            "first_name": first_name,
            "last_name": last_name,
            "date_of_birth": "1984-03-02",
            "race": "black",
            "ethnicity": "not_hispanic_or_latino",
            "gender": "female",
            "rms_person_id": rms or f"RMS-{uuid4().hex[:10]}",
        },
        "incident": {
            "rms_incident_number": "I-12",
            "offense_codes": ["35A"],
            "occurred_at": "2026-11-23T01:00:00Z",
            "location": "Pine St",
        },
        "officer": {"badge_number": "B-12", "name": "Officer Twelve"},
    }


async def handed_off(service: httpx.AsyncClient, police: dict[str, str], **kw: Any) -> dict[str, Any]:
    created = await service.post("/v1/referrals", json=body(**kw), headers=police)
    assert created.status_code == 201, created.text
    path = f"/v1/referrals/{created.json()['referral_id']}"
    assert (await service.post(f"{path}/acceptance", headers=police)).status_code == 200
    done = await service.post(f"{path}/handoff", json=HANDOFF, headers=police)
    assert done.status_code == 200, done.text
    return created.json()  # type: ignore[no-any-return]


class TestPersonMatchesResolve:
    async def test_records_held_by_two_providers_are_never_linked(
        self, service: httpx.AsyncClient, agency: Callable
    ) -> None:
        """Found from outside: a link moved one provider's contact notes to the other, with no ROI."""
        pm = agency("lead-project-manager", "project_manager")
        first, second = ({"last_name": "Linkova", "first_name": "Marta"} for _ in range(2))
        mine = await service.post("/v1/referrals", json=body(**first), headers=agency("seattle-pd", "police"))
        theirs = await service.post("/v1/referrals", json=body(**second), headers=agency("kc-sheriff", "police"))
        for created, police, provider in (
            (mine.json(), agency("seattle-pd", "police"), "lead-case-management"),
            (theirs.json(), agency("kc-sheriff", "police"), "evergreen-cm"),
        ):
            path = f"/v1/referrals/{created['referral_id']}"
            assert (await service.post(f"{path}/acceptance", headers=police)).status_code == 200
            handoff = {**HANDOFF, "case_manager_id": "cm-link", "case_management_agency": provider}
            assert (await service.post(f"{path}/handoff", json=handoff, headers=police)).status_code == 200
        queue = (await service.get("/v1/person-matches", params={"jurisdiction": SEA}, headers=pm)).json()
        [review] = [r for r in queue if r["participant_id"] == theirs.json()["participant_id"]]
        resolution = f"/v1/person-matches/{review['review_id']}/resolution"
        refused = await service.post(resolution, json={"decision": "same_person"}, headers=pm)
        assert refused.status_code == 409 and refused.json()["field"] == "review_id"
        still_open = (await service.get("/v1/person-matches", params={"jurisdiction": SEA}, headers=pm)).json()
        assert review["review_id"] in {r["review_id"] for r in still_open}

    async def test_same_person_links_the_later_record_into_the_earlier_for_every_read(
        self, service: httpx.AsyncClient, module_nats: NatsServer, agency: Callable
    ) -> None:
        police, pm = agency("seattle-pd", "police"), agency("lead-project-manager", "project_manager")
        first = (await service.post("/v1/referrals", json=body("Okafor", "Ada"), headers=police)).json()
        second_body = body("Okafor", "Adaeze")  # same surname and birth date: a possible match, never a merge
        second = (await service.post("/v1/referrals", json=second_body, headers=police)).json()
        assert first["participant_id"] != second["participant_id"]
        queue = (await service.get("/v1/person-matches", params={"jurisdiction": SEA}, headers=pm)).json()
        [review] = [r for r in queue if r["participant_id"] == second["participant_id"]]
        nc = await nats.connect(module_nats.url)
        try:
            sub = await nc.jetstream().subscribe("lead.*.referral.ParticipantsLinked", ordered_consumer=True)
            resolution = f"/v1/person-matches/{review['review_id']}/resolution"
            done = await service.post(resolution, json={"decision": "same_person"}, headers=pm)
            assert done.status_code == 200, done.text
            assert done.json()["survivor_participant_id"] == first["participant_id"]  # indexed first
            msg = json.loads((await sub.next_msg(timeout=10)).data)
        finally:
            await nc.close()
        assert msg["data"]["review_id"] == review["review_id"]
        assert msg["data"]["survivor_participant_id"] == first["participant_id"]
        assert msg["data"]["merged_participant_id"] == second["participant_id"]
        assert (await service.post(resolution, json={"decision": "same_person"}, headers=pm)).status_code == 409
        read = (await service.get(f"/v1/referrals/{second['referral_id']}", headers=police)).json()
        assert read["participant_id"] == first["participant_id"]
        again = await service.post("/v1/referrals", json=second_body, headers=police)  # the merged RMS id
        assert again.json()["participant_id"] == first["participant_id"]


class TestTheOfficersFieldLookup:
    async def test_answered_only_with_an_roi_naming_the_agency_otherwise_like_an_unknown_id(
        self, service: httpx.AsyncClient, consent: httpx.AsyncClient, agency: Callable
    ) -> None:
        police, sheriff = agency("seattle-pd", "police"), agency("kc-sheriff", "police")
        rms = f"RMS-{uuid4().hex[:10]}"
        created = await handed_off(service, police, last_name="Field", rms=rms)

        async def lookup(auth: dict[str, str], rms_person_id: str = rms) -> httpx.Response:
            params = {"jurisdiction": SEA, "rms_person_id": rms_person_id}
            return await service.get("/v1/people/lookup", params=params, headers=auth)

        unknown = await lookup(police, "RMS-nobody")
        assert unknown.status_code == 403
        withheld = await lookup(police)
        assert (withheld.status_code, withheld.json()) == (403, unknown.json())  # no ROI: reads like nobody
        roi = {
            "participant_id": created["participant_id"],
            "jurisdiction": SEA,
            "grants": [
                {
                    "recipient_agency": "seattle-pd",
                    "categories": ["identity", "referral"],
                    "purposes": ["care_coordination"],
                }
            ],
            "effective_at": "2026-01-01T00:00:00Z",
            "expires_at": "2030-01-01T00:00:00Z",
            "signed_document_sha256": "ab" * 32,
        }
        provider = agency("lead-case-management", "case_management")

        async def recorded() -> bool:
            return (await consent.post("/v1/consents", json=roi, headers=provider)).status_code == 201

        await eventually(recorded)  # once the consent service has heard who holds the participant
        found = await lookup(police)
        assert found.status_code == 200, found.text
        assert found.json() == {
            "participant_id": created["participant_id"],
            "enrolment": "referred",
            "not_enrolled_reason": None,
            "case_manager_id": "cm-7",
            "case_management_agency": "lead-case-management",
        }
        other = await lookup(sheriff)  # the same id in another agency's RMS is another person
        assert (other.status_code, other.json()) == (403, unknown.json())


class TestDiscretionRecords:
    async def test_an_agency_reads_its_own_records_a_page_at_a_time(
        self, service: httpx.AsyncClient, agency: Callable
    ) -> None:
        police, sheriff = agency("seattle-pd", "police"), agency("kc-sheriff", "police")
        record = {
            "jurisdiction": SEA,
            "offense_codes": ["35A"],
            "reason": "officer_judgment",
            "officer_badge": "B-1",
            "race": "white",
            "ethnicity": "not_hispanic_or_latino",
            "gender": "male",
            "age_band": "25-34",
        }
        mine = {
            (await service.post("/v1/discretion-records", json=record, headers=police)).json()["record_id"]
            for _ in range(3)
        }
        theirs = (await service.post("/v1/discretion-records", json=record, headers=sheriff)).json()["record_id"]
        seen: list[str] = []
        cursor = None
        for _ in range(3):
            params = {"jurisdiction": SEA, "limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await service.get("/v1/discretion-records", params=params, headers=police)).json()
            seen += [r["record_id"] for r in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert set(seen) == mine and len(seen) == 3
        listed = (await service.get("/v1/discretion-records", params={"jurisdiction": SEA}, headers=sheriff)).json()
        assert [r["record_id"] for r in listed["items"]] == [theirs]
        bad = await service.get("/v1/discretion-records", params={"jurisdiction": SEA, "cursor": "x!"}, headers=police)
        assert bad.status_code in (400, 422) and bad.json()["field"] == "cursor"


class TestACaseManagersCaseload:
    async def test_the_holding_provider_sees_its_case_managers_people_with_names_and_no_one_else_does(
        self, service: httpx.AsyncClient, agency: Callable
    ) -> None:
        police = agency("seattle-pd", "police")
        created = await handed_off(service, police, last_name="Caseload", first_name="Kim")
        path = "/v1/case-managers/cm-7/participants"

        async def listed(auth: dict[str, str]) -> dict[str, Any]:
            reply = await service.get(path, params={"jurisdiction": SEA}, headers=auth)
            assert reply.status_code == 200, reply.text
            return {p["participant_id"]: p for p in reply.json()["participants"]}

        async def served() -> dict[str, Any]:
            return (await listed(agency("lead-case-management", "case_management"))).get(created["participant_id"], {})

        row = await eventually(served)  # the MOU's hand-off term, once the consent service knows the hand-off
        assert (row["first_name"], row["last_name"], row["enrolment"]) == ("Kim", "Caseload", "referred")
        assert await listed(agency("evergreen-cm", "case_management")) == {}
        refused = await service.get(path, params={"jurisdiction": SEA}, headers=police)
        assert refused.status_code == 403
