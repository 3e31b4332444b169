"""Issue 10, items 9 and 10: a person match makes either id answer for the one participant; inside the screening
form another agency gets only the fields of the categories it may read. Real PostgreSQL, NATS and consent
service (behind a front that records intake's ROI question)."""

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
from divert_contracts.referral import ParticipantsLinked, WarmHandoffCompleted
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
LEAD, EVERGREEN = "lead-case-management", "evergreen-cm"
INTAKE = {
    "completed_at": "2026-11-23T10:00:00Z",
    "consent_to_participate": {"signed_at": "2026-11-23T09:30:00Z", "signed_document_sha256": "d" * 64},
}
SCREENING = {
    "screened_at": "2026-11-23T10:00:00Z",
    "location": "Day center",
    "screening_case_manager": "cm-ana",
    "contributing_factors": {"alcohol": False, "drugs": True, "mental_health": True, "explain": "Uses daily."},
    "nicknames": ["Red"],
    "gender": "female",
    "race": "black",
    "ethnicity": "not_hispanic_or_latino",
    "veteran": False,
    "address": "1 Main St",
    "phone": "555-0100",
    "homeless": True,
    "slept_last_night": "Shelter",
    "where_to_find": "Library",
    "employed": False,
    "public_assistance": ["ssi"],
    "drug_court": False,
    "probation": True,
    "probation_officer": "PO Smith",
    "will_sign_roi": True,
    "assistance": {"emergency_housing": {"needs": True}, "public_benefits": {"needs": True}},
}


@pytest.fixture(scope="module")
async def service(
    postgres: PostgresServer, module_nats: NatsServer, jwks_file: Path, consent_front: Any, sites_file: Path
) -> AsyncIterator[httpx.AsyncClient]:
    database = await create_database(postgres, "casemgmt")
    settings = CaseMgmtSettings(
        **service_settings(
            database_url=database, nats_url=module_nats.url, jwks_file=jwks_file, consent_url=consent_front.url
        ),
        sites_file=str(sites_file),
    )
    async with running(create(settings, FixedClock(NOW))) as client:
        yield client


@pytest.fixture(scope="module")
def as_(tokens_for: Callable[..., dict[str, str]]) -> Callable[[str, str], dict[str, str]]:
    return lambda agency_type, agency: tokens_for(agency_type, agency=agency)


async def referred(service: httpx.AsyncClient, bus: nats.NATS, lead: dict[str, str], deadline: date) -> tuple[str, str]:
    participant_id, referral_id = str(uuid4()), str(uuid4())
    await publish_as(bus, "referral", diversion_offered(referral_id, participant_id, intake_deadline=deadline))
    handoff = WarmHandoffCompleted(
        referral_id=referral_id,
        participant_id=participant_id,
        case_manager_id="cm-ana",
        completed_at=NOW,
        case_management_agency=LEAD,
    )
    await publish_as(bus, "referral", handoff)

    async def held() -> bool:
        return (await service.get(f"/v1/participants/{participant_id}", headers=lead)).status_code == 200

    await eventually(held)
    return participant_id, referral_id


class TestPersonMatchesResolve:
    async def test_either_id_answers_for_the_survivor_and_its_intake_covers_both_referrals(
        self, service: httpx.AsyncClient, bus: nats.NATS, as_: Callable, consent_front: Any, roi_naming: Callable
    ) -> None:
        lead = as_("case_management", LEAD)
        survivor, first = await referred(service, bus, lead, date(2026, 12, 20))
        merged, second = await referred(service, bus, lead, date(2026, 12, 10))
        contact = {"occurred_on": "2026-11-22", "kind": "street", "staff_id": "cm-ana", "notes": "Before the match."}
        assert (await service.post(f"/v1/participants/{merged}/contacts", json=contact, headers=lead)).is_success
        sub = await bus.jetstream().subscribe(f"lead.{J}.casemgmt.IntakeCompleted", ordered_consumer=True)
        linked = ParticipantsLinked(
            review_id="rev-1", survivor_participant_id=survivor, merged_participant_id=merged, linked_at=NOW
        )
        await publish_as(bus, "referral", linked)

        async def resolved() -> dict[str, Any] | None:
            got = (await service.get(f"/v1/participants/{merged}", headers=lead)).json()
            return got if got.get("participant_id") == survivor else None

        assert (await eventually(resolved))["intake_deadline"] == "2026-12-10"
        page = (await service.get("/v1/participants", params={"jurisdiction": J, "limit": 200}, headers=lead)).json()
        ids = {i["participant_id"] for i in page["items"]}
        assert survivor in ids and merged not in ids
        # A write by the merged id lands on the survivor; the merged record's contact moved with it.
        later = contact | {"notes": "After the match."}
        assert (await service.post(f"/v1/participants/{merged}/contacts", json=later, headers=lead)).is_success
        contacts = (await service.get(f"/v1/participants/{survivor}/contacts", headers=lead)).json()
        assert contacts["participant_id"] == survivor and contacts["counts"] == {"street": 2}
        pm = as_("project_manager", "lead-project-manager")
        assert (await service.get(f"/v1/participants/{merged}", headers=pm)).json()["participant_id"] == survivor
        await roi_naming(survivor, LEAD, lead)
        enrolled = await service.post(f"/v1/participants/{merged}/intake", json=INTAKE, headers=lead)
        assert enrolled.status_code == 200 and enrolled.json()["participant_id"] == survivor, enrolled.text
        assert consent_front.asked[-1][0]["participant_id"] == survivor
        while (envelope := json.loads((await sub.next_msg(timeout=10)).data))["data"]["participant_id"] != survivor:
            pass
        await sub.unsubscribe()
        assert envelope["data"]["referral_ids"] == sorted([first, second])


async def consent_to(
    consent: httpx.AsyncClient, participant_id: str, lead: dict[str, str], categories: list[str]
) -> None:
    now = datetime.now(UTC)
    body = {
        "participant_id": participant_id,
        "jurisdiction": J,
        "grants": [{"recipient_agency": EVERGREEN, "categories": categories, "purposes": ["care_coordination"]}],
        "effective_at": (now - timedelta(days=1)).isoformat(),
        "expires_at": (now + timedelta(days=365)).isoformat(),
        "signed_document_sha256": "e" * 64,
    }

    async def recorded() -> bool:
        return (await consent.post("/v1/consents", json=body, headers=lead)).status_code == 201

    await eventually(recorded)


class TestMinimumNecessaryInsideTheScreeningForm:
    async def test_another_agency_gets_only_the_fields_of_the_categories_it_may_read(
        self, service: httpx.AsyncClient, consent: httpx.AsyncClient, bus: nats.NATS, as_: Callable
    ) -> None:
        lead, evergreen = as_("case_management", LEAD), as_("case_management", EVERGREEN)
        participant_id, _ = await referred(service, bus, lead, date(2026, 12, 20))
        path = f"/v1/participants/{participant_id}/initial-screening"
        assert (await service.put(path, json=SCREENING, headers=lead)).status_code == 200
        await consent_to(consent, participant_id, lead, ["screening", "housing"])
        served = await service.get(path, headers=evergreen)
        assert served.status_code == 200, served.text
        body = served.json()
        form = body["form"]
        assert form["homeless"] is True and form["slept_last_night"] == "Shelter" and form["location"] == "Day center"
        assert set(form["assistance"]) == {"emergency_housing"} and form["contributing_factors"] == {}
        for withheld_field in ("address", "phone", "where_to_find", "nicknames", "public_assistance", "probation"):
            assert withheld_field not in form, withheld_field
        assert body["withheld"] == ["benefits", "identity", "legal_case", "mental_health", "substance_use"]
        assert {o["category"] for o in body["obligations"]} <= {"screening", "housing"}
        # The holder reads its own form whole.
        assert (await service.get(path, headers=lead)).json()["form"]["address"] == "1 Main St"
