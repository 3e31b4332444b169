"""Issue 10, item 2: referred until intake, then enrolled; not enrolled with its reason, and not for ever.

Real PostgreSQL, NATS and consent service (which answers intake's ROI question).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import nats
import pytest

from casemgmt.bootstrap import create
from casemgmt.config import CaseMgmtSettings
from divert_contracts.prosecution import HeldChargeDeadlineMoved, IntakeDeadlineLapsed
from divert_contracts.referral import DiversionDeclined, WarmHandoffCompleted
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
DEADLINE = date(2026, 11, 20)
LEAD = "lead-case-management"
INTAKE = {
    "completed_at": "2026-11-23T10:00:00Z",
    "consent_to_participate": {"signed_at": "2026-11-23T09:30:00Z", "signed_document_sha256": "b" * 64},
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
def lead(tokens_for: Callable[..., dict[str, str]]) -> dict[str, str]:
    return tokens_for("case_management", agency=LEAD)


class Person:
    def __init__(self, service: httpx.AsyncClient, bus: nats.NATS, lead: dict[str, str]) -> None:
        self.service, self.bus, self.lead = service, bus, lead
        self.id, self.referral_id = str(uuid4()), str(uuid4())

    async def offered(self, case_manager: str = "cm-ana", referral_id: str | None = None) -> Person:
        referral_id = referral_id or self.referral_id
        offer = diversion_offered(referral_id, self.id, intake_deadline=DEADLINE, offered_at=NOW)
        await publish_as(self.bus, "referral", offer)
        handoff = WarmHandoffCompleted(
            referral_id=referral_id,
            participant_id=self.id,
            case_manager_id=case_manager,
            completed_at=NOW,
            case_management_agency=LEAD,
        )
        await publish_as(self.bus, "referral", handoff)
        await self.becomes("referred")
        return self

    async def stands(self) -> dict[str, Any]:
        reply = await self.service.get(f"/v1/participants/{self.id}", headers=self.lead)
        return reply.json() if reply.status_code == 200 else {}

    async def becomes(self, enrolment: str, reason: str | None = None) -> dict[str, Any]:
        async def there() -> dict[str, Any] | None:
            got = await self.stands()
            return got if got.get("enrolment") == enrolment and got.get("not_enrolled_reason") == reason else None

        return await eventually(there)

    async def lapse(self) -> None:
        lapsed = IntakeDeadlineLapsed(
            referral_id=self.referral_id, participant_id=self.id, intake_deadline=DEADLINE, lapsed_at=NOW
        )
        await publish_as(self.bus, "prosecution", lapsed)
        await self.becomes("not_enrolled", "intake_lapsed")

    async def intake(self, roi_naming: Callable[..., Any]) -> httpx.Response:
        await roi_naming(self.id, LEAD, self.lead)
        return await self.service.post(f"/v1/participants/{self.id}/intake", json=INTAKE, headers=self.lead)


class TestReferredUntilIntake:
    async def test_an_offer_is_referred_with_no_status_and_a_decline_is_not_enrolled_declined(
        self, service: httpx.AsyncClient, bus: nats.NATS, lead: dict[str, str]
    ) -> None:
        sub = await bus.jetstream().subscribe(f"lead.{J}.casemgmt.EnrolmentChanged", ordered_consumer=True)
        person = await Person(service, bus, lead).offered()
        got = await person.stands()
        assert (got["status"], got["intake_deadline"], got["case_manager_id"]) == (None, "2026-11-20", "cm-ana")
        declined = DiversionDeclined(referral_id=person.referral_id, participant_id=person.id, declined_at=NOW)
        await publish_as(bus, "referral", declined)
        await person.becomes("not_enrolled", "declined")
        published = []
        while len(published) < 2:
            envelope = json.loads((await sub.next_msg(timeout=10)).data)
            if envelope["data"]["participant_id"] == person.id:
                published.append((envelope["data"]["enrolment"], envelope["data"]["not_enrolled_reason"]))
        await sub.unsubscribe()
        assert published == [("referred", None), ("not_enrolled", "declined")]

    async def test_a_late_intake_after_a_lapse_enrols_and_covers_the_lapsed_referral(
        self, service: httpx.AsyncClient, bus: nats.NATS, lead: dict[str, str], roi_naming: Callable
    ) -> None:
        person = await Person(service, bus, lead).offered()
        await person.lapse()
        sub = await bus.jetstream().subscribe(f"lead.{J}.casemgmt.IntakeCompleted", ordered_consumer=True)
        reply = await person.intake(roi_naming)
        assert reply.status_code == 200, reply.text
        while (envelope := json.loads((await sub.next_msg(timeout=10)).data))["data"]["participant_id"] != person.id:
            pass
        await sub.unsubscribe()
        assert envelope["data"]["referral_ids"] == [person.referral_id]
        got = await person.becomes("enrolled")
        assert (got["status"], got["intake_deadline"]) == ("active", None)

    async def test_an_extension_after_a_lapse_makes_the_person_referred_again(
        self, service: httpx.AsyncClient, bus: nats.NATS, lead: dict[str, str], tokens_for: Callable
    ) -> None:
        person = await Person(service, bus, lead).offered()
        await person.lapse()
        body = {
            "intake_deadline": "2026-12-10",
            "law_enforcement_agency": "seattle-pd",
            "law_enforcement_agreed": True,
            "reason": "Hospitalised.",
        }
        pm = tokens_for("project_manager", agency="lead-project-manager")
        granted = await service.post(f"/v1/participants/{person.id}/intake-extension", json=body, headers=pm)
        assert granted.status_code == 200, granted.text
        assert (await person.becomes("referred"))["intake_deadline"] == "2026-12-10"

    async def test_the_prosecutor_moving_a_lapsed_deadline_makes_the_person_referred_again(
        self, service: httpx.AsyncClient, bus: nats.NATS, lead: dict[str, str]
    ) -> None:
        person = await Person(service, bus, lead).offered()
        await person.lapse()
        moved = HeldChargeDeadlineMoved(
            referral_id=person.referral_id, participant_id=person.id, intake_deadline=date(2026, 12, 5), moved_at=NOW
        )
        await publish_as(bus, "prosecution", moved)
        assert (await person.becomes("referred"))["intake_deadline"] == "2026-12-05"

    async def test_withdrawal_before_intake_is_not_enrolled_until_a_new_offer(
        self, service: httpx.AsyncClient, bus: nats.NATS, lead: dict[str, str]
    ) -> None:
        person = await Person(service, bus, lead).offered()
        path = f"/v1/participants/{person.id}/withdrawal"
        withdrawn = await service.post(path, headers=lead)
        assert withdrawn.status_code == 200 and withdrawn.json()["not_enrolled_reason"] == "withdrew", withdrawn.text
        again = await service.post(path, headers=lead)
        assert again.status_code == 409 and again.json()["rule"] == "withdrawal_before_intake"
        assert (await person.stands())["not_enrolled_reason"] == "withdrew"
        await person.offered(referral_id=str(uuid4()))

    async def test_withdrawal_after_intake_is_refused(
        self, service: httpx.AsyncClient, bus: nats.NATS, lead: dict[str, str], roi_naming: Callable
    ) -> None:
        person = await Person(service, bus, lead).offered()
        assert (await person.intake(roi_naming)).status_code == 200
        refused = await service.post(f"/v1/participants/{person.id}/withdrawal", headers=lead)
        assert refused.status_code == 409 and (await person.stands())["enrolment"] == "enrolled"


class TestWhoSeesWhereAPersonStands:
    async def test_the_owg_reads_it_under_the_mou_and_police_read_it_as_unknown(
        self, service: httpx.AsyncClient, bus: nats.NATS, lead: dict[str, str], tokens_for: Callable
    ) -> None:
        person = await Person(service, bus, lead).offered()
        pm = tokens_for("project_manager", agency="lead-project-manager")
        seen = await service.get(f"/v1/participants/{person.id}", headers=pm)
        assert seen.status_code == 200 and seen.json()["enrolment"] == "referred", seen.text
        police = tokens_for("police", agency="seattle-pd")
        withheld = await service.get(f"/v1/participants/{person.id}", headers=police)
        unknown = await service.get(f"/v1/participants/{uuid4()}", headers=police)
        assert withheld.status_code == unknown.status_code == 403 and withheld.json() == unknown.json()


class TestListsAndCaseloadsUseEnrolment:
    async def test_a_case_manager_carries_enrolled_active_or_inactive_and_referred_people_only(
        self, service: httpx.AsyncClient, bus: nats.NATS, lead: dict[str, str], roi_naming: Callable
    ) -> None:
        cm = f"cm-{uuid4().hex[:8]}"
        referred = await Person(service, bus, lead).offered(cm)
        declined = await Person(service, bus, lead).offered(cm)
        await publish_as(
            bus,
            "referral",
            DiversionDeclined(referral_id=declined.referral_id, participant_id=declined.id, declined_at=NOW),
        )
        await declined.becomes("not_enrolled", "declined")
        inactive = await Person(service, bus, lead).offered(cm)
        assert (await inactive.intake(roi_naming)).status_code == 200
        status = {"status": "inactive", "reason": "not_seen_90_days"}
        assert (await service.post(f"/v1/participants/{inactive.id}/status", json=status, headers=lead)).is_success
        loads = (await service.get("/v1/caseloads", params={"jurisdiction": J}, headers=lead)).json()
        [load] = [c for c in loads["case_managers"] if c["case_manager_id"] == cm]
        assert (load["active"], load["inactive"], load["referred"], load["total"]) == (0, 1, 1, 2)
        page = await service.get(
            "/v1/participants", params={"jurisdiction": J, "enrolment": "not_enrolled"}, headers=lead
        )
        listed = {i["participant_id"]: i for i in page.json()["items"]}
        assert declined.id in listed and referred.id not in listed and inactive.id not in listed
        assert listed[declined.id]["status"] is None and listed[declined.id]["not_enrolled_reason"] == "declined"
