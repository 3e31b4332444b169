"""Issue 10, item 1 (consent side): case management asks, at intake, whether the ROI enrolment needs is on file.

The service runs on an injected clock, so expiry is decided at the clock's now, not the wall clock's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa

from consent.bootstrap import create
from consent.config import ConsentSettings
from divert_devstack.nats import NatsServer
from divert_devstack.testing import running, service_settings
from divert_kernel.clock import FixedClock
from divert_kernel.db import make_engine

J = "seattle-king-county"
CM, OTHER_CM = "lead-case-management", "evergreen-cm"
START = datetime(2026, 11, 23, 12, tzinfo=UTC)
NOT_ON_FILE = {"on_file": False, "consent_id": None, "holder_known": False}


@pytest.fixture(scope="module")
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture(scope="module")
async def service(
    database: str, module_nats: NatsServer, jwks_file: Path, sites_file: Path, clock: FixedClock
) -> AsyncIterator[httpx.AsyncClient]:
    base = service_settings(database_url=database, nats_url=module_nats.url, jwks_file=jwks_file)
    async with running(create(ConsentSettings(**base, sites_file=str(sites_file)), clock)) as client:
        yield client


@pytest.fixture
def cm(tokens_for: Callable) -> dict[str, str]:
    return tokens_for("case_management", agency=CM)


@pytest.fixture
async def held(relations: Any) -> str:
    participant_id = str(uuid4())
    await relations.hand_off(participant_id, CM)
    return participant_id


def roi(participant_id: str, recipient: str = CM, **overrides: Any) -> dict[str, Any]:
    body = {
        "participant_id": participant_id,
        "jurisdiction": J,
        "grants": [{"recipient_agency": recipient, "categories": ["contacts"], "purposes": ["care_coordination"]}],
        "effective_at": "2026-11-01T00:00:00Z",
        "expires_at": "2026-12-01T00:00:00Z",
        "signed_document_sha256": "ab" * 32,
    }
    return body | overrides


async def record(service: httpx.AsyncClient, auth: dict[str, str], body: dict[str, Any]) -> str:
    reply = await service.post("/v1/consents", json=body, headers=auth)
    assert reply.status_code == 201, reply.text
    return str(reply.json()["consent_id"])


async def on_file(service: httpx.AsyncClient, auth: dict[str, str], participant_id: str) -> dict[str, Any]:
    reply = await service.post(
        "/v1/consents/roi-on-file", json={"participant_id": participant_id, "jurisdiction": J}, headers=auth
    )
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


class TestRoiOnFile:
    async def test_a_signed_roi_naming_the_holder_is_on_file(
        self, service: httpx.AsyncClient, cm: dict[str, str], held: str
    ) -> None:
        assert await on_file(service, cm, held) == {"on_file": False, "consent_id": None, "holder_known": True}
        consent_id = await record(service, cm, roi(held))
        assert await on_file(service, cm, held) == {"on_file": True, "consent_id": consent_id, "holder_known": True}

    async def test_an_roi_naming_only_others_is_not_enough(
        self, service: httpx.AsyncClient, cm: dict[str, str], held: str
    ) -> None:
        await record(service, cm, roi(held, recipient="kc-prosecutor"))
        assert (await on_file(service, cm, held))["on_file"] is False

    async def test_a_draft_is_not_on_file_until_signed(
        self, service: httpx.AsyncClient, cm: dict[str, str], held: str
    ) -> None:
        consent_id = await record(service, cm, roi(held, state="draft", signed_document_sha256=None))
        assert (await on_file(service, cm, held))["on_file"] is False
        signed = await service.post(
            f"/v1/consents/{consent_id}/signature", json={"signed_document_sha256": "cd" * 32}, headers=cm
        )
        assert signed.status_code == 200, signed.text
        assert (await on_file(service, cm, held))["consent_id"] == consent_id

    async def test_revoking_the_holders_grant_takes_it_off_file(
        self, service: httpx.AsyncClient, cm: dict[str, str], held: str
    ) -> None:
        grants = [
            {"recipient_agency": CM, "categories": ["contacts"], "purposes": ["care_coordination"]},
            {"recipient_agency": "kc-prosecutor", "categories": ["assessment"], "purposes": ["diversion_monitoring"]},
        ]
        consent_id = await record(service, cm, roi(held, grants=grants))
        revoked = await service.post(f"/v1/consents/{consent_id}/revocation", json={"recipient_agency": CM}, headers=cm)
        assert revoked.status_code == 200, revoked.text
        assert (await on_file(service, cm, held))["on_file"] is False

    async def test_an_roi_expires_at_the_clocks_now(
        self, service: httpx.AsyncClient, cm: dict[str, str], held: str, clock: FixedClock
    ) -> None:
        consent_id = await record(service, cm, roi(held))
        try:
            clock.advance(datetime(2026, 12, 1, tzinfo=UTC) - clock.now() - timedelta(microseconds=1))
            assert (await on_file(service, cm, held))["consent_id"] == consent_id
            clock.advance(timedelta(microseconds=1))
            assert (await on_file(service, cm, held))["on_file"] is False
        finally:
            clock.at = START


class TestOnlyTheHolderIsTold:
    async def test_before_the_hand_off_is_seen_the_holder_is_not_known(
        self, service: httpx.AsyncClient, cm: dict[str, str]
    ) -> None:
        assert await on_file(service, cm, str(uuid4())) == NOT_ON_FILE

    async def test_another_provider_reads_what_an_unknown_participant_reads(
        self, service: httpx.AsyncClient, cm: dict[str, str], held: str, tokens_for: Callable
    ) -> None:
        await record(service, cm, roi(held))
        other = tokens_for("case_management", agency=OTHER_CM)
        assert await on_file(service, other, held) == await on_file(service, other, str(uuid4())) == NOT_ON_FILE

    @pytest.mark.parametrize("agency_type", ["police", "prosecutor", "auditor", "project_manager"])
    async def test_other_agency_types_are_refused_for_every_participant_alike(
        self, service: httpx.AsyncClient, held: str, tokens_for: Callable, agency_type: str
    ) -> None:
        auth = tokens_for(agency_type)
        for participant_id in (held, str(uuid4())):
            reply = await service.post(
                "/v1/consents/roi-on-file", json={"participant_id": participant_id, "jurisdiction": J}, headers=auth
            )
            assert reply.status_code == 403

    async def test_asking_records_no_disclosure(
        self, service: httpx.AsyncClient, cm: dict[str, str], held: str, database: str, tokens_for: Callable
    ) -> None:
        await record(service, cm, roi(held))
        await on_file(service, cm, held)
        await on_file(service, tokens_for("case_management", agency=OTHER_CM), held)
        engine = make_engine(database)
        try:
            async with engine.connect() as conn:
                decided = await conn.scalar(
                    sa.text("SELECT count(*) FROM access_decisions WHERE participant_id = CAST(:p AS uuid)"),
                    {"p": held},
                )
        finally:
            await engine.dispose()
        assert decided == 0

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"participant_id": "not-a-uuid", "jurisdiction": J}, "participant_id"),
            ({"participant_id": str(uuid4())}, "jurisdiction"),
            ({"participant_id": str(uuid4()), "jurisdiction": J, "holder": CM}, "holder"),
        ],
    )
    async def test_bad_input_is_named(
        self, service: httpx.AsyncClient, cm: dict[str, str], body: dict[str, Any], field: str
    ) -> None:
        reply = await service.post("/v1/consents/roi-on-file", json=body, headers=cm)
        assert reply.status_code == 422
        assert reply.json()["field"] == field
