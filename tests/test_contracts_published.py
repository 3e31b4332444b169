"""The published contracts hold for what the system really publishes (issue 11, item 4).

A diversion driven through the gateway (referral, hand-off, consent, intake); then every event the system's
services put on JetStream is read back, its `dataschema` URL fetched from the gateway without a token, and its
`data` validated against that schema, and the whole envelope against the AsyncAPI document's message.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import nats
from nats.js.errors import NotFoundError

from divert_kernel import bus
from tests.conftest import System
from tests.partner import consent_body, enrol, hand_off, referral_body

VENDORED = (
    Path(__file__).parents[1] / "gateway" / "divert_gateway" / "vendor" / "asyncapi" / "asyncapi-3.0.0.schema.json"
)


def _no_network(uri: str) -> Any:
    raise AssertionError(f"a schema refers outside itself: {uri}")


def _diversion(system: System) -> set[str]:
    """Referral, hand-off, a consent to the prosecutor, enrolment; the ids the events will carry."""
    police, provider = system.partner("police"), system.partner("case_management")
    created = police.post("/v1/referrals", json=referral_body("P-CONTRACTS-1"))
    assert created.status_code == 201, created.text
    referral = created.json()
    hand_off(police, provider, referral)
    consent = provider.post("/v1/consents", json=consent_body(referral["participant_id"]))
    assert consent.status_code == 201, consent.text
    intake = enrol(provider, referral["participant_id"])
    assert intake.status_code == 200, intake.text
    return {referral["referral_id"], referral["participant_id"], consent.json()["consent_id"]}


async def _every_envelope(nats_url: str) -> list[dict[str, Any]]:
    """Every message in every service's stream, oldest first."""
    nc = await nats.connect(nats_url)
    found: list[dict[str, Any]] = []
    try:
        js = nc.jetstream()
        for service in bus.PUBLISHING_SERVICES:
            try:
                state = (await js.stream_info(bus.stream_name(service))).state
            except NotFoundError:
                continue
            if state.messages == 0:
                continue
            sub = await js.subscribe(bus.stream_subjects(service)[0], ordered_consumer=True)
            try:
                while True:
                    msg = await sub.next_msg(timeout=5)
                    found.append(json.loads(msg.data))
                    if msg.metadata.sequence.stream >= state.last_seq:
                        break
            finally:
                await sub.unsubscribe()
    finally:
        await nc.close()
    return found


def _mentions(envelope: dict[str, Any], ids: set[str]) -> bool:
    text = json.dumps(envelope.get("data"))
    return any(i in text for i in ids)


async def test_every_published_event_validates_against_the_schema_at_its_dataschema_url(system: System) -> None:
    gateway = system.endpoints["gateway_url"]
    ids = _diversion(system)
    deadline = time.monotonic() + 30
    while True:
        envelopes = await _every_envelope(system.endpoints["nats_url"])
        ours = [e for e in envelopes if _mentions(e, ids)]
        if any(e["type"] == "org.divert.casemgmt.IntakeCompleted.v1" for e in ours) or time.monotonic() > deadline:
            break
    types = {e["type"] for e in ours}
    for expected in (
        "referral.DiversionOffered",
        "referral.DiversionAccepted",
        "referral.WarmHandoffCompleted",
        "consent.ConsentGranted",
        "casemgmt.IntakeCompleted",
    ):
        assert f"org.divert.{expected}.v1" in types, sorted(types)
    # Every event of this diversion points at this system's gateway; events other tests published with their
    # own settings point elsewhere and are not this system's to vouch for.
    assert all(e["dataschema"].startswith(f"{gateway}/v1/schemas/events/") for e in ours)
    published = [e for e in envelopes if e["dataschema"].startswith(gateway)]

    document = httpx.get(f"{gateway}/asyncapi.json", timeout=10).json()
    components = document["components"]
    schemas: dict[str, jsonschema_rs.Validator] = {}
    failures: list[str] = []
    with httpx.Client(timeout=10) as http:
        for envelope in published:
            url = envelope["dataschema"]
            if url not in schemas:
                reply = http.get(url)  # public: no token
                assert reply.status_code == 200, (url, reply.text)
                schemas[url] = jsonschema_rs.validator_for(reply.json(), validate_formats=True, retriever=_no_network)
            for error in schemas[url].iter_errors(envelope["data"]):
                failures.append(f"{envelope['type']} data {list(error.instance_path)}: {error.message[:160]}")
            service, name, version = envelope["type"].split(".")[2:]
            message = {"$ref": f"#/components/schemas/divert.{service}.{name}.{version}.envelope"}
            whole = jsonschema_rs.Draft7Validator(
                {**message, "components": components}, validate_formats=True, retriever=_no_network
            )
            for error in whole.iter_errors(envelope):
                failures.append(f"{envelope['type']} envelope {list(error.instance_path)}: {error.message[:160]}")
    assert not failures, failures[:10]
    assert len(published) >= len(ours) > 0


def test_the_live_documents_publish_the_contracts(system: System) -> None:
    gateway = system.endpoints["gateway_url"]
    asyncapi = httpx.get(f"{gateway}/asyncapi.json", timeout=10)
    assert asyncapi.status_code == 200
    official = jsonschema_rs.Draft7Validator(json.loads(VENDORED.read_text()), retriever=_no_network)
    assert official.is_valid(asyncapi.json())
    openapi = httpx.get(f"{gateway}/openapi.json", timeout=10).json()
    assert "org.divert.casemgmt.IntakeCompleted.v1" in openapi["webhooks"]
    assert "/v1/referrals" in openapi["paths"]
    assert 'href="/asyncapi.json"' in httpx.get(f"{gateway}/docs", timeout=10).text
