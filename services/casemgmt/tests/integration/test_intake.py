"""The case-management service on real PostgreSQL, NATS and consent service (behind a front that can take it
down, see conftest).

Issue 10, item 1: intake enrols only with consent to take part and a signed ROI naming the holding provider.
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
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from casemgmt.bootstrap import create
from casemgmt.config import CaseMgmtSettings
from divert_contracts.referral import DiversionOffered, WarmHandoffCompleted
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
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
INTAKE = {
    "completed_at": "2026-11-23T10:00:00Z",
    "consent_to_participate": {"signed_at": "2026-11-23T09:30:00Z", "signed_document_sha256": SHA},
}


def offer(referral_id: str, participant_id: str) -> DiversionOffered:
    return diversion_offered(referral_id, participant_id, intake_deadline=date(2026, 12, 20), offered_at=NOW)


def handoff(referral_id: str, participant_id: str, agency: str | None) -> WarmHandoffCompleted:
    return WarmHandoffCompleted(
        referral_id=referral_id,
        participant_id=participant_id,
        case_manager_id="cm-ana",
        completed_at=NOW,
        case_management_agency=agency,
    )


@pytest.fixture(scope="module")
async def bus(module_nats: NatsServer) -> AsyncIterator[nats.NATS]:
    nc = await nats.connect(module_nats.url)
    yield nc
    await nc.close()


@pytest.fixture(scope="module")
def roi(consent_front: Any) -> Any:
    return consent_front


@pytest.fixture(scope="module")
async def database(postgres: PostgresServer) -> str:
    return await create_database(postgres, "casemgmt")


@pytest.fixture(scope="module")
async def service(
    database: str, module_nats: NatsServer, jwks_file: Path, roi: Any
) -> AsyncIterator[httpx.AsyncClient]:
    # No site directory: the default extension bounds apply (see the last test).
    settings = CaseMgmtSettings(
        **service_settings(database_url=database, nats_url=module_nats.url, jwks_file=jwks_file, consent_url=roi.url)
    )
    async with running(create(settings, FixedClock(NOW))) as client:
        yield client


async def participant(service: httpx.AsyncClient, bus: nats.NATS, auth: dict[str, str]) -> str:
    """A referred participant whose hand-off named the provider `lead-case-management`."""
    participant_id, referral_id = str(uuid4()), str(uuid4())
    await publish_as(bus, "referral", offer(referral_id, participant_id))
    await publish_as(bus, "referral", handoff(referral_id, participant_id, LEAD))

    async def opened() -> bool:
        return (await service.get(f"/v1/participants/{participant_id}/intake", headers=auth)).status_code == 200

    await eventually(opened)
    return participant_id


async def next_about(sub: Any, participant_id: str) -> dict[str, Any]:
    while True:
        envelope = json.loads((await sub.next_msg(timeout=10)).data)
        if envelope["data"]["participant_id"] == participant_id:
            return envelope


async def enrolment_of(service: httpx.AsyncClient, participant_id: str, auth: dict[str, str]) -> tuple[Any, ...]:
    got = (await service.get(f"/v1/participants/{participant_id}", headers=auth)).json()
    return got["enrolment"], got["not_enrolled_reason"], got["status"]


class TestIntake:
    async def test_a_referral_opens_a_case_awaiting_intake(
        self, service: httpx.AsyncClient, bus: nats.NATS, tokens_for: Callable
    ) -> None:
        cm = tokens_for("case_management", agency=LEAD)
        participant_id = await participant(service, bus, cm)
        intake = (await service.get(f"/v1/participants/{participant_id}/intake", headers=cm)).json()
        assert intake["intake_status"] == "pending" and intake["intake_deadline"] == "2026-12-20"

    async def test_completing_intake_enrols_and_publishes_intake_completed(
        self,
        service: httpx.AsyncClient,
        bus: nats.NATS,
        tokens_for: Callable,
        roi: Any,
        roi_naming: Callable,
        database: str,
    ) -> None:
        cm = tokens_for("case_management", agency=LEAD)
        participant_id = await participant(service, bus, cm)
        roi_id = await roi_naming(participant_id, LEAD, cm)
        js = bus.jetstream()
        intakes = await js.subscribe("lead.seattle-king-county.casemgmt.IntakeCompleted", ordered_consumer=True)
        enrolments = await js.subscribe("lead.seattle-king-county.casemgmt.EnrolmentChanged", ordered_consumer=True)
        reply = await service.post(f"/v1/participants/{participant_id}/intake", json=INTAKE, headers=cm)
        assert reply.status_code == 200, reply.text
        assert reply.json()["intake_status"] == "completed" and reply.json()["enrolment"] == "enrolled"
        assert reply.json()["consent_to_participate"]["signed_document_sha256"] == SHA
        envelope = await next_about(intakes, participant_id)
        assert envelope["type"] == "org.divert.casemgmt.IntakeCompleted.v1"
        assert (await next_about(enrolments, participant_id))["data"]["enrolment"] == "referred"
        assert (await next_about(enrolments, participant_id))["data"]["enrolment"] == "enrolled"
        assert SHA not in json.dumps(envelope)
        await intakes.unsubscribe()
        await enrolments.unsubscribe()
        assert await enrolment_of(service, participant_id, cm) == ("enrolled", None, "active")
        # The consent service was asked as the caller, about this participant in its jurisdiction.
        asked, authorization = roi.asked[-1]
        assert asked == {"participant_id": participant_id, "jurisdiction": "seattle-king-county"}
        assert authorization == cm["Authorization"]
        engine = create_async_engine(database)
        try:
            async with engine.connect() as conn:
                stored = await conn.execute(
                    sa.text(
                        "SELECT signed_document_sha256, roi_consent_id FROM consent_to_participate "
                        "WHERE participant_id = CAST(:p AS uuid)"
                    ),
                    {"p": participant_id},
                )
                assert [tuple(r) for r in stored] == [(SHA, roi_id)]
        finally:
            await engine.dispose()

    async def test_a_second_intake_is_a_conflict(
        self, service: httpx.AsyncClient, bus: nats.NATS, tokens_for: Callable, roi: Any, roi_naming: Callable
    ) -> None:
        cm = tokens_for("case_management", agency=LEAD)
        participant_id = await participant(service, bus, cm)
        await roi_naming(participant_id, LEAD, cm)
        body = INTAKE
        assert (
            await service.post(f"/v1/participants/{participant_id}/intake", json=body, headers=cm)
        ).status_code == 200
        assert (
            await service.post(f"/v1/participants/{participant_id}/intake", json=body, headers=cm)
        ).status_code == 409

    async def test_intake_for_an_unknown_participant_is_404(
        self, service: httpx.AsyncClient, tokens_for: Callable
    ) -> None:
        reply = await service.post(
            f"/v1/participants/{uuid4()}/intake", json=INTAKE, headers=tokens_for("case_management", agency=LEAD)
        )
        assert reply.status_code == 404
        assert reply.json()["field"] == "participant_id"


class TestTheGateFailsClosed:
    async def test_a_cross_agency_read_is_refused_when_consent_cannot_answer(
        self, service: httpx.AsyncClient, bus: nats.NATS, tokens_for: Callable, roi: Any
    ) -> None:
        participant_id = await participant(service, bus, tokens_for("case_management", agency=LEAD))
        roi.down = True
        try:
            reply = await service.get(f"/v1/participants/{participant_id}/intake", headers=tokens_for("prosecutor"))
        finally:
            roi.down = False
        assert reply.status_code == 503
        assert reply.headers["content-type"] == "application/problem+json"
        assert "consent" in reply.json()["detail"]


class TestNoFailure:
    async def test_status_is_refused_before_enrolment(
        self, service: httpx.AsyncClient, bus: nats.NATS, tokens_for: Callable
    ) -> None:
        cm = tokens_for("case_management", agency=LEAD)
        participant_id = await participant(service, bus, cm)
        reply = await service.post(
            f"/v1/participants/{participant_id}/status", json={"status": "active", "reason": "engaged"}, headers=cm
        )
        assert reply.status_code == 409 and reply.json()["rule"] == "enrolment_required", reply.text
        assert await enrolment_of(service, participant_id, cm) == ("referred", None, None)

    @pytest.mark.parametrize("status", ["failed", "terminated", "graduated"])
    async def test_failure_statuses_are_refused_and_change_nothing(
        self,
        service: httpx.AsyncClient,
        bus: nats.NATS,
        tokens_for: Callable,
        status: str,
        roi: Any,
        roi_naming: Callable,
    ) -> None:
        cm = tokens_for("case_management", agency=LEAD)
        participant_id = await participant(service, bus, cm)
        await roi_naming(participant_id, LEAD, cm)
        enrolled = await service.post(f"/v1/participants/{participant_id}/intake", json=INTAKE, headers=cm)
        assert enrolled.status_code == 200, enrolled.text
        reply = await service.post(
            f"/v1/participants/{participant_id}/status",
            json={"status": status, "reason": "missed_appointments"},
            headers=cm,
        )
        assert reply.status_code == 422
        assert reply.json()["field"] == "status"
        ok = await service.post(
            f"/v1/participants/{participant_id}/status",
            json={"status": "inactive", "reason": "not_seen_90_days"},
            headers=cm,
        )
        assert ok.json()["status"] == "inactive"


class TestTheGateFailsClosedWhenConsentHangs:
    async def test_a_consent_service_that_accepts_but_never_answers_means_503(
        self, postgres: PostgresServer, module_nats: NatsServer, jwks_file: Path, tokens_for: Callable
    ) -> None:
        import socket

        # A listener that accepts connections and never answers: a hung consent service.
        hung = socket.socket()
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        url = await create_database(postgres, "casemgmt")
        settings = CaseMgmtSettings(
            **service_settings(
                database_url=url,
                nats_url=module_nats.url,
                jwks_file=jwks_file,
                consent_url=f"http://127.0.0.1:{hung.getsockname()[1]}",
            )
        )
        try:
            async with running(create(settings, FixedClock(NOW))) as client:
                # The listener never answers, so the only way to a response is the gate's own timeout.
                reply = await client.get(f"/v1/participants/{uuid4()}/intake", headers=tokens_for("prosecutor"))
        finally:
            hung.close()
        assert reply.status_code == 503
        assert "consent" in reply.json()["detail"]


class TestExtensionsWhereTheSiteIsUnknown:
    async def test_the_default_bounds_apply(
        self, service: httpx.AsyncClient, bus: nats.NATS, tokens_for: Callable
    ) -> None:
        # This module runs without a site directory: 30 days per extension, 90 in all.
        participant_id = await participant(service, bus, tokens_for("case_management", agency=LEAD))
        path, pm = f"/v1/participants/{participant_id}/intake-extension", tokens_for("project_manager")
        body = {"law_enforcement_agency": "seattle-pd", "law_enforcement_agreed": True, "reason": "Hospitalised."}
        too_far = await service.post(path, json=body | {"intake_deadline": "2027-01-20"}, headers=pm)
        assert too_far.status_code == 422 and too_far.json()["field"] == "intake_deadline"
        granted = await service.post(path, json=body | {"intake_deadline": "2027-01-19"}, headers=pm)
        assert granted.status_code == 200, granted.text
