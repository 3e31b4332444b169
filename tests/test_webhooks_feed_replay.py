"""POST /v1/feeds/replay: a partner repositions its own NATS feed durable through the gateway (DESIGN §7a), from a
time or after a stream sequence, and receives earlier events again with its own credential; it can reach no other
agency's feed. The whole system as `make run` starts it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import nats
import nats.errors
import pytest

from divert_devstack import demo_site
from tests.conftest import System
from tests.test_nats_auth import connect_service, publish_feed

J = demo_site.SEATTLE
OWN, OTHER = "seattle-pd", "kc-sheriff"


def _credentials(system: System, agency: str) -> dict[str, Any]:
    clients = json.loads((system.home / "demo-clients.json").read_text())["clients"]
    return next(c for c in clients if c["agency_id"] == agency)["nats_credentials"]


async def _drain(system: System, agency: str) -> list[tuple[str, int]]:
    """Pull and ack the agency's feed with its own credential until it is quiet: (event id, stream sequence)."""
    c = _credentials(system, agency)
    nc = await nats.connect(
        servers=c["servers"], user=c["user"], password=c["password"], inbox_prefix=c["inbox_prefix"]
    )
    got: list[tuple[str, int]] = []
    try:
        sub = await nc.jetstream().pull_subscribe_bind(durable=c["durable"], stream=c["stream"])
        while True:
            try:
                batch = await sub.fetch(100, timeout=1.5)
            except TimeoutError:  # nats-py raises its own, or asyncio's when the deadline runs out under load
                return got
            for m in batch:
                got.append((json.loads(m.data)["id"], m.metadata.sequence.stream))
                await m.ack()
    finally:
        await nc.close()


async def _probe(system: System, agency: str) -> str:
    event_id = f"e-replay-{uuid4()}"
    gateway = await connect_service(system.nats, "gateway")
    try:
        await publish_feed(gateway, agency, event_id)
    finally:
        await gateway.close()
    return event_id


def _replay(system: System, agency: str, body: dict[str, Any], **headers: str):  # type: ignore[no-untyped-def]
    return system.agency(agency).post("/v1/feeds/replay", json=body, headers=headers)


@pytest.fixture
async def probe(system: System) -> tuple[str, int, datetime]:
    """A fresh event on the police agency's feed, read and acked once: (event id, its stream sequence, a time
    just before it)."""
    before = datetime.now(UTC) - timedelta(seconds=1)
    await _drain(system, OWN)
    event_id = await _probe(system, OWN)
    seen = dict(await _drain(system, OWN))
    assert event_id in seen
    assert await _drain(system, OWN) == []  # acked: nothing comes again by itself
    return event_id, seen[event_id], before


async def test_replay_from_a_time_delivers_earlier_events_again(system: System, probe: tuple) -> None:
    event_id, _, before = probe
    reply = await asyncio.to_thread(_replay, system, OWN, {"from_time": before.isoformat()})
    assert reply.status_code == 200, reply.text
    assert reply.json()["stream"] == _credentials(system, OWN)["stream"]
    assert event_id in dict(await _drain(system, OWN))


async def test_replay_after_a_sequence_starts_right_after_it(system: System, probe: tuple) -> None:
    event_id, sequence, _ = probe
    reply = await asyncio.to_thread(_replay, system, OWN, {"after_sequence": sequence - 1})
    assert reply.status_code == 200 and reply.json()["start_sequence"] == sequence
    again = await _drain(system, OWN)
    assert again[0] == (event_id, sequence)


async def test_another_agency_cannot_replay_this_agencys_feed(system: System, probe: tuple) -> None:
    _, _, before = probe
    # Its own replay moves its own durable only.
    mine = await asyncio.to_thread(_replay, system, OTHER, {"from_time": before.isoformat()})
    assert mine.status_code == 200 and mine.json()["durable"] == _credentials(system, OTHER)["durable"]
    # No field names another agency; another jurisdiction reads like one that does not exist.
    named = await asyncio.to_thread(_replay, system, OTHER, {"from_time": before.isoformat(), "agency": OWN})
    assert named.status_code == 422 and named.json()["field"] == "agency"
    elsewhere = await asyncio.to_thread(
        _replay, system, OTHER, {"from_time": before.isoformat(), "jurisdiction": demo_site.SANTA_FE}
    )
    nowhere = await asyncio.to_thread(
        _replay, system, OTHER, {"from_time": before.isoformat(), "jurisdiction": "no-such-place"}
    )
    assert elsewhere.status_code == nowhere.status_code == 404 and elsewhere.json() == nowhere.json()
    assert await _drain(system, OWN) == []  # the police agency's durable did not move


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "from_time"),
        ({"from_time": "2026-11-01T00:00:00Z", "after_sequence": 3}, "after_sequence"),
        ({"from_time": "2026-11-01T00:00:00"}, "from_time"),
        ({"after_sequence": -1}, "after_sequence"),
    ],
)
def test_exactly_one_position_is_given(system: System, body: dict, field: str) -> None:
    reply = _replay(system, OWN, body)
    assert reply.status_code == 422 and reply.json()["field"] == field


def test_a_keyed_replay_is_answered_once(system: System) -> None:
    key, body = str(uuid4()), {"after_sequence": 0}
    first = _replay(system, OWN, body, **{"Idempotency-Key": key})
    again = _replay(system, OWN, body, **{"Idempotency-Key": key})
    other = _replay(system, OWN, {"after_sequence": 1}, **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"


def test_the_gateways_own_routes_are_in_the_public_document(system: System) -> None:
    document = system.agency(OWN).http.get("/openapi.json").json()
    for path in ("/v1/feeds/replay", "/v1/webhook-endpoints", "/v1/webhook-endpoints/{endpoint_id}/deliveries"):
        assert path in document["paths"], path
    assert "post" in document["paths"]["/v1/feeds/replay"]
