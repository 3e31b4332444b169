"""Issue 10, item 9 (consent side): once referral links two records of one person, either id answers for the one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import nats
import pytest
import sqlalchemy as sa

from divert_contracts.referral import ParticipantsLinked
from divert_devstack.nats import NatsServer
from divert_devstack.testing import publish_as
from divert_kernel.db import make_engine

J = "seattle-king-county"
CM, OTHER_CM, PROSECUTOR = "lead-case-management", "evergreen-cm", "kc-prosecutor"


def roi(participant_id: str, recipient: str = PROSECUTOR, category: str = "assessment") -> dict[str, Any]:
    return {
        "participant_id": participant_id,
        "jurisdiction": J,
        "grants": [{"recipient_agency": recipient, "categories": [category], "purposes": ["diversion_monitoring"]}],
        "effective_at": "2026-01-01T00:00:00Z",
        "expires_at": "2030-01-01T00:00:00Z",
        "signed_document_sha256": "ab" * 32,
    }


@pytest.fixture
def link(module_nats: NatsServer, relations: Any) -> Callable:
    async def publish(survivor: str, merged: str) -> None:
        event = ParticipantsLinked(
            review_id=str(uuid4()),
            survivor_participant_id=survivor,
            merged_participant_id=merged,
            linked_at=datetime.now(UTC),
        )
        nc = await nats.connect(module_nats.url)
        try:
            await relations.settled(await publish_as(nc, "referral", event, jurisdiction=J))
        finally:
            await nc.close()

    return publish


@pytest.fixture
def cm(tokens_for: Callable) -> dict[str, str]:
    return tokens_for("case_management", agency=CM)


async def listed(service: httpx.AsyncClient, auth: dict[str, str], participant_id: str) -> list[str]:
    reply = await service.get(
        "/v1/consents", params={"participant_id": participant_id, "jurisdiction": J}, headers=auth
    )
    assert reply.status_code == 200, reply.text
    return [c["consent_id"] for c in reply.json()["items"]]


async def decide(service: httpx.AsyncClient, auth: dict[str, str], participant_id: str) -> dict[str, Any]:
    body = {
        "participant_id": participant_id,
        "jurisdiction": J,
        "requester_agency": PROSECUTOR,
        "category": "assessment",
        "purpose": "diversion_monitoring",
    }
    reply = await service.post("/v1/access-decisions", json=body, headers=auth)
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


async def scalar(database: str, sql: str, **params: Any) -> Any:
    engine = make_engine(database)
    try:
        async with engine.connect() as conn:
            return await conn.scalar(sa.text(sql), params)
    finally:
        await engine.dispose()


class TestEitherIdAnswersForTheOne:
    async def test_consents_of_both_records_list_under_either_id(
        self, service: httpx.AsyncClient, relations: Any, link: Callable, cm: dict[str, str]
    ) -> None:
        survivor, merged = str(uuid4()), str(uuid4())
        await relations.hand_off(survivor, CM)
        await relations.hand_off(merged, CM)
        first = (await service.post("/v1/consents", json=roi(survivor), headers=cm)).json()["consent_id"]
        second = (await service.post("/v1/consents", json=roi(merged, CM, "contacts"), headers=cm)).json()["consent_id"]
        await link(survivor, merged)
        assert sorted(await listed(service, cm, merged)) == sorted(await listed(service, cm, survivor))
        assert sorted(await listed(service, cm, survivor)) == sorted([first, second])

    async def test_a_decision_about_the_merged_id_is_decided_and_recorded_for_the_survivor(
        self,
        service: httpx.AsyncClient,
        relations: Any,
        link: Callable,
        cm: dict[str, str],
        tokens_for: Callable,
        database: str,
    ) -> None:
        survivor, merged = str(uuid4()), str(uuid4())
        await relations.hand_off(survivor, CM)
        assert (await service.post("/v1/consents", json=roi(survivor), headers=cm)).status_code == 201
        await link(survivor, merged)
        decided = await decide(service, tokens_for("prosecutor", agency=PROSECUTOR), merged)
        assert decided["decision"] == "permit"
        sql = "SELECT participant_id::text FROM access_decisions WHERE decision_id = CAST(:d AS uuid)"
        assert await scalar(database, sql, d=decided["decision_id"]) == survivor
        sql = "SELECT data->>'participant_id' FROM events WHERE stream_id = :s"
        assert await scalar(database, sql, s=f"decision-{decided['decision_id']}") == survivor

    async def test_the_merged_records_consent_decides_for_the_survivor(
        self, service: httpx.AsyncClient, relations: Any, link: Callable, cm: dict[str, str], tokens_for: Callable
    ) -> None:
        survivor, merged = str(uuid4()), str(uuid4())
        await relations.hand_off(merged, CM)
        assert (await service.post("/v1/consents", json=roi(merged), headers=cm)).status_code == 201
        await link(survivor, merged)
        assert (await decide(service, tokens_for("prosecutor", agency=PROSECUTOR), survivor))["decision"] == "permit"

    async def test_the_holder_of_the_merged_record_acts_for_the_survivor(
        self, service: httpx.AsyncClient, relations: Any, link: Callable, cm: dict[str, str]
    ) -> None:
        survivor, merged = str(uuid4()), str(uuid4())
        await relations.hand_off(merged, CM)
        consent_id = (await service.post("/v1/consents", json=roi(merged), headers=cm)).json()["consent_id"]
        await link(survivor, merged)
        assert await relations.holds(survivor, "handoff_provider", CM)
        assert not await relations.holds(merged, "handoff_provider", CM)
        assert await listed(service, cm, survivor) == [consent_id]
        revoked = await service.post(f"/v1/consents/{consent_id}/revocation", headers=cm)
        assert revoked.status_code == 200, revoked.text
        # and a new consent about the merged id is recorded for the survivor
        created = await service.post("/v1/consents", json=roi(merged, CM), headers=cm)
        assert created.status_code == 201, created.text
        roi_on_file = await service.post(
            "/v1/consents/roi-on-file", json={"participant_id": survivor, "jurisdiction": J}, headers=cm
        )
        assert roi_on_file.json()["consent_id"] == created.json()["consent_id"]

    async def test_the_newest_hand_off_of_either_record_names_the_holder(
        self, service: httpx.AsyncClient, relations: Any, link: Callable
    ) -> None:
        survivor, merged = str(uuid4()), str(uuid4())
        await relations.hand_off(survivor, CM, at=datetime.now(UTC) - timedelta(days=2))
        await relations.hand_off(merged, OTHER_CM)
        await link(survivor, merged)
        assert await relations.holds(survivor, "handoff_provider", OTHER_CM)
        assert not await relations.holds(survivor, "handoff_provider", CM)

    async def test_events_about_the_merged_id_after_the_link_relate_to_the_survivor(
        self, service: httpx.AsyncClient, relations: Any, link: Callable
    ) -> None:
        survivor, merged = str(uuid4()), str(uuid4())
        await link(survivor, merged)
        await relations.hand_off(merged, CM)
        await relations.hold_charge(merged, PROSECUTOR)
        assert await relations.holds(survivor, "handoff_provider", CM)
        assert await relations.holds(survivor, "charge_holder", PROSECUTOR)
        assert not await relations.holds(merged, "charge_holder", PROSECUTOR)

    async def test_links_chain_to_the_final_survivor(
        self, service: httpx.AsyncClient, relations: Any, link: Callable, cm: dict[str, str]
    ) -> None:
        first, second, last = str(uuid4()), str(uuid4()), str(uuid4())
        await relations.hand_off(first, CM)
        consent_id = (await service.post("/v1/consents", json=roi(first), headers=cm)).json()["consent_id"]
        await link(second, first)
        await link(last, second)
        for participant_id in (first, second, last):
            assert await listed(service, cm, participant_id) == [consent_id]

    async def test_linking_one_participant_to_itself_changes_nothing(
        self, service: httpx.AsyncClient, relations: Any, link: Callable, cm: dict[str, str]
    ) -> None:
        survivor, merged = str(uuid4()), str(uuid4())
        await relations.hand_off(survivor, CM)
        await link(survivor, merged)
        await link(merged, survivor)  # the same person, asked the other way round
        await link(survivor, survivor)
        assert await relations.holds(survivor, "handoff_provider", CM)
        assert await listed(service, cm, merged) == await listed(service, cm, survivor) == []

    async def test_another_jurisdictions_link_changes_nothing_here(
        self, service: httpx.AsyncClient, relations: Any, module_nats: NatsServer, cm: dict[str, str]
    ) -> None:
        survivor, merged = str(uuid4()), str(uuid4())
        await relations.hand_off(merged, CM)
        event = ParticipantsLinked(
            review_id="r1", survivor_participant_id=survivor, merged_participant_id=merged, linked_at=datetime.now(UTC)
        )
        nc = await nats.connect(module_nats.url)
        try:
            await relations.settled(await publish_as(nc, "referral", event, jurisdiction="santa-fe"))
        finally:
            await nc.close()
        assert await relations.holds(merged, "handoff_provider", CM)
