"""Linked records are one person for every read (issue 10 item 9), with the real consent service deciding the
reads that cross agencies: court dates, cases and the queue answer under the survivor for either id."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import nats
import pytest
from fastapi import FastAPI

from divert_contracts.referral import ParticipantsLinked, WarmHandoffCompleted
from divert_devstack.nats import NatsServer
from divert_devstack.testing import eventually, publish_as, service_settings
from divert_kernel.clock import FixedClock
from prosecution.bootstrap import create
from prosecution.config import ProsecutionSettings

J = "seattle-king-county"
LEAD = "lead-case-management"
DEFENDER = "kc-public-defender"


@pytest.fixture(scope="module")
def app(
    database: str, module_nats: NatsServer, jwks_file: Path, sites_file: Path, clock: FixedClock, real_consent_url: str
) -> FastAPI:
    settings = ProsecutionSettings(
        **service_settings(
            database_url=database, nats_url=module_nats.url, jwks_file=jwks_file, consent_url=real_consent_url
        ),
        sites_file=str(sites_file),
        lapse_every_seconds=3600,
    )
    return create(settings, clock)


@pytest.fixture(scope="module")
async def consent(real_consent_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=real_consent_url, timeout=10) as client:
        yield client


async def referred(bus: nats.NATS, offer: Callable, participant_id: str, holder: str | None = None) -> str:
    referral_id = str(uuid4())
    await publish_as(bus, "referral", offer(referral_id, participant_id))
    if holder:
        handoff = WarmHandoffCompleted(
            referral_id=referral_id,
            participant_id=participant_id,
            case_manager_id="cm-ana",
            completed_at=datetime(2026, 11, 2, tzinfo=UTC),
            case_management_agency=holder,
        )
        await publish_as(bus, "referral", handoff)
    return referral_id


async def roi_naming_the_defender(consent: httpx.AsyncClient, participant_id: str, lead: dict[str, str]) -> None:
    """The participant's ROI, recorded by the holding provider: court dates to the public defender."""
    now = datetime.now(UTC)
    body = {
        "participant_id": participant_id,
        "jurisdiction": J,
        "grants": [{"recipient_agency": DEFENDER, "categories": ["court_dates"], "purposes": ["defense"]}],
        "effective_at": (now - timedelta(days=1)).isoformat(),
        "expires_at": (now + timedelta(days=365)).isoformat(),
        "signed_document_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    }

    async def recorded() -> bool:
        return (await consent.post("/v1/consents", json=body, headers=lead)).status_code == 201

    await eventually(recorded)


def case_body(participant_id: str, docket: str) -> dict[str, Any]:
    return {
        "participant_id": participant_id,
        "jurisdiction": J,
        "kind": "legacy",
        "docket_number": docket,
        "court": "King County District Court",
        "charges": [{"code": "23H", "description": "Theft 3"}],
        "filed_at": "2026-10-15",
    }


class TestAMergedRecordReadsAsItsSurvivor:
    async def test_court_dates_cases_and_the_queue_answer_for_the_one_person(
        self,
        service: httpx.AsyncClient,
        consent: httpx.AsyncClient,
        bus: nats.NATS,
        offer: Callable,
        office: dict[str, str],
        clock: FixedClock,
        tokens_for: Callable,
    ) -> None:
        clock.at = datetime(2026, 11, 20, tzinfo=UTC)
        defender = tokens_for("defender", agency=DEFENDER)
        survivor, merged = str(uuid4()), str(uuid4())
        await referred(bus, offer, survivor, holder=LEAD)
        await referred(bus, offer, merged)
        await roi_naming_the_defender(consent, survivor, tokens_for("case_management", agency=LEAD))

        async def register(participant_id: str, docket: str) -> str:
            async def created() -> httpx.Response | None:
                reply = await service.post("/v1/cases", json=case_body(participant_id, docket), headers=office)
                return reply if reply.status_code == 201 else None

            case_id = (await eventually(created)).json()["case_id"]
            hearing = {"scheduled_for": "2026-12-03T17:00:00Z", "hearing": "review"}
            assert (await service.post(f"/v1/cases/{case_id}/court-dates", json=hearing, headers=office)).is_success
            return case_id  # type: ignore[no-any-return]

        before = await register(merged, "D-BEFORE")
        linked = ParticipantsLinked(
            review_id="rev-9", survivor_participant_id=survivor, merged_participant_id=merged, linked_at=clock.at
        )
        await publish_as(bus, "referral", linked)

        async def case_of_survivor() -> bool:
            reply = await service.get(f"/v1/cases/{before}", headers=office)
            return reply.json()["participant_id"] == survivor

        await eventually(case_of_survivor)
        after = await register(merged, "D-AFTER")
        assert (await service.get(f"/v1/cases/{after}", headers=office)).json()["participant_id"] == survivor

        for reader in (office, defender):
            for participant_id in (survivor, merged):
                reply = await service.get(f"/v1/participants/{participant_id}/court-dates", headers=reader)
                assert reply.status_code == 200, reply.text
                assert {d["case_id"] for d in reply.json()} == {before, after}

        queue = await service.get("/v1/prosecution/queue", params={"jurisdiction": J, "limit": "200"}, headers=office)
        mine = {i["id"]: i["participant_id"] for i in queue.json()["items"] if i["id"] in (before, after)}
        assert mine == {before: survivor, after: survivor}

    async def test_without_the_participants_roi_the_defender_reads_what_an_unknown_id_reads(
        self, service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, office: dict[str, str], tokens_for: Callable
    ) -> None:
        defender = tokens_for("defender", agency=DEFENDER)
        survivor, merged = str(uuid4()), str(uuid4())
        await referred(bus, offer, survivor, holder=LEAD)
        await referred(bus, offer, merged)
        linked = ParticipantsLinked(
            review_id="rev-10",
            survivor_participant_id=survivor,
            merged_participant_id=merged,
            linked_at=datetime(2026, 11, 20, tzinfo=UTC),
        )
        await publish_as(bus, "referral", linked)
        marker = await referred(bus, offer, str(uuid4()))  # the referral stream is consumed in order

        async def marker_held() -> bool:
            return (await service.get(f"/v1/held-charges/{marker}", headers=office)).status_code == 200

        await eventually(marker_held)
        withheld = await service.get(f"/v1/participants/{merged}/court-dates", headers=defender)
        unknown = await service.get(f"/v1/participants/{uuid4()}/court-dates", headers=defender)
        assert withheld.status_code == unknown.status_code and withheld.status_code in (403, 404)
        assert withheld.json() == unknown.json()
