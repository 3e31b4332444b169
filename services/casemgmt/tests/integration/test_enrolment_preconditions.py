"""Issue 10, item 1: intake enrols only with the participant's consent to take part and a signed ROI naming the
holding provider on file, asked of the real consent service at the moment of intake (behind a front that can
take it down, or answer as it does before it has seen the hand-off; see conftest)."""

from __future__ import annotations

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

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
LEAD = "lead-case-management"
INTAKE = {
    "completed_at": "2026-11-23T10:00:00Z",
    "consent_to_participate": {"signed_at": "2026-11-23T09:30:00Z", "signed_document_sha256": "f" * 64},
}


@pytest.fixture(scope="module")
def roi(consent_front: Any) -> Any:
    return consent_front


@pytest.fixture(scope="module")
async def service(
    postgres: PostgresServer, module_nats: NatsServer, jwks_file: Path, roi: Any
) -> AsyncIterator[httpx.AsyncClient]:
    database = await create_database(postgres, "casemgmt")
    settings = CaseMgmtSettings(
        **service_settings(database_url=database, nats_url=module_nats.url, jwks_file=jwks_file, consent_url=roi.url)
    )
    async with running(create(settings, FixedClock(NOW))) as client:
        yield client


async def participant(service: httpx.AsyncClient, bus: nats.NATS, auth: dict[str, str]) -> str:
    """A referred participant handed off to `lead-case-management`."""
    participant_id, referral_id = str(uuid4()), str(uuid4())
    offer = diversion_offered(referral_id, participant_id, intake_deadline=date(2026, 12, 20), offered_at=NOW)
    await publish_as(bus, "referral", offer)
    handoff = WarmHandoffCompleted(
        referral_id=referral_id,
        participant_id=participant_id,
        case_manager_id="cm-ana",
        completed_at=NOW,
        case_management_agency=LEAD,
    )
    await publish_as(bus, "referral", handoff)

    async def held() -> bool:
        return (await service.get(f"/v1/participants/{participant_id}", headers=auth)).status_code == 200

    await eventually(held)
    return participant_id


async def enrolment_of(service: httpx.AsyncClient, participant_id: str, auth: dict[str, str]) -> tuple[Any, ...]:
    got = (await service.get(f"/v1/participants/{participant_id}", headers=auth)).json()
    return got["enrolment"], got["not_enrolled_reason"], got["status"]


class TestEnrolmentPreconditions:
    async def test_without_consent_to_take_part_it_is_refused_naming_it(
        self, service: httpx.AsyncClient, bus: nats.NATS, tokens_for: Callable, roi: Any, roi_naming: Callable
    ) -> None:
        cm = tokens_for("case_management", agency=LEAD)
        participant_id = await participant(service, bus, cm)
        await roi_naming(participant_id, LEAD, cm)
        path = f"/v1/participants/{participant_id}/intake"
        missing = await service.post(path, json={"completed_at": INTAKE["completed_at"]}, headers=cm)
        assert missing.status_code == 422 and missing.json()["field"] == "consent_to_participate", missing.text
        not_a_hash = INTAKE | {
            "consent_to_participate": {"signed_at": "2026-11-23T09:30:00Z", "signed_document_sha256": "x"}
        }
        bad = await service.post(path, json=not_a_hash, headers=cm)
        assert bad.status_code == 422 and bad.json()["field"] == "consent_to_participate.signed_document_sha256"
        assert await enrolment_of(service, participant_id, cm) == ("referred", None, None)

    async def test_without_an_roi_on_file_it_is_refused_naming_roi_and_changes_nothing(
        self, service: httpx.AsyncClient, bus: nats.NATS, tokens_for: Callable, roi: Any, roi_naming: Callable
    ) -> None:
        cm = tokens_for("case_management", agency=LEAD)
        participant_id = await participant(service, bus, cm)
        refused = await service.post(f"/v1/participants/{participant_id}/intake", json=INTAKE, headers=cm)
        assert refused.status_code == 422 and refused.json()["field"] == "roi", refused.text
        assert await enrolment_of(service, participant_id, cm) == ("referred", None, None)
        await roi_naming(participant_id, LEAD, cm)
        done = await service.post(f"/v1/participants/{participant_id}/intake", json=INTAKE, headers=cm)
        assert done.status_code == 200, done.text

    async def test_before_the_consent_service_saw_the_handoff_it_is_409_with_retry_after(
        self,
        service: httpx.AsyncClient,
        bus: nats.NATS,
        tokens_for: Callable,
        roi: Any,
        roi_naming: Callable,
    ) -> None:
        cm = tokens_for("case_management", agency=LEAD)
        participant_id = await participant(service, bus, cm)
        # The front answers as the consent service does before it has consumed the hand-off.
        roi.handoff_unseen.add(participant_id)
        reply = await service.post(f"/v1/participants/{participant_id}/intake", json=INTAKE, headers=cm)
        assert reply.status_code == 409 and int(reply.headers["Retry-After"]) > 0, reply.text
        assert reply.headers["content-type"] == "application/problem+json" and reply.json()["rule"] == "roi_on_file"
        assert await enrolment_of(service, participant_id, cm) == ("referred", None, None)

    async def test_when_the_consent_service_cannot_answer_it_is_503_and_changes_nothing(
        self, service: httpx.AsyncClient, bus: nats.NATS, tokens_for: Callable, roi: Any, roi_naming: Callable
    ) -> None:
        cm = tokens_for("case_management", agency=LEAD)
        participant_id = await participant(service, bus, cm)
        await roi_naming(participant_id, LEAD, cm)
        roi.down = True
        try:
            reply = await service.post(f"/v1/participants/{participant_id}/intake", json=INTAKE, headers=cm)
        finally:
            roi.down = False
        assert reply.status_code == 503 and "consent" in reply.json()["detail"], reply.text
        assert await enrolment_of(service, participant_id, cm) == ("referred", None, None)
