"""Finding 5: the MOU comes from the site's versioned settings, is bound to relations or named agencies, never to
an agency type, never opens substance_use or mental_health, and no API call lets a project manager grant itself."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa

from consent.bootstrap import create
from consent.config import ConsentSettings
from divert_devstack import demo_site
from divert_devstack.nats import NatsServer
from divert_devstack.testing import eventually, running, service_settings
from divert_kernel.db import make_engine

J = demo_site.SEATTLE
TERM = "mou:seattle-king-county:v1:term-{}"


async def decide(service: httpx.AsyncClient, tokens_for: Callable, agency: str, agency_type: str, **ask: str) -> dict:
    body = {"jurisdiction": J, "requester_agency": agency, **ask}
    reply = await service.post("/v1/access-decisions", json=body, headers=tokens_for(agency_type, agency=agency))
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


async def scope(service: httpx.AsyncClient, tokens_for: Callable, agency: str, agency_type: str, **ask: str) -> dict:
    body = {"jurisdiction": J, "requester_agency": agency, **ask}
    reply = await service.post("/v1/access-decisions/scope", json=body, headers=tokens_for(agency_type, agency=agency))
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


async def rows(database: str, sql: str, **params: Any) -> list[Any]:
    engine = make_engine(database)
    try:
        async with engine.connect() as conn:
            return list(await conn.execute(sa.text(sql), params))
    finally:
        await engine.dispose()


class TestTheMouIsSiteSettings:
    async def test_the_current_version_is_listed_with_its_approval_reference(
        self, service: httpx.AsyncClient, tokens_for: Callable
    ) -> None:
        reply = await service.get("/v1/site-grants", params={"jurisdiction": J}, headers=tokens_for("auditor"))
        assert reply.status_code == 200, reply.text
        mou = reply.json()
        assert (mou["version"], mou["approved_by"]) == (1, "PCG demo approval (seattle-king-county, version 1)")
        assert [(t["grant_id"], t["relation"], t["agencies"]) for t in mou["terms"]] == [
            (TERM.format(1), "handoff_provider", []),
            (TERM.format(2), "charge_holder", []),
            (TERM.format(3), None, ["lead-project-manager"]),
        ]

    async def test_each_version_is_recorded_once_with_its_approval(
        self, service: httpx.AsyncClient, database: str
    ) -> None:
        async def both_sites() -> list[Any]:  # recorded at startup, santa-fe without any use of it
            found = await rows(database, "SELECT jurisdiction, version FROM site_mou_versions ORDER BY 1")
            return found if len(found) == 2 else []

        recorded = await eventually(both_sites)
        assert [(r.jurisdiction, r.version) for r in recorded] == [("santa-fe", 1), (J, 1)]
        events = await rows(database, "SELECT stream_id FROM events WHERE type = 'SiteMouRecorded' ORDER BY 1")
        assert [e.stream_id for e in events] == ["sitemou-santa-fe", f"sitemou-{J}"]

    @pytest.mark.parametrize(
        ("method", "path"), [("POST", "/v1/site-grants"), ("POST", f"/v1/site-grants/{uuid4()}/withdrawal")]
    )
    async def test_a_project_manager_cannot_issue_or_withdraw_grants_through_the_api(
        self, service: httpx.AsyncClient, tokens_for: Callable, method: str, path: str
    ) -> None:
        body = {
            "jurisdiction": J,
            "recipient_agency_type": "project_manager",
            "categories": ["substance_use", "mental_health", "plan"],
            "purposes": ["program_operations"],
        }
        pm = tokens_for("project_manager", agency="lead-project-manager")
        reply = await service.request(method, path, json=body, headers=pm)
        assert reply.status_code in (404, 405)


class TestBoundToRelationsOrNamedAgencies:
    async def test_the_handoff_packet_goes_to_the_provider_named_in_the_hand_off_only(
        self, service: httpx.AsyncClient, tokens_for: Callable, relations: Any
    ) -> None:
        participant_id = str(uuid4())
        ask = {"participant_id": participant_id, "category": "referral", "purpose": "care_coordination"}
        lead = ("lead-case-management", "case_management")
        assert (await decide(service, tokens_for, *lead, **ask))["decision"] == "deny"  # before the hand-off
        await relations.hand_off(participant_id, "lead-case-management")
        permit = await decide(service, tokens_for, *lead, **ask)
        assert permit["basis"] == {"kind": "site_grant", "id": TERM.format(1)}
        other = await decide(service, tokens_for, "evergreen-cm", "case_management", **ask)
        assert other["decision"] == "deny"  # never type-wide

    async def test_the_prosecutor_holding_a_charge_reads_the_referral_for_monitoring_only(
        self, service: httpx.AsyncClient, tokens_for: Callable, relations: Any
    ) -> None:
        participant_id = str(uuid4())
        prosecutor = ("kc-prosecutor", "prosecutor")
        ask = {"participant_id": participant_id, "category": "referral", "purpose": "diversion_monitoring"}
        assert (await decide(service, tokens_for, *prosecutor, **ask))["decision"] == "deny"
        await relations.hold_charge(participant_id, "kc-prosecutor")
        assert (await decide(service, tokens_for, *prosecutor, **ask))["basis"]["id"] == TERM.format(2)
        identity = ask | {"category": "identity"}
        assert (await decide(service, tokens_for, *prosecutor, **identity))["decision"] == "deny"

    @pytest.mark.parametrize("category", ["plan", "contacts", "substance_use", "mental_health"])
    async def test_no_term_opens_plans_contacts_or_roi_only_data_to_anyone(
        self, service: httpx.AsyncClient, tokens_for: Callable, relations: Any, category: str
    ) -> None:
        participant_id = str(uuid4())
        await relations.hand_off(participant_id, "lead-case-management")
        await relations.hold_charge(participant_id, "kc-prosecutor")
        for agency, agency_type in demo_site.AGENCIES[J]:
            if agency == "lead-case-management":
                continue  # the holder reads its own records without asking
            for purpose in ("care_coordination", "diversion_monitoring", "program_operations"):
                ask = {"participant_id": participant_id, "category": category, "purpose": purpose}
                decided = await decide(service, tokens_for, agency, agency_type, **ask)
                assert decided["decision"] == "deny", (agency, purpose)

    async def test_the_project_manager_is_named_for_every_participant_of_the_site_and_no_one_else(
        self, service: httpx.AsyncClient, tokens_for: Callable, relations: Any
    ) -> None:
        participant, stranger = str(uuid4()), str(uuid4())
        await relations.refer(participant)
        ask = {"category": "identity", "purpose": "program_operations"}
        decided = await decide(
            service, tokens_for, "lead-project-manager", "project_manager", participant_id=participant, **ask
        )
        assert decided["basis"] == {"kind": "site_grant", "id": TERM.format(3)}
        # An id no referral of the site named (another site's participant, or nobody): no site grant reaches it.
        refused = await decide(
            service, tokens_for, "lead-project-manager", "project_manager", participant_id=stranger, **ask
        )
        assert refused["decision"] == "deny"
        elsewhere = str(uuid4())
        await relations.refer(elsewhere, jurisdiction="santa-fe")
        assert (
            await decide(
                service, tokens_for, "lead-project-manager", "project_manager", participant_id=elsewhere, **ask
            )
        )["decision"] == "deny"


class TestScope:
    async def test_named_terms_cover_everyone_relation_terms_exactly_the_related_participants(
        self, service: httpx.AsyncClient, tokens_for: Callable, relations: Any
    ) -> None:
        mine, theirs = str(uuid4()), str(uuid4())
        await relations.hand_off(mine, "lead-case-management")
        await relations.hand_off(theirs, "evergreen-cm")
        ask = {"category": "referral", "purpose": "care_coordination"}
        lead = await scope(service, tokens_for, "lead-case-management", "case_management", **ask)
        assert lead["everyone"] is False and mine in lead["participant_ids"] and theirs not in lead["participant_ids"]
        pm = await scope(
            service,
            tokens_for,
            "lead-project-manager",
            "project_manager",
            category="referral",
            purpose="program_operations",
        )
        assert pm == {"everyone": True, "participant_ids": []}
        police = await scope(service, tokens_for, "seattle-pd", "police", **ask)
        assert police == {"everyone": False, "participant_ids": []}


class TestDecisionsUseTheNewestRecordedVersion:
    async def test_a_replica_with_a_newer_version_records_it_and_every_replica_decides_by_it(
        self,
        service: httpx.AsyncClient,
        tokens_for: Callable,
        database: str,
        module_nats: NatsServer,
        jwks_file: Path,
        tmp_path: Path,
    ) -> None:
        sites = demo_site.sites()
        seattle = next(s for s in sites["sites"] if s["jurisdiction"] == J)
        seattle |= {"version": 2, "approved_by": "PCG minutes 2027-01-12, item 4"}
        seattle["mou"] = [t for t in seattle["mou"] if "agencies" not in t]  # v2 drops the project manager's term
        path = tmp_path / "sites-v2.json"
        path.write_text(json.dumps(sites))
        base = service_settings(database_url=database, nats_url=module_nats.url, jwks_file=jwks_file)
        async with running(create(ConsentSettings(**base, sites_file=str(path)))) as replica:
            listed = await replica.get("/v1/site-grants", params={"jurisdiction": J}, headers=tokens_for("auditor"))
            assert listed.json()["version"] == 2
        mou = (await service.get("/v1/site-grants", params={"jurisdiction": J}, headers=tokens_for("auditor"))).json()
        assert (mou["version"], mou["approved_by"], len(mou["terms"])) == (2, "PCG minutes 2027-01-12, item 4", 2)
        ask = {"participant_id": str(uuid4()), "category": "identity", "purpose": "program_operations"}
        assert (await decide(service, tokens_for, "lead-project-manager", "project_manager", **ask))[
            "decision"
        ] == "deny"
