"""Issue 9's read rule in the prosecution service, on real PostgreSQL and NATS.

A held charge is the site's prosecutor office's; a case (and its court dates) is the registering office's. The
owner reads and acts in full; another office of the same site, or the same agency id in another jurisdiction,
reads only through a consent decision (cases, court dates) or not at all (held charges, the queue), and acts on
nothing: every refusal is exactly what an unknown id gets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import nats
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from divert_contracts.casemgmt import IntakeCompleted, IntakeDeadlineExtended
from divert_contracts.referral import DiversionDeclined
from divert_devstack.nats import NatsServer
from divert_devstack.testing import eventually, publish_as, service_settings
from divert_kernel.clock import FixedClock
from divert_kernel.db import make_engine
from prosecution.bootstrap import create
from prosecution.config import ProsecutionSettings

SEATTLE, SANTA_FE = "seattle-king-county", "santa-fe"
UNKNOWN = "6f1c2a52-0000-4000-8000-000000000000"
ACTIONS = ["filing", "non-filing", "abeyance", "reopening"]


@pytest.fixture(scope="module")
def app(
    database: str, module_nats: NatsServer, jwks_file: Path, sites_file: Path, clock: FixedClock, consent: Any
) -> FastAPI:
    settings = ProsecutionSettings(
        **service_settings(
            database_url=database, nats_url=module_nats.url, jwks_file=jwks_file, consent_url=consent.url
        ),
        sites_file=str(sites_file),
        lapse_every_seconds=3600,
    )
    return create(settings, clock)


@pytest.fixture(scope="module")
def callers(tokens_for: Callable[..., dict[str, str]]) -> dict[str, dict[str, str]]:
    return {
        "office": tokens_for("prosecutor", agency="kc-prosecutor"),
        # The same agency id, acting in the other jurisdiction: another agency.
        "same_id_in_santa_fe": tokens_for("prosecutor", agency="kc-prosecutor", jurisdictions=[SANTA_FE]),
        # A second prosecutor agency of the same site: another agency.
        "second_office": tokens_for("prosecutor", agency="seattle-city-attorney"),
        "santa_fe_office": tokens_for("prosecutor", agency="santa-fe-da", jurisdictions=[SANTA_FE]),
        "police": tokens_for("police", agency="seattle-pd"),
    }


def answer(reply: httpx.Response) -> tuple[int, Any]:
    return reply.status_code, reply.json()


async def held(
    service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, auth: dict[str, str], jurisdiction: str = SEATTLE
) -> tuple[str, str]:
    """A charge held from a diversion offered in `jurisdiction`, once its office can read it."""
    referral_id, participant_id = str(uuid4()), str(uuid4())
    await publish_as(bus, "referral", offer(referral_id, participant_id), jurisdiction=jurisdiction)

    async def readable() -> bool:
        return (await service.get(f"/v1/held-charges/{referral_id}", headers=auth)).status_code == 200

    await eventually(readable)
    return referral_id, participant_id


async def act(service: httpx.AsyncClient, referral_id: str, action: str, auth: dict[str, str]) -> httpx.Response:
    body = {"meets_filing_standards": True} if action == "filing" else None
    return await service.post(f"/v1/held-charges/{referral_id}/{action}", json=body, headers=auth)


class TestAHeldChargeIsTheSiteOfficesAlone:
    async def test_charge_held_names_the_office_that_holds_it(
        self, service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, callers: dict
    ) -> None:
        referral_id, _ = await held(service, bus, offer, callers["office"])
        reply = await service.get(f"/v1/held-charges/{referral_id}", headers=callers["office"])
        assert reply.json()["prosecutor_agency"] == "kc-prosecutor"
        published = await bus.jetstream().subscribe(f"lead.{SEATTLE}.prosecution.ChargeHeld", ordered_consumer=True)

        async def charge_held() -> dict | None:
            async for message in published.messages:
                data = json.loads(message.data)["data"]
                if data["referral_id"] == referral_id:
                    return data  # type: ignore[no-any-return]
            return None

        data = await eventually(charge_held)
        assert data["prosecutor_agency"] == "kc-prosecutor"
        await published.unsubscribe()

    @pytest.mark.parametrize("caller", ["same_id_in_santa_fe", "second_office"])
    async def test_another_office_reads_it_exactly_as_an_unknown_id_and_no_gate_is_asked(
        self, service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, callers: dict, consent: Any, caller: str
    ) -> None:
        seattle, _ = await held(service, bus, offer, callers["office"])
        santa_fe, _ = await held(service, bus, offer, callers["santa_fe_office"], jurisdiction=SANTA_FE)
        consent.requests.clear()
        unknown = answer(await service.get(f"/v1/held-charges/{UNKNOWN}", headers=callers[caller]))
        assert unknown[0] == 404
        for referral_id in (seattle, santa_fe):
            assert answer(await service.get(f"/v1/held-charges/{referral_id}", headers=callers[caller])) == unknown
        assert consent.requests == []  # no agency but the holding office has any use for a held charge

    @pytest.mark.parametrize("caller", ["same_id_in_santa_fe", "second_office"])
    async def test_another_office_cannot_act_on_it_and_learns_nothing(
        self,
        service: httpx.AsyncClient,
        app: FastAPI,
        bus: nats.NATS,
        offer: Callable,
        lapse: Callable,
        clock: FixedClock,
        callers: dict,
        caller: str,
    ) -> None:
        clock.at = datetime(2026, 11, 1, 9, tzinfo=UTC)
        referral_id, _ = await held(service, bus, offer, callers["office"])
        santa_fe, _ = await held(service, bus, offer, callers["santa_fe_office"], jurisdiction=SANTA_FE)
        clock.at = datetime(2026, 12, 5, tzinfo=UTC)
        await lapse(app)
        for action in ACTIONS:
            unknown = answer(await act(service, UNKNOWN, action, callers[caller]))
            assert unknown[0] == 404
            assert answer(await act(service, referral_id, action, callers[caller])) == unknown, action
            assert answer(await act(service, santa_fe, action, callers[caller])) == unknown, action
        for auth, charge in ((callers["office"], referral_id), (callers["santa_fe_office"], santa_fe)):
            assert (await service.get(f"/v1/held-charges/{charge}", headers=auth)).json()["status"] == "lapsed"
        filed = await act(service, referral_id, "filing", callers["office"])
        assert filed.status_code == 200 and filed.json()["status"] == "filed"

    async def test_another_agency_type_is_told_the_rule_whatever_the_record(
        self, service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, callers: dict
    ) -> None:
        referral_id, _ = await held(service, bus, offer, callers["office"])
        for action in ACTIONS:
            told = answer(await act(service, referral_id, action, callers["police"]))
            assert told[0] == 409 and "intake" in told[1]["detail"]
            assert answer(await act(service, UNKNOWN, action, callers["police"])) == told, action


def case_body(participant_id: str, jurisdiction: str = SEATTLE) -> dict[str, Any]:
    return {
        "participant_id": participant_id,
        "jurisdiction": jurisdiction,
        "kind": "post_diversion",
        "docket_number": "26-1-04321-5 SEA",
        "court": "King County District Court",
        "charges": [{"code": "23H", "description": "Theft 3"}],
        "filed_at": "2026-11-15",
    }


async def registered(
    service: httpx.AsyncClient, participant_id: str, auth: dict[str, str], jurisdiction: str = SEATTLE
) -> str:
    """A case registered by the caller's office, with a hearing on 2026-12-03."""
    created = await service.post("/v1/cases", json=case_body(participant_id, jurisdiction), headers=auth)
    assert created.status_code == 201, created.text
    case_id: str = created.json()["case_id"]
    hearing = {"scheduled_for": "2026-12-03T09:00:00Z", "hearing": "review"}
    assert (await service.post(f"/v1/cases/{case_id}/court-dates", json=hearing, headers=auth)).status_code == 201
    return case_id


@pytest.fixture
def november(clock: FixedClock) -> None:
    clock.at = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.mark.usefixtures("november")
class TestACaseIsTheRegisteringOffices:
    @pytest.mark.parametrize("caller", ["same_id_in_santa_fe", "second_office"])
    async def test_another_office_reads_it_only_through_the_gate_exactly_as_an_unknown_case(
        self,
        service: httpx.AsyncClient,
        bus: nats.NATS,
        offer: Callable,
        callers: dict,
        consent: Any,
        caller: str,
        tokens_for: Callable,
    ) -> None:
        _, participant_id = await held(service, bus, offer, callers["office"])
        case_id = await registered(service, participant_id, callers["office"])
        consent.requests.clear()
        assert (await service.get(f"/v1/cases/{case_id}", headers=callers["office"])).status_code == 200
        assert consent.requests == []  # the owner reads in full, no decision needed
        unknown = answer(await service.get(f"/v1/cases/{UNKNOWN}", headers=callers[caller]))
        assert unknown[0] == 403
        assert answer(await service.get(f"/v1/cases/{case_id}", headers=callers[caller])) == unknown
        agency = "seattle-city-attorney" if caller == "second_office" else "kc-prosecutor"
        assert consent.asked(agency) == ["legal_case", "legal_case"]  # asked for the unknown one too

    async def test_with_a_decision_another_office_reads_it(
        self, service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, callers: dict, consent: Any
    ) -> None:
        _, participant_id = await held(service, bus, offer, callers["office"])
        case_id = await registered(service, participant_id, callers["office"])
        consent.permits.add(("seattle-city-attorney", "legal_case"))
        try:
            reply = await service.get(f"/v1/cases/{case_id}", headers=callers["second_office"])
        finally:
            consent.permits.clear()
        assert reply.status_code == 200 and reply.json()["case_id"] == case_id

    @pytest.mark.parametrize("caller", ["same_id_in_santa_fe", "second_office"])
    async def test_another_office_cannot_review_it_or_schedule_in_it(
        self, service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, callers: dict, caller: str
    ) -> None:
        _, participant_id = await held(service, bus, offer, callers["office"])
        case_id = await registered(service, participant_id, callers["office"])
        writes = {
            "reviews": {"decision": "decline_to_file", "rationale": "Not ours to decide."},
            "court-dates": {"scheduled_for": "2026-12-10T09:00:00Z", "hearing": "trial"},
        }
        for path, body in writes.items():
            unknown = answer(await service.post(f"/v1/cases/{UNKNOWN}/{path}", json=body, headers=callers[caller]))
            assert unknown[0] == 404
            reply = await service.post(f"/v1/cases/{case_id}/{path}", json=body, headers=callers[caller])
            assert answer(reply) == unknown, path
        case = (await service.get(f"/v1/cases/{case_id}", headers=callers["office"])).json()
        assert case["reviews"] == [] and [d["hearing"] for d in case["court_dates"]] == ["review"]

    async def test_a_case_the_second_office_registers_is_its_own(
        self, service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, callers: dict
    ) -> None:
        _, participant_id = await held(service, bus, offer, callers["office"])
        case_id = await registered(service, participant_id, callers["second_office"])
        assert (await service.get(f"/v1/cases/{case_id}", headers=callers["second_office"])).status_code == 200
        assert (await service.get(f"/v1/cases/{case_id}", headers=callers["office"])).status_code == 403


@pytest.mark.usefixtures("november")
class TestCourtDatesAreTheirCasesOffices:
    async def test_each_office_reads_its_own_and_anothers_only_through_the_gate(
        self, service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, callers: dict, consent: Any
    ) -> None:
        _, participant_id = await held(service, bus, offer, callers["office"])
        await registered(service, participant_id, callers["office"])
        path = f"/v1/participants/{participant_id}/court-dates"
        consent.requests.clear()
        assert [d["hearing"] for d in (await service.get(path, headers=callers["office"])).json()] == ["review"]
        assert consent.requests == []
        for caller in ("same_id_in_santa_fe", "second_office"):
            unknown = answer(await service.get(f"/v1/participants/{UNKNOWN}/court-dates", headers=callers[caller]))
            assert unknown[0] == 403
            assert answer(await service.get(path, headers=callers[caller])) == unknown, caller
        assert consent.asked("seattle-city-attorney") == ["court_dates", "court_dates"]

    async def test_an_office_with_a_case_of_its_own_sees_only_its_own_without_a_decision(
        self, service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, callers: dict, consent: Any
    ) -> None:
        _, participant_id = await held(service, bus, offer, callers["office"])
        theirs = await registered(service, participant_id, callers["office"])
        mine = await registered(service, participant_id, callers["second_office"])
        path = f"/v1/participants/{participant_id}/court-dates"
        seen = (await service.get(path, headers=callers["second_office"])).json()
        assert [d["case_id"] for d in seen] == [mine]
        consent.permits.add(("seattle-city-attorney", "court_dates"))
        try:
            seen = (await service.get(path, headers=callers["second_office"])).json()
        finally:
            consent.permits.clear()
        assert {d["case_id"] for d in seen} == {mine, theirs}


class TestTheQueueListsTheOfficesOwnRecords:
    async def test_another_office_sees_none_of_the_holding_offices_work(
        self, service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, callers: dict, clock: FixedClock
    ) -> None:
        clock.at = datetime(2026, 11, 28, tzinfo=UTC)  # the deadline (12-01) and the hearing (12-03) are near
        referral_id, participant_id = await held(service, bus, offer, callers["office"])
        case_id = await registered(service, participant_id, callers["office"])
        santa_fe, santa_fe_participant = await held(
            service, bus, offer, callers["santa_fe_office"], jurisdiction=SANTA_FE
        )
        santa_fe_case = await registered(service, santa_fe_participant, callers["santa_fe_office"], SANTA_FE)

        async def queue(caller: str, jurisdiction: str) -> set[str]:
            params = {"jurisdiction": jurisdiction, "limit": "200"}
            page = await service.get("/v1/prosecution/queue", params=params, headers=callers[caller])
            assert page.status_code == 200, page.text
            return {i["id"] for i in page.json()["items"]}

        assert {referral_id, case_id} <= await queue("office", SEATTLE)
        assert {santa_fe, santa_fe_case} <= await queue("santa_fe_office", SANTA_FE)
        assert not {referral_id, case_id} & await queue("second_office", SEATTLE)
        assert not {santa_fe, santa_fe_case} & await queue("same_id_in_santa_fe", SANTA_FE)


class TestEventsOfAnotherJurisdiction:
    async def test_never_touch_a_charge_held_in_this_one(
        self, service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, callers: dict, clock: FixedClock
    ) -> None:
        clock.at = datetime(2026, 11, 2, tzinfo=UTC)
        at = datetime(2026, 11, 3, tzinfo=UTC)
        extended, closed, declined, marker = [await held(service, bus, offer, callers["office"]) for _ in range(4)]
        agreed = {"granted_by": "owg", "law_enforcement_agency": "seattle-pd", "extended_at": at}

        def extension(charge: tuple[str, str], until: date) -> IntakeDeadlineExtended:
            return IntakeDeadlineExtended(
                participant_id=charge[1], referral_ids=[charge[0]], intake_deadline=until, **agreed
            )

        foreign = [
            ("casemgmt", extension(extended, date(2027, 1, 9))),
            ("casemgmt", IntakeCompleted(participant_id=closed[1], referral_ids=[closed[0]], completed_at=at)),
            ("referral", DiversionDeclined(referral_id=declined[0], participant_id=declined[1], declined_at=at)),
        ]
        for stream, event in foreign:
            await publish_as(bus, stream, event, jurisdiction=SANTA_FE)
        # Each stream is consumed in order: once these Seattle events show, the Santa Fe ones were handled.
        await publish_as(bus, "casemgmt", extension(marker, date(2026, 12, 20)))
        await held(service, bus, offer, callers["office"])

        async def current(charge: tuple[str, str]) -> dict:
            reply = await service.get(f"/v1/held-charges/{charge[0]}", headers=callers["office"])
            return reply.json()  # type: ignore[no-any-return]

        async def marker_moved() -> bool:
            return (await current(marker))["intake_deadline"] == "2026-12-20"

        await eventually(marker_moved)
        for charge in (extended, closed, declined):
            seen = await current(charge)
            assert (seen["status"], seen["intake_deadline"]) == ("held", "2026-12-01")


class TestAChargeHeldBeforeOfficesWereNamed:
    async def test_is_the_site_offices(
        self, service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, callers: dict, database: str
    ) -> None:
        referral_id, _ = await held(service, bus, offer, callers["office"])
        engine = make_engine(database)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    sa.text("UPDATE held_charges SET prosecutor_agency = NULL WHERE referral_id = CAST(:id AS uuid)"),
                    {"id": referral_id},
                )
        finally:
            await engine.dispose()
        path = f"/v1/held-charges/{referral_id}"
        reply = await service.get(path, headers=callers["office"])
        assert reply.status_code == 200 and reply.json()["prosecutor_agency"] == "kc-prosecutor"
        assert (await service.get(path, headers=callers["second_office"])).status_code == 404
