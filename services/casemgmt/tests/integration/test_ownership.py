"""Issue 9, findings 1 and 6 (case-management side): the provider named in the hand-off holds the records.

A second provider of the same site (`evergreen-cm`), the same agency id in another jurisdiction, police and
prosecutor are all other agencies: they read only through a consent decision, never write, and what is
served to them carries the decision's obligations. Real PostgreSQL, NATS and consent service.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import nats
import pytest

from casemgmt.bootstrap import create
from casemgmt.config import CaseMgmtSettings
from divert_contracts.referral import WarmHandoffCompleted
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

J = "seattle-king-county"
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
DEADLINE = date(2026, 12, 20)
LEAD, EVERGREEN = "lead-case-management", "evergreen-cm"
SCREENING = {
    "screened_at": "2026-11-23T10:00:00Z",
    "location": "Day center",
    "screening_case_manager": "cm-ana",
    "contributing_factors": {"alcohol": False, "drugs": True, "mental_health": True, "explain": "Uses daily."},
    "gender": "female",
    "race": "black",
    "ethnicity": "not_hispanic_or_latino",
    "veteran": False,
    "homeless": True,
    "employed": False,
    "drug_court": False,
    "probation": False,
    "will_sign_roi": True,
    "assistance": {"substance_abuse_treatment": {"needs": True}, "mental_health_counselling": {"needs": True}},
}


@pytest.fixture(scope="module")
async def database(postgres: PostgresServer) -> str:
    return await create_database(postgres, "casemgmt")


@pytest.fixture(scope="module")
async def service(
    database: str, module_nats: NatsServer, jwks_file: Path, consent_url: str, sites_file: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = CaseMgmtSettings(
        **service_settings(
            database_url=database, nats_url=module_nats.url, jwks_file=jwks_file, consent_url=consent_url
        ),
        sites_file=str(sites_file),
    )
    async with running(create(settings, FixedClock(NOW))) as client:
        yield client


@pytest.fixture(scope="module")
def as_(tokens_for: Callable[..., dict[str, str]]) -> Callable[..., dict[str, str]]:
    """Headers for a demo agency by id: as_("evergreen-cm"), as_(LEAD, jurisdiction="santa-fe")."""
    types = {LEAD: "case_management", EVERGREEN: "case_management", "kc-prosecutor": "prosecutor"}
    types |= {"seattle-pd": "police", "lead-project-manager": "project_manager"}

    def make(agency: str, jurisdiction: str = J) -> dict[str, str]:
        return tokens_for(types[agency], agency=agency, jurisdictions=[jurisdiction])

    return make


async def referred(service: httpx.AsyncClient, bus: nats.NATS, *holders: str | None) -> str:
    """A participant referred by police and handed off to each of `holders` in turn (none: not yet handed off)."""
    participant_id, referral_id = str(uuid4()), str(uuid4())
    offer = diversion_offered(referral_id, participant_id, intake_deadline=DEADLINE, offered_at=NOW)
    await publish_as(bus, "referral", offer)
    for holder in holders:
        handoff = WarmHandoffCompleted(
            referral_id=referral_id,
            participant_id=participant_id,
            case_manager_id="cm-ana",
            completed_at=NOW,
            case_management_agency=holder,
        )
        await publish_as(bus, "referral", handoff)
    return participant_id


async def held_by(service: httpx.AsyncClient, participant_id: str, headers: dict[str, str]) -> None:
    async def served() -> bool:
        reply = await service.get(f"/v1/participants/{participant_id}/intake", headers=headers)
        return reply.status_code == 200

    await eventually(served)


async def with_care_records(service: httpx.AsyncClient, participant_id: str, lead: dict[str, str]) -> None:
    """The holder writes a plan, a contact and the screening form (each write proves the holder may write)."""
    path = f"/v1/participants/{participant_id}"
    plan = await service.put(f"{path}/plan", json={"goals": [{"goal": "Get my ID back"}]}, headers=lead)
    assert plan.status_code == 200, plan.text
    contact = {"occurred_on": "2026-11-22", "kind": "street", "staff_id": "cm-ana", "notes": "Walked to the clinic."}
    assert (await service.post(f"{path}/contacts", json=contact, headers=lead)).status_code == 201
    assert (await service.put(f"{path}/initial-screening", json=SCREENING, headers=lead)).status_code == 200


READS = ("", "intake", "plan", "contacts", "initial-screening")
WRITES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "POST",
        "intake",
        {
            "completed_at": "2026-11-23T10:00:00Z",
            "consent_to_participate": {"signed_at": "2026-11-23T09:00:00Z", "signed_document_sha256": "a" * 64},
        },
    ),
    ("POST", "withdrawal", {}),
    ("POST", "status", {"status": "inactive", "reason": "not_seen_90_days"}),
    ("POST", "case-manager", {"case_manager_id": "cm-zed"}),
    ("PUT", "initial-screening", SCREENING),
    ("PUT", "plan", {"goals": [{"goal": "Someone else's goal"}]}),
    ("POST", "contacts", {"occurred_on": "2026-11-22", "kind": "phone", "staff_id": "cm-zed"}),
)


async def listed(service: httpx.AsyncClient, headers: dict[str, str]) -> tuple[set[str], int, set[str]]:
    page = await service.get("/v1/participants", params={"jurisdiction": J, "limit": 200}, headers=headers)
    assert page.status_code == 200, page.text
    export = await service.get("/v1/participants/export", params={"jurisdiction": J}, headers=headers)
    assert export.status_code == 200, export.text
    exported = {json.loads(line)["participant_id"] for line in export.text.splitlines()}
    return {i["participant_id"] for i in page.json()["items"]}, page.json()["total"], exported


async def refusals_match_an_unknown_participant(
    service: httpx.AsyncClient, participant_id: str, headers: dict[str, str]
) -> None:
    unknown = str(uuid4())
    for part in READS:
        seen = await service.get(f"/v1/participants/{participant_id}/{part}".rstrip("/"), headers=headers)
        never = await service.get(f"/v1/participants/{unknown}/{part}".rstrip("/"), headers=headers)
        assert seen.status_code == never.status_code == 403, (part, seen.text)
        assert seen.json() == never.json()
    for method, part, body in WRITES:
        tried = await service.request(method, f"/v1/participants/{participant_id}/{part}", json=body, headers=headers)
        never = await service.request(method, f"/v1/participants/{unknown}/{part}", json=body, headers=headers)
        assert tried.status_code == never.status_code == 404, (part, tried.text)
        assert tried.json() == never.json()


class TestTheProviderNamedInTheHandoffHoldsTheRecords:
    async def test_the_holder_reads_and_writes_in_full(
        self, service: httpx.AsyncClient, bus: nats.NATS, as_: Callable[..., dict[str, str]]
    ) -> None:
        lead = as_(LEAD)
        participant_id = await referred(service, bus, LEAD)
        await held_by(service, participant_id, lead)
        await with_care_records(service, participant_id, lead)
        contacts = (await service.get(f"/v1/participants/{participant_id}/contacts", headers=lead)).json()
        assert contacts["contacts"][0]["notes"] == "Walked to the clinic." and contacts["obligations"] == []
        screening = (await service.get(f"/v1/participants/{participant_id}/initial-screening", headers=lead)).json()
        assert screening["withheld"] == [] and screening["form"]["contributing_factors"]["drugs"] is True
        items, total, exported = await listed(service, lead)
        assert participant_id in items and participant_id in exported and total == len(items)
        loads = await service.get("/v1/caseloads", params={"jurisdiction": J}, headers=lead)
        assert any(c["case_manager_id"] == "cm-ana" for c in loads.json()["case_managers"])

    async def test_a_second_provider_of_the_site_neither_reads_nor_writes(
        self, service: httpx.AsyncClient, bus: nats.NATS, as_: Callable[..., dict[str, str]]
    ) -> None:
        lead, evergreen = as_(LEAD), as_(EVERGREEN)
        participant_id = await referred(service, bus, LEAD)
        await held_by(service, participant_id, lead)
        await with_care_records(service, participant_id, lead)
        await refusals_match_an_unknown_participant(service, participant_id, evergreen)
        items, total, exported = await listed(service, evergreen)
        assert participant_id not in items and participant_id not in exported and total == len(items)
        loads = (await service.get("/v1/caseloads", params={"jurisdiction": J}, headers=evergreen)).json()
        assert loads["case_managers"] == [] and loads["unassigned"] == 0
        # Nothing the second provider tried changed the holder's records.
        plan = (await service.get(f"/v1/participants/{participant_id}/plan", headers=lead)).json()
        assert plan["plan_version"] == 1
        intake = (await service.get(f"/v1/participants/{participant_id}/intake", headers=lead)).json()
        assert intake["intake_status"] == "pending"

    async def test_the_same_agency_id_in_another_jurisdiction_is_another_agency(
        self, service: httpx.AsyncClient, bus: nats.NATS, as_: Callable[..., dict[str, str]]
    ) -> None:
        participant_id = await referred(service, bus, LEAD)
        await held_by(service, participant_id, as_(LEAD))
        namesake = as_(LEAD, jurisdiction="santa-fe")
        await refusals_match_an_unknown_participant(service, participant_id, namesake)
        refused = await service.get("/v1/participants", params={"jurisdiction": J}, headers=namesake)
        assert refused.status_code == 403 and refused.json()["field"] == "jurisdiction"

    async def test_until_a_handoff_names_a_provider_no_provider_holds_the_records(
        self, service: httpx.AsyncClient, bus: nats.NATS, as_: Callable[..., dict[str, str]]
    ) -> None:
        unnamed = await referred(service, bus, None)
        not_yet = await referred(service, bus)
        named = await referred(service, bus, LEAD)
        await held_by(service, named, as_(LEAD))  # the referral stream is consumed in order
        for participant_id in (unnamed, not_yet):
            await refusals_match_an_unknown_participant(service, participant_id, as_(LEAD))

    async def test_a_later_handoff_moves_the_records_to_the_provider_it_names(
        self, service: httpx.AsyncClient, bus: nats.NATS, as_: Callable[..., dict[str, str]]
    ) -> None:
        participant_id = await referred(service, bus, LEAD, EVERGREEN)
        await held_by(service, participant_id, as_(EVERGREEN))
        await refusals_match_an_unknown_participant(service, participant_id, as_(LEAD))


async def consent_to(
    consent: httpx.AsyncClient, participant_id: str, lead: dict[str, str], recipient: str, categories: list[str]
) -> None:
    """The participant's ROI, recorded by the holding provider, naming `recipient`."""
    now = datetime.now(UTC)
    body = {
        "participant_id": participant_id,
        "jurisdiction": J,
        "grants": [{"recipient_agency": recipient, "categories": categories, "purposes": ["care_coordination"]}],
        "effective_at": (now - timedelta(days=1)).isoformat(),
        "expires_at": (now + timedelta(days=365)).isoformat(),
        "signed_document_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    }

    async def recorded() -> bool:
        return (await consent.post("/v1/consents", json=body, headers=lead)).status_code == 201

    await eventually(recorded)


async def decided(
    consent: httpx.AsyncClient, participant_id: str, headers: dict[str, str], agency: str, category: str
) -> list[dict[str, Any]]:
    """What the consent service itself obliges for one read (asked directly, as the gate asks it)."""
    ask = {
        "participant_id": participant_id,
        "jurisdiction": J,
        "requester_agency": agency,
        "category": category,
        "purpose": "care_coordination",
    }
    answer = await consent.post("/v1/access-decisions", json=ask, headers=headers)
    assert answer.status_code == 200 and answer.json()["decision"] == "permit", answer.text
    return answer.json()["obligations"]


class TestObligationsTravelWithTheData:
    async def test_substance_use_served_to_another_agency_carries_the_part_2_labels_and_notice(
        self,
        service: httpx.AsyncClient,
        consent: httpx.AsyncClient,
        bus: nats.NATS,
        as_: Callable[..., dict[str, str]],
    ) -> None:
        lead, evergreen = as_(LEAD), as_(EVERGREEN)
        participant_id = await referred(service, bus, LEAD)
        await held_by(service, participant_id, lead)
        await with_care_records(service, participant_id, lead)
        everything = ["screening", "identity", "housing", "benefits", "legal_case", "substance_use", "mental_health"]
        await consent_to(consent, participant_id, lead, EVERGREEN, everything)
        path = f"/v1/participants/{participant_id}/initial-screening"
        seen = await service.get(path, headers=evergreen)
        assert seen.status_code == 200, seen.text
        body = seen.json()
        assert body["withheld"] == [] and body["form"]["contributing_factors"]["drugs"] is True
        by_category: dict[str, list[dict[str, Any]]] = {}
        for obligation in body["obligations"]:
            by_category.setdefault(obligation.pop("category"), []).append(obligation)
        part2 = by_category["substance_use"]
        assert any("42CFRPart2" in o.get("labels", []) for o in part2)
        assert any("42 CFR part 2" in o.get("text", "") for o in part2)
        assert any(o.get("labels") for o in by_category["mental_health"])
        for category in everything:
            # Passed through as the consent service decided: nothing dropped, nothing added.
            expected = await decided(consent, participant_id, evergreen, EVERGREEN, category)
            assert by_category.get(category, []) == expected, category
        # The holder reads its own records: no decision, so no obligations.
        assert (await service.get(path, headers=lead)).json()["obligations"] == []

    async def test_without_a_permit_the_sensitive_parts_are_absent_and_no_obligation_is_claimed(
        self,
        service: httpx.AsyncClient,
        consent: httpx.AsyncClient,
        bus: nats.NATS,
        as_: Callable[..., dict[str, str]],
    ) -> None:
        lead, evergreen = as_(LEAD), as_(EVERGREEN)
        participant_id = await referred(service, bus, LEAD)
        await held_by(service, participant_id, lead)
        await with_care_records(service, participant_id, lead)
        await consent_to(consent, participant_id, lead, EVERGREEN, ["screening"])
        body = (await service.get(f"/v1/participants/{participant_id}/initial-screening", headers=evergreen)).json()
        assert set(body["withheld"]) == {
            "identity",
            "housing",
            "benefits",
            "legal_case",
            "substance_use",
            "mental_health",
        }
        assert "drugs" not in body["form"]["contributing_factors"] and "homeless" not in body["form"]
        assert {o["category"] for o in body["obligations"]} <= {"screening"}
