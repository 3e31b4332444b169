"""The referral service with the real consent service deciding. Issue 9: who owns a referral, who may write on
it, the provider named in the hand-off, the meeting views and the person-match queue read through the gate."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import nats
import pytest
import sqlalchemy as sa

from divert_contracts.casemgmt import ProgramCapacityChanged
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database, eventually, publish_as, running, service_settings
from divert_kernel.clock import FixedClock
from divert_kernel.db import make_engine
from referral.bootstrap import create
from referral.config import ReferralSettings
from services.referral.tests.integration.conftest import referrals_reach_consent

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
SEA, SANTA_FE = "seattle-king-county", "santa-fe"
MEETING = {"jurisdiction": SEA, "date": "2026-11-24"}  # the day after NOW: today's referrals are new ones
HANDOFF = {"case_manager_id": "cm-1", "location": "Day center", "at": "2026-11-23T11:00:00Z"}


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
    """Headers for a demo agency: agency("seattle-pd", "police"), or in another jurisdiction."""

    def make(agency_id: str, agency_type: str, jurisdiction: str = SEA) -> dict[str, str]:
        return tokens_for(agency_type, agency=agency_id, jurisdictions=[jurisdiction])  # type: ignore[no-any-return]

    return make


def referral_body(last_name: str, referral_type: str = "arrest_diversion", jurisdiction: str = SEA) -> dict:
    return {
        "jurisdiction": jurisdiction,
        "referral_type": referral_type,
        "person": {
            "first_name": "Robin",
            "last_name": last_name,
            "date_of_birth": "1984-03-02",
            "race": "black",
            "ethnicity": "not_hispanic_or_latino",
            "gender": "female",
            "rms_person_id": f"RMS-{uuid4().hex[:10]}",
        },
        "incident": {
            "rms_incident_number": "I-77",
            "offense_codes": ["35A"],
            "occurred_at": "2026-11-23T01:00:00Z",
            "location": "Pine St",
        },
        "officer": {"badge_number": "B-77", "name": "Officer Seventy"},
    }


async def refer(service: httpx.AsyncClient, auth: dict[str, str], last_name: str, **kw: Any) -> dict[str, Any]:
    created = await service.post("/v1/referrals", json=referral_body(last_name, **kw), headers=auth)
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


async def accepted(service: httpx.AsyncClient, auth: dict[str, str], last_name: str, **kw: Any) -> dict[str, Any]:
    created = await refer(service, auth, last_name, **kw)
    reply = await service.post(f"/v1/referrals/{created['referral_id']}/acceptance", headers=auth)
    assert reply.status_code == 200, reply.text
    return created


async def grant(
    consent: httpx.AsyncClient, recorder: dict[str, str], participant_id: str, recipient: str, categories: list[str]
) -> None:
    """A signed ROI naming `recipient`, recorded by case management (retried while the consent service is still
    learning who holds the participant)."""
    purpose = {"kc-prosecutor": "diversion_monitoring", "lead-project-manager": "program_operations"}[recipient]
    body = {
        "participant_id": participant_id,
        "jurisdiction": SEA,
        "grants": [{"recipient_agency": recipient, "categories": categories, "purposes": [purpose]}],
        "effective_at": "2026-01-01T00:00:00Z",
        "expires_at": "2030-01-01T00:00:00Z",
        "signed_document_sha256": "ab" * 32,
    }

    async def recorded() -> bool:
        return (await consent.post("/v1/consents", json=body, headers=recorder)).status_code == 201

    await eventually(recorded)


async def permits(consent_database: str, participant_id: str, requester: str) -> int:
    """How many `referral` permits the consent service recorded for this reader of this participant."""
    engine = make_engine(consent_database)
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(
                sa.text(
                    "SELECT count(*) FROM events WHERE type = 'AccessDecided' AND data->>'participant_id' = :p "
                    "AND data->>'requester_agency' = :a AND data->>'category' = 'referral' "
                    "AND data->>'decision' = 'permit'"
                ),
                {"p": participant_id, "a": requester},
            )
    finally:
        await engine.dispose()
    return int(found or 0)


class TestTheOwnerIsAnAgencyInAJurisdiction:
    """Issue 9, finding 2 (and the same rule for another police agency of the site)."""

    async def test_the_same_agency_id_in_another_jurisdiction_reads_like_an_unknown_id(
        self, service: httpx.AsyncClient, agency: Callable
    ) -> None:
        owner, elsewhere = agency("seattle-pd", "police"), agency("seattle-pd", "police", SANTA_FE)
        created = await refer(service, owner, "Halvorsen")
        read = await service.get(f"/v1/referrals/{created['referral_id']}", headers=elsewhere)
        unknown = await service.get(f"/v1/referrals/{uuid4()}", headers=elsewhere)
        assert (read.status_code, read.json()) == (unknown.status_code, unknown.json()) == (403, unknown.json())
        assert "Halvorsen" not in read.text
        accept = await service.post(f"/v1/referrals/{created['referral_id']}/acceptance", headers=elsewhere)
        assert accept.status_code == 404 and accept.json()["field"] == "referral_id"
        mine = await service.get(f"/v1/referrals/{created['referral_id']}", headers=owner)
        assert mine.json()["person"]["last_name"] == "Halvorsen" and mine.json()["location"] == "Pine St"

    async def test_a_second_police_agency_of_the_site_reads_and_writes_like_an_unknown_id(
        self, service: httpx.AsyncClient, agency: Callable
    ) -> None:
        owner, sheriff = agency("seattle-pd", "police"), agency("kc-sheriff", "police")
        created = await refer(service, owner, "Lindqvist")
        path = f"/v1/referrals/{created['referral_id']}"
        unknown = f"/v1/referrals/{uuid4()}"
        read, nothing = await service.get(path, headers=sheriff), await service.get(unknown, headers=sheriff)
        assert (read.status_code, read.json()) == (nothing.status_code, nothing.json())
        for action, body in (("acceptance", None), ("decline", {"reason": "person_declined"}), ("handoff", HANDOFF)):
            theirs = await service.post(f"{path}/{action}", json=body, headers=sheriff)
            none = await service.post(f"{unknown}/{action}", json=body, headers=sheriff)
            assert (theirs.status_code, theirs.json()) == (none.status_code, none.json()) == (404, none.json())
        assert (await service.get(path, headers=owner)).json()["status"] == "offered"  # nothing changed

    async def test_each_part_needs_a_permit_for_its_own_category(
        self, service: httpx.AsyncClient, consent: httpx.AsyncClient, agency: Callable
    ) -> None:
        owner, cm = agency("seattle-pd", "police"), agency("lead-case-management", "case_management")
        created = await accepted(service, owner, "Achterberg")
        handoff = {**HANDOFF, "case_management_agency": "lead-case-management"}
        await service.post(f"/v1/referrals/{created['referral_id']}/handoff", json=handoff, headers=owner)
        await grant(consent, cm, created["participant_id"], "kc-prosecutor", ["referral", "identity"])
        read = await service.get(
            f"/v1/referrals/{created['referral_id']}", headers=agency("kc-prosecutor", "prosecutor")
        )
        assert read.status_code == 200, read.text
        assert read.json()["person"]["last_name"] == "Achterberg"
        assert not {"officer", "location", "rms_incident_number"} & set(read.json())  # legal_case: not permitted


class TestTheHandoffNamesTheProvider:
    """Issue 9, "a demo site worth trying isolation on": the receiving provider is named and carried."""

    async def test_where_the_site_has_two_providers_the_hand_off_must_name_one_of_them(
        self, service: httpx.AsyncClient, agency: Callable
    ) -> None:
        police = agency("seattle-pd", "police")
        path = f"/v1/referrals/{(await accepted(service, police, 'Moreau'))['referral_id']}/handoff"
        for named in ({}, {"case_management_agency": "other-cm"}, {"case_management_agency": "kc-prosecutor"}):
            refused = await service.post(path, json=HANDOFF | named, headers=police)
            assert refused.status_code == 422, refused.text
            assert refused.json()["field"] == "case_management_agency"
        done = await service.post(path, json=HANDOFF | {"case_management_agency": "evergreen-cm"}, headers=police)
        assert done.status_code == 200 and done.json()["status"] == "handed_off"  # the refusals changed nothing

    async def test_the_event_carries_the_provider_and_a_single_provider_is_the_default(
        self, service: httpx.AsyncClient, module_nats: NatsServer, agency: Callable
    ) -> None:
        police = agency("santa-fe-pd", "police", SANTA_FE)
        created = await accepted(service, police, "Quintana", jurisdiction=SANTA_FE)
        nc = await nats.connect(module_nats.url)
        try:
            sub = await nc.jetstream().subscribe("lead.santa-fe.referral.WarmHandoffCompleted", ordered_consumer=True)
            done = await service.post(f"/v1/referrals/{created['referral_id']}/handoff", json=HANDOFF, headers=police)
            assert done.status_code == 200, done.text

            async def published() -> dict[str, Any]:
                data = json.loads((await sub.next_msg(timeout=10)).data)["data"]
                return data if data["referral_id"] == created["referral_id"] else {}

            event = await eventually(published)
            assert event["case_management_agency"] == "santa-fe-cm"
        finally:
            await nc.close()

    async def test_only_the_referring_agency_records_a_hand_off(
        self, service: httpx.AsyncClient, agency: Callable
    ) -> None:
        """Found from outside: a provider recorded a hand-off to itself on another agency's referral, and so took
        the person's records; and its refusals told it which referrals exist and in what state."""
        police, evergreen = agency("seattle-pd", "police"), agency("evergreen-cm", "case_management")
        path = f"/v1/referrals/{(await accepted(service, police, 'Ferreira'))['referral_id']}/handoff"
        unknown_path = f"/v1/referrals/{uuid4()}/handoff"
        for provider in ("evergreen-cm", "lead-case-management"):
            body = HANDOFF | {"case_management_agency": provider}
            taken = await service.post(path, json=body, headers=evergreen)
            unknown = await service.post(unknown_path, json=body, headers=evergreen)
            assert taken.status_code == 403 and (taken.status_code, taken.json()) == (
                unknown.status_code,
                unknown.json(),
            )
        done = await service.post(path, json=HANDOFF | {"case_management_agency": "evergreen-cm"}, headers=police)
        assert done.status_code == 200, done.text

    async def test_a_new_referral_cannot_move_a_held_person_to_another_provider(
        self, service: httpx.AsyncClient, agency: Callable
    ) -> None:
        police = agency("seattle-pd", "police")
        first = await accepted(service, police, "Okafor")
        handoff = HANDOFF | {"case_management_agency": "lead-case-management"}
        assert (
            await service.post(f"/v1/referrals/{first['referral_id']}/handoff", json=handoff, headers=police)
        ).status_code == 200
        again = referral_body("Okafor")
        again["person"]["rms_person_id"] = (
            await service.get(f"/v1/referrals/{first['referral_id']}", headers=police)
        ).json()["person"]["rms_person_id"]
        second = (await service.post("/v1/referrals", json=again, headers=police)).json()
        assert second["participant_id"] == first["participant_id"]  # the same agency's own person
        await service.post(f"/v1/referrals/{second['referral_id']}/acceptance", headers=police)
        moved = await service.post(
            f"/v1/referrals/{second['referral_id']}/handoff",
            json=HANDOFF | {"case_management_agency": "evergreen-cm"},
            headers=police,
        )
        assert moved.status_code == 409 and moved.json()["field"] == "case_management_agency"
        kept = await service.post(f"/v1/referrals/{second['referral_id']}/handoff", json=handoff, headers=police)
        assert kept.status_code == 200, kept.text


class TestThePersonIndexIsEachAgencysOwn:
    """Found from outside: another police agency referring the same name and birth date got the existing
    participant's id (and with it, a hand-off, the person's records)."""

    async def test_another_agency_gets_a_new_participant_and_the_project_manager_a_review(
        self, service: httpx.AsyncClient, agency: Callable
    ) -> None:
        first = await refer(service, agency("seattle-pd", "police"), "Quimby")
        body = referral_body("Quimby")  # same names and birth date, the sheriff's own RMS id
        second = await service.post("/v1/referrals", json=body, headers=agency("kc-sheriff", "police"))
        assert second.status_code == 201, second.text
        assert second.json()["participant_id"] != first["participant_id"]
        queue = await service.get(
            "/v1/person-matches",
            params={"jurisdiction": SEA},
            headers=agency("lead-project-manager", "project_manager"),
        )
        assert second.json()["participant_id"] in queue.text

    async def test_the_same_rms_id_from_two_agencies_is_two_people(
        self, service: httpx.AsyncClient, agency: Callable
    ) -> None:
        body = referral_body("Nakamura")
        one = await service.post("/v1/referrals", json=body, headers=agency("seattle-pd", "police"))
        other = referral_body("Lindqvist")
        other["person"]["rms_person_id"] = body["person"]["rms_person_id"]
        two = await service.post("/v1/referrals", json=other, headers=agency("kc-sheriff", "police"))
        assert one.status_code == two.status_code == 201
        assert one.json()["participant_id"] != two.json()["participant_id"]

    async def test_a_birth_date_after_the_incident_is_refused(
        self, service: httpx.AsyncClient, agency: Callable
    ) -> None:
        body = referral_body("Future")
        body["person"]["date_of_birth"] = "2030-01-01"
        refused = await service.post("/v1/referrals", json=body, headers=agency("seattle-pd", "police"))
        assert refused.status_code == 422 and refused.json()["field"] == "person.date_of_birth"


def ids(rows: list[dict[str, Any]]) -> set[str]:
    return {r["participant_id"] for r in rows}


async def views(service: httpx.AsyncClient, auth: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    agenda = await service.get("/v1/owg/agenda", params=MEETING, headers=auth)
    roster = await service.get("/v1/owg/roster", params={"jurisdiction": SEA}, headers=auth)
    assert agenda.status_code == roster.status_code == 200, (agenda.text, roster.text)
    return agenda.json(), roster.json()


def agenda_rows(agenda: dict[str, Any]) -> list[dict[str, Any]]:
    """Every participant row of every section (the sections are the keys `counts` names)."""
    return [r for section in agenda["counts"] for r in agenda[section]]


def agenda_ids(agenda: dict[str, Any]) -> set[str]:
    return ids(agenda_rows(agenda))


class TestTheMeetingViewsGoThroughTheGate:
    """Issue 9, finding 3: every participant row of the OWG agenda and roster is decided."""

    async def test_rows_are_withheld_without_a_decision_and_present_for_the_owner(
        self, service: httpx.AsyncClient, agency: Callable
    ) -> None:
        police, sheriff = agency("seattle-pd", "police"), agency("kc-sheriff", "police")
        offered = await refer(service, police, "Okonkwo")  # only offered: signed nothing
        social = await refer(service, police, "Okonkwo-Reyes", referral_type="social_contact")
        theirs = await refer(service, sheriff, "Takahashi")
        mine = {offered["participant_id"], social["participant_id"]}

        agenda, roster = await views(service, police)
        assert mine <= agenda_ids(agenda) and mine <= ids(roster["participants"])
        assert theirs["participant_id"] not in agenda_ids(agenda) | ids(roster["participants"])
        [row] = [r for r in roster["participants"] if r["participant_id"] == offered["participant_id"]]
        assert row["last_name"] == "Okonkwo" and row["offense_codes"] == ["35A"]

        for viewer in (
            sheriff,
            agency("kc-prosecutor", "prosecutor"),
            agency("lead-case-management", "case_management"),
            agency("evergreen-cm", "case_management"),
        ):
            agenda, roster = await views(service, viewer)
            assert not mine & (agenda_ids(agenda) | ids(roster["participants"]))
            page = await service.get(
                "/v1/owg/roster", params={"jurisdiction": SEA}, headers=viewer | {"accept": "text/html"}
            )
            assert "Okonkwo" not in page.text and offered["participant_id"] not in page.text

    async def test_a_permitted_row_shows_only_its_permitted_columns_and_each_is_a_recorded_decision(
        self, service: httpx.AsyncClient, consent: httpx.AsyncClient, consent_database: str, agency: Callable
    ) -> None:
        police, cm = agency("seattle-pd", "police"), agency("lead-case-management", "case_management")
        prosecutor = agency("kc-prosecutor", "prosecutor")
        created = await accepted(service, police, "Vasquez-Lund")
        handoff = {**HANDOFF, "case_management_agency": "lead-case-management"}
        assert (
            await service.post(f"/v1/referrals/{created['referral_id']}/handoff", json=handoff, headers=police)
        ).status_code == 200
        await grant(consent, cm, created["participant_id"], "kc-prosecutor", ["referral"])
        before = await permits(consent_database, created["participant_id"], "kc-prosecutor")

        agenda, roster = await views(service, prosecutor)
        served = [
            r for r in agenda_rows(agenda) + roster["participants"] if r["participant_id"] == created["participant_id"]
        ]
        assert served, "the row the ROI permits is served"
        for row in served:
            assert row["offense_codes"] == ["35A"] and row["status"] == "handed_off"
            assert not {"first_name", "last_name", "race", "gender", "age_band", "officer_name"} & set(row)
            assert not {"intake_completed", "case_manager_id"} & set(row)  # assessment: not permitted
        assert await permits(consent_database, created["participant_id"], "kc-prosecutor") - before == len(served)
        assert agenda["columns"]["first_name"] == "identity" and roster["columns"]["case_manager_id"] == "assessment"
        assert roster["columns"]["offense_codes"] == "referral"


class TestThePersonMatchQueueGoesThroughTheGate:
    async def test_names_and_reviews_are_shown_only_as_decided(
        self, service: httpx.AsyncClient, consent: httpx.AsyncClient, agency: Callable
    ) -> None:
        police, cm = agency("seattle-pd", "police"), agency("lead-case-management", "case_management")
        first = await accepted(service, police, "Abernathy")
        maybe_body = referral_body("Abernathy")
        maybe_body["person"]["first_name"] = "Robyn"
        maybe = (await service.post("/v1/referrals", json=maybe_body, headers=police)).json()
        assert maybe["participant_id"] != first["participant_id"]

        async def queue(pm: dict[str, str]) -> list[dict[str, Any]]:
            reply = await service.get("/v1/person-matches", params={"jurisdiction": SEA}, headers=pm)
            assert reply.status_code == 200, reply.text
            return [r for r in reply.json() if r["participant_id"] == maybe["participant_id"]]

        # A project manager no MOU names, without any ROI: nothing to see.
        assert await queue(agency("visiting-pm", "project_manager")) == []
        pm = agency("lead-project-manager", "project_manager")
        await service.post(f"/v1/referrals/{maybe['referral_id']}/acceptance", headers=police)
        for created in (first, maybe):
            handoff = {**HANDOFF, "case_management_agency": "lead-case-management"}
            await service.post(f"/v1/referrals/{created['referral_id']}/handoff", json=handoff, headers=police)
            await grant(consent, cm, created["participant_id"], "lead-project-manager", ["referral", "identity"])
        [review] = await queue(pm)
        assert review["candidate_participant_ids"] == [first["participant_id"]]
        assert [p.get("last_name") for p in review["people"]] == ["Abernathy", "Abernathy"]
        assert [p.get("first_name") for p in review["people"]] == ["Robyn", "Robin"]
        resolution = f"/v1/person-matches/{review['review_id']}/resolution"
        resolved = await service.post(resolution, json={"decision": "different_people"}, headers=pm)
        assert resolved.status_code == 200
        again = await service.post(resolution, json={"decision": "same_person"}, headers=pm)
        assert again.status_code == 409  # nothing is merged, and a decision stands


class TestTheWaitlist:
    async def test_over_capacity_an_approved_social_contact_referral_is_queued_not_lost(
        self, service: httpx.AsyncClient, module_nats: NatsServer, agency: Callable
    ) -> None:
        police, pm = agency("seattle-pd", "police"), agency("lead-project-manager", "project_manager")
        nc = await nats.connect(module_nats.url)
        try:
            await publish_as(
                nc, "casemgmt", ProgramCapacityChanged(active_participants=25, capacity=25, changed_at=NOW)
            )
            created = await refer(service, police, "Waite", referral_type="social_contact")
            decision = {"decision": "approved", "decided_by": "sgt-0912", "reason": "Meets criteria."}

            async def capacity_known() -> bool:
                manager = agency("lead-project-manager", "project_manager")
                agenda = await service.get("/v1/owg/agenda", params={"jurisdiction": SEA}, headers=manager)
                return agenda.json()["capacity"] == {"active_participants": 25, "capacity": 25}  # type: ignore[no-any-return]

            await eventually(capacity_known)
            path = f"/v1/referrals/{created['referral_id']}"
            approved = await service.post(f"{path}/owg-decision", json=decision, headers=pm)
            assert approved.json()["status"] == "waitlisted"
            handoff = HANDOFF | {"case_management_agency": "lead-case-management"}
            assert (await service.post(f"{path}/handoff", json=handoff, headers=police)).status_code == 409

            later = NOW + timedelta(minutes=1)
            await publish_as(
                nc, "casemgmt", ProgramCapacityChanged(active_participants=24, capacity=25, changed_at=later)
            )

            async def released() -> bool:
                return (await service.get(path, headers=police)).json()["status"] == "approved"  # type: ignore[no-any-return]

            await eventually(released)
            done = await service.post(f"{path}/handoff", json=handoff, headers=police)
            assert done.status_code == 200, done.text
        finally:
            await nc.close()


class TestTheProgramCountIsTheFacilitators:
    async def test_only_the_project_manager_sees_how_many_participants_the_program_carries(
        self, service: httpx.AsyncClient, agency: Callable, module_nats: NatsServer
    ) -> None:
        """Found from outside: the count moved when another agency's participant enrolled."""
        nc = await nats.connect(module_nats.url)
        try:
            later = NOW + timedelta(minutes=5)
            await publish_as(
                nc, "casemgmt", ProgramCapacityChanged(active_participants=7, capacity=40, changed_at=later)
            )
        finally:
            await nc.close()
        manager = agency("lead-project-manager", "project_manager")

        async def counted() -> bool:
            reply = await service.get("/v1/owg/agenda", params=MEETING, headers=manager)
            return reply.json()["capacity"] == {"active_participants": 7, "capacity": 40}  # type: ignore[no-any-return]

        await eventually(counted)
        police = await service.get("/v1/owg/agenda", params=MEETING, headers=agency("seattle-pd", "police"))
        assert police.status_code == 200 and police.json()["capacity"] is None


class TestMeetingDatesAreCalendarDates:
    @pytest.mark.parametrize("params", [{"date": "0001-01-01"}, {"date": "9999-12-31"}, {"since": "0001-01-01"}])
    async def test_a_date_no_meeting_could_have_is_a_422_naming_it(
        self, service: httpx.AsyncClient, agency: Callable, params: dict[str, str]
    ) -> None:
        """Found from outside: the look-back arithmetic overflowed into a 500."""
        reply = await service.get(
            "/v1/owg/agenda", params={"jurisdiction": SEA, **params}, headers=agency("seattle-pd", "police")
        )
        assert reply.status_code == 422 and reply.json()["field"] == next(iter(params))
