"""`Idempotency-Key` on the gateway's own POSTs (webhook endpoints), with the proxied routes' contract: the same
key and request replay the first answer and act once; the same key with another request is 422 naming the
header; a refused request records nothing. Real PostgreSQL, the gateway app in-process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest
import sqlalchemy as sa

from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database, running
from divert_gateway.adapters import clients
from divert_gateway.bootstrap import create
from divert_gateway.config import GatewaySettings
from divert_kernel.clock import FixedClock
from tests.test_webhooks_delivery import ISSUER, OTHER, POLICE, Harness

BODY = {"url": "http://127.0.0.1:9/hook", "event_types": ["DiversionOffered"], "description": "RMS"}


@pytest.fixture(scope="module")
async def harness(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    settings = GatewaySettings(
        database_url=await create_database(postgres, "divert_gateway"),
        issuer=ISSUER,
        signing_key_file=tmp_path_factory.mktemp("keys") / "k.jwk.json",
        webhook_allow_private_targets=True,
    )
    app = create(settings, clock=FixedClock(datetime.now(UTC)))
    async with running(app) as http:
        await clients.register(app.state.engine, [POLICE, OTHER])
        h = Harness(app, http, FixedClock(datetime.now(UTC)))
        yield h
        await h.dispatcher.close()


async def _mine(harness: Harness, description: str) -> list[dict]:
    listed = await harness.http.get("/v1/webhook-endpoints", headers=await harness.as_(POLICE))
    return [e for e in listed.json() if e["description"] == description]


async def test_the_same_key_and_body_replay_the_first_answer_and_create_once(harness: Harness) -> None:
    body = {**BODY, "description": f"idem-{uuid4()}"}
    headers = {**await harness.as_(POLICE), "Idempotency-Key": str(uuid4())}
    first = await harness.http.post("/v1/webhook-endpoints", json=body, headers=headers)
    again = await harness.http.post("/v1/webhook-endpoints", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()  # the same endpoint and the same secret
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert len(await _mine(harness, body["description"])) == 1


async def test_concurrent_duplicates_create_once(harness: Harness) -> None:
    body = {**BODY, "description": f"idem-{uuid4()}"}
    headers = {**await harness.as_(POLICE), "Idempotency-Key": str(uuid4())}
    replies = await asyncio.gather(
        *(harness.http.post("/v1/webhook-endpoints", json=body, headers=headers) for _ in range(4))
    )
    assert {r.status_code for r in replies} == {201}
    assert len({r.json()["endpoint_id"] for r in replies}) == 1
    assert len(await _mine(harness, body["description"])) == 1


async def test_the_same_key_with_another_body_is_refused_naming_the_header(harness: Harness) -> None:
    headers = {**await harness.as_(POLICE), "Idempotency-Key": str(uuid4())}
    first = await harness.http.post("/v1/webhook-endpoints", json={**BODY, "description": "a"}, headers=headers)
    other = await harness.http.post("/v1/webhook-endpoints", json={**BODY, "description": "b"}, headers=headers)
    assert first.status_code == 201
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
    assert await _mine(harness, "b") == []


async def test_a_refused_request_leaves_the_key_free(harness: Harness) -> None:
    headers = {**await harness.as_(POLICE), "Idempotency-Key": str(uuid4())}
    bad = await harness.http.post("/v1/webhook-endpoints", json={**BODY, "url": "ftp://x.example/h"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "url"
    description = f"idem-{uuid4()}"
    good = await harness.http.post("/v1/webhook-endpoints", json={**BODY, "description": description}, headers=headers)
    assert good.status_code == 201 and len(await _mine(harness, description)) == 1


async def test_a_keyed_rotation_rotates_once(harness: Harness) -> None:
    me = await harness.as_(POLICE)
    created = (await harness.http.post("/v1/webhook-endpoints", json=BODY, headers=me)).json()
    path = f"/v1/webhook-endpoints/{created['endpoint_id']}/secret-rotation"
    keyed = {**me, "Idempotency-Key": str(uuid4())}
    first = await harness.http.post(path, headers=keyed)
    again = await harness.http.post(path, headers=keyed)
    assert first.status_code == again.status_code == 200 and first.json()["secret"] == again.json()["secret"]
    # Once: a third, unkeyed rotation moves the previous secret to the first rotation's, not the original's.
    row = await harness.http.get(f"/v1/webhook-endpoints/{created['endpoint_id']}", headers=me)
    assert row.status_code == 200
    async with harness.app.state.engine.connect() as conn:
        secrets = (
            await conn.execute(
                sa.text("SELECT secret, previous_secret FROM webhook_endpoints WHERE endpoint_id = CAST(:id AS uuid)"),
                {"id": created["endpoint_id"]},
            )
        ).one()
    assert secrets.secret == first.json()["secret"] and secrets.previous_secret == created["secret"]


async def test_keys_are_per_client(harness: Harness) -> None:
    key = str(uuid4())
    mine = await harness.http.post(
        "/v1/webhook-endpoints", json=BODY, headers={**await harness.as_(POLICE), "Idempotency-Key": key}
    )
    theirs = await harness.http.post(
        "/v1/webhook-endpoints", json=BODY, headers={**await harness.as_(OTHER), "Idempotency-Key": key}
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["endpoint_id"] != theirs.json()["endpoint_id"]
    assert "idempotent-replayed" not in theirs.headers


async def test_a_malformed_key_is_refused_naming_the_header(harness: Harness) -> None:
    reply = await harness.http.post(
        "/v1/webhook-endpoints", json=BODY, headers={**await harness.as_(POLICE), "Idempotency-Key": "a b"}
    )
    assert reply.status_code == 422 and reply.json()["field"] == "Idempotency-Key"
