"""The contracts as the gateway publishes them: schemas at their `dataschema` URLs, /asyncapi.json, the webhooks.

No database or upstream is needed: these routes answer from the contracts alone (the app's lifespan is not run).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from fastapi import FastAPI

from divert_contracts.published import event_types
from divert_gateway.bootstrap import create
from divert_gateway.config import GatewaySettings
from divert_gateway.entrypoints import docs
from divert_kernel.envelope import dataschema_url

VENDORED = Path(__file__).parents[2] / "divert_gateway" / "vendor" / "asyncapi" / "asyncapi-3.0.0.schema.json"
PUBLIC = "https://lead.partner-facing.test"


def _no_network(uri: str) -> Any:
    raise AssertionError(f"the validator tried to fetch {uri}: the vendored schema must resolve locally")


def asyncapi_validator() -> jsonschema_rs.Draft7Validator:
    return jsonschema_rs.Draft7Validator(json.loads(VENDORED.read_text()), retriever=_no_network)


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test")


@pytest.fixture
async def gateway() -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(public_base_url=PUBLIC + "/", public_nats_url="nats://nats.test:4222")
    async with client(create(settings)) as http:
        yield http


async def test_every_event_type_has_its_schema_at_its_dataschema_url_without_a_token(
    gateway: httpx.AsyncClient,
) -> None:
    assert len(event_types()) > 40
    for cls in event_types():
        url = dataschema_url(PUBLIC, cls.service, cls.__name__, cls.schema_version)
        reply = await gateway.get(url.removeprefix(PUBLIC))
        assert reply.status_code == 200, url
        assert reply.headers["content-type"].startswith("application/schema+json")
        schema = reply.json()
        assert schema["$id"] == url
        assert schema["properties"] == cls.model_json_schema()["properties"]
        assert schema["additionalProperties"] is False  # the contracts forbid extra fields; so does the schema


async def test_the_dataschema_base_is_the_setting_or_else_the_issuer() -> None:
    assert GatewaySettings(public_base_url=PUBLIC + "/").public_base == PUBLIC
    default = GatewaySettings(issuer="http://127.0.0.1:18000")
    assert default.public_base == "http://127.0.0.1:18000"
    async with client(create(default)) as http:
        reply = await http.get("/v1/schemas/events/referral/DiversionOffered/v1.json")
    assert reply.json()["$id"].startswith("http://127.0.0.1:18000/v1/schemas/events/")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/schemas/events/referral/DiversionOffered/v2.json",
        "/v1/schemas/events/referral/NoSuchEvent/v1.json",
        "/v1/schemas/events/casemgmt/DiversionOffered/v1.json",
        "/v1/schemas/events/referral/DiversionOffered/v1.yaml",
        "/v1/schemas/events/referral/DiversionOffered/v0.json",
        "/v1/schemas/events/referral/DiversionOffered/v99999999999999999999.json",
        "/v1/schemas/events/referral/__class__/v1.json",
    ],
)
async def test_anything_else_is_a_404_problem(gateway: httpx.AsyncClient, path: str) -> None:
    reply = await gateway.get(path)
    assert reply.status_code == 404
    assert reply.headers["content-type"].startswith("application/problem+json")


async def test_asyncapi_document_validates_against_the_official_schema(gateway: httpx.AsyncClient) -> None:
    document = (await gateway.get("/asyncapi.json")).json()
    errors = [f"{list(e.instance_path)}: {e.message[:200]}" for e in asyncapi_validator().iter_errors(document)]
    assert not errors, errors[:5]
    assert document["asyncapi"] == "3.0.0"
    for ref in refs(document):
        resolve(document, ref)  # every reference points inside the document


async def test_the_official_schema_catches_a_broken_document(gateway: httpx.AsyncClient) -> None:
    document = (await gateway.get("/asyncapi.json")).json()
    validator = asyncapi_validator()
    assert validator.is_valid(document)
    assert not validator.is_valid({**document, "info": {"title": "no version"}})
    assert not validator.is_valid({**document, "asyncapi": "2.6.0"})
    broken = {**document, "servers": {"nats": {**document["servers"]["nats"], "security": [{"type": "basic"}]}}}
    assert not validator.is_valid(broken)


async def test_a_credential_in_the_nats_url_never_reaches_the_document() -> None:
    settings = GatewaySettings(public_nats_url="nats://s3cr3t-token@nats.test:4222")
    async with client(create(settings)) as http:
        reply = await http.get("/asyncapi.json")
    assert reply.json()["servers"]["nats"]["host"] == "nats.test:4222"
    assert "s3cr3t" not in reply.text


async def test_asyncapi_has_a_feed_and_a_webhook_per_event_type_with_the_envelope_and_its_data(
    gateway: httpx.AsyncClient,
) -> None:
    document = (await gateway.get("/asyncapi.json")).json()
    assert document["servers"]["nats"]["host"] == "nats.test:4222"
    assert document["servers"]["nats"]["protocol"] == "nats"
    assert document["servers"]["webhooks"]["protocol"] == "https"
    for cls in event_types():
        key = f"{cls.service}.{cls.__name__}.v{cls.schema_version}"
        feed = document["channels"][f"feed.{key}"]
        assert feed["address"] == f"feeds.{{jurisdiction}}.{{agency}}.{cls.__name__}"
        assert set(feed["parameters"]) == {"jurisdiction", "agency"}
        for kind in ("feed", "webhook"):
            operation = document["operations"][f"{kind}.{key}"]
            message = resolve(document, resolve(document, operation["messages"][0]["$ref"])["$ref"])
            envelope = resolve(document, message["payload"]["$ref"])
            assert envelope["properties"]["type"] == {"const": cls.cloudevents_type()}
            data = resolve(document, envelope["properties"]["data"]["$ref"])
            assert set(data["properties"]) == set(cls.model_fields)
        webhook = resolve(document, document["channels"][f"webhook.{key}"]["messages"][key]["$ref"])
        trait = resolve(document, webhook["traits"][0]["$ref"])
        assert set(trait["headers"]["required"]) == {"webhook-id", "webhook-timestamp", "webhook-signature"}


def test_openapi_lists_a_webhook_per_event_type() -> None:
    merged = docs.merge({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}, [])
    assert set(merged["webhooks"]) == {cls.cloudevents_type() for cls in event_types()}
    for hook in merged["webhooks"].values():
        post = hook["post"]
        assert {p["name"] for p in post["parameters"] if p["in"] == "header"} == {
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
        }
        envelope = resolve(merged, post["requestBody"]["content"]["application/json"]["schema"]["$ref"])
        resolve(merged, envelope["properties"]["data"]["$ref"])
    for ref in refs(merged):
        resolve(merged, ref)
    assert "/asyncapi.json" in merged["info"]["description"]


async def test_docs_link_the_asyncapi_document(gateway: httpx.AsyncClient) -> None:
    page = await gateway.get("/docs")
    assert page.status_code == 200
    assert 'href="/asyncapi.json"' in page.text and "swagger" in page.text.lower()
