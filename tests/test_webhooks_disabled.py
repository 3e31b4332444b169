"""WebhookEndpointDisabled: an endpoint disabled by `410 Gone` or by five days of failures (injected clock) is
announced once, through the gateway's transactional outbox, to the endpoint's own agency on its NATS feed, read
with that agency's own partner credential. Real PostgreSQL, real nats-server with the launcher's permissions, the
gateway's own relay, consumer and feed publisher (runner.workers); the webhook dispatcher is stepped by the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import jsonschema_rs
import nats
import nats.errors
import pytest

from divert_contracts import published
from divert_contracts.gateway import WebhookEndpointDisabled
from divert_devstack import demo_site
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database, running
from divert_gateway.adapters import clients, feeds
from divert_gateway.bootstrap import create
from divert_gateway.config import GatewaySettings
from divert_gateway.delivery import runner, tokens
from divert_kernel import bus
from divert_kernel.clock import FixedClock
from divert_kernel.gate import ConsentGate
from divert_kernel.sites import Sites
from tests.test_webhooks_delivery import ISSUER, POLICE, Harness
from tests.webhook_receiver import Receiver

J = demo_site.SEATTLE
AGENCY = POLICE["agency_id"]
TYPE = WebhookEndpointDisabled.cloudevents_type()


@pytest.fixture(scope="module")
async def harness(
    postgres: PostgresServer, module_nats: NatsServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Harness]:
    home = tmp_path_factory.mktemp("gateway")
    sites = home / "sites.json"
    sites.write_text(json.dumps(demo_site.sites()))
    settings = GatewaySettings(
        database_url=await create_database(postgres, "divert_gateway"),
        issuer=ISSUER,
        signing_key_file=home / "k.jwk.json",
        webhook_allow_private_targets=True,
        sites_file=str(sites),
    )
    clock = FixedClock(datetime.now(UTC))
    app = create(settings, clock=clock)
    nc = await bus.connect(module_nats.url_for("gateway"), "test-gateway")
    await feeds.ensure_feeds(nc.jetstream(), Sites.model_validate(demo_site.sites()))
    async with running(app) as http:
        await clients.register(app.state.engine, [POLICE])
        app.state.delivery_gate = ConsentGate("http://127.0.0.1:9")  # never asked: the agency's own record
        app.state.delivery_mint = tokens.minter(app.state.keyring.current, ISSUER, "x")
        background = [asyncio.create_task(w) for w in runner.workers(app, nc, clock)]
        h = Harness(app, http, clock)
        try:
            yield h
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await h.dispatcher.close()
            await nc.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


async def _announced(
    module_nats: NatsServer, endpoint_id: str, *, within: float = 30, settle: float = 2.0
) -> list[dict]:
    """Every WebhookEndpointDisabled about the endpoint the agency's own credential pulls from its feed: waits
    up to `within` seconds for the first, then reads until the feed is quiet for `settle` (so a second is seen)."""
    c = module_nats.partner_credentials(J, AGENCY)
    nc = await nats.connect(
        servers=c["servers"], user=c["user"], password=c["password"], inbox_prefix=c["inbox_prefix"]
    )
    found: list[dict] = []
    try:
        sub = await nc.jetstream().pull_subscribe_bind(durable=c["durable"], stream=c["stream"])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            try:
                batch = await sub.fetch(50, timeout=settle)
            except TimeoutError:  # nats-py raises its own, or asyncio's when the deadline runs out under load
                if found:
                    break
                continue
            for msg in batch:
                body = json.loads(msg.data)
                await msg.ack()
                if body["type"] == TYPE and body["data"]["endpoint_id"] == endpoint_id:
                    found.append({"subject": msg.subject, "body": body})
    finally:
        await nc.close()
    return found


def _check(announced: list[dict], created: dict, reason: str, at: datetime) -> None:
    [one] = announced
    assert one["subject"] == f"feeds.{J}.{AGENCY}.WebhookEndpointDisabled"
    data = one["body"]["data"]
    assert data == {
        "endpoint_id": created["endpoint_id"],
        "jurisdiction": J,
        "agency": AGENCY,
        "reason": reason,
        "disabled_at": data["disabled_at"],
    }
    assert datetime.fromisoformat(data["disabled_at"]) == at
    assert one["body"]["dataschema"].startswith(ISSUER + "/v1/schemas/events/gateway/WebhookEndpointDisabled/v1")
    schema = published.data_schema(WebhookEndpointDisabled, ISSUER)
    assert jsonschema_rs.validator_for(schema, validate_formats=True).is_valid(data)
    assert created["url"] not in json.dumps(one["body"])  # ids and codes only


async def test_410_disables_and_announces_it_once_on_the_agencys_feed(
    harness: Harness, receiver: Receiver, module_nats: NatsServer
) -> None:
    receiver.answer = lambda body: 410
    created = await harness.endpoint(receiver)
    await harness.publish(n=3)  # three attempts in one batch, each answered 410: still one disable, one event
    at = harness.clock.now()
    await harness.drain()
    assert receiver.requests == 3
    _check(await _announced(module_nats, created["endpoint_id"]), created, "gone", at)


async def test_five_days_of_failures_disable_and_announce_it_once(
    harness: Harness, receiver: Receiver, module_nats: NatsServer
) -> None:
    receiver.answer = lambda body: 500
    created = await harness.endpoint(receiver)
    await harness.publish()
    await harness.drain()  # one message's whole schedule (~28 hours): failing, not yet disabled
    path = f"/v1/webhook-endpoints/{created['endpoint_id']}"
    assert (await harness.http.get(path, headers=await harness.as_(POLICE))).json()["enabled"] is True
    harness.clock.advance(timedelta(days=4))
    await harness.publish(n=2)
    await harness.drain()
    read = (await harness.http.get(path, headers=await harness.as_(POLICE))).json()
    assert read["enabled"] is False and read["disabled_reason"] == "failing"
    disabled_at = datetime.fromisoformat(read["updated_at"])
    _check(await _announced(module_nats, created["endpoint_id"]), created, "failing", disabled_at)


async def test_an_agency_disabling_its_own_endpoint_announces_nothing(
    harness: Harness, receiver: Receiver, module_nats: NatsServer
) -> None:
    created = await harness.endpoint(receiver)
    path = f"/v1/webhook-endpoints/{created['endpoint_id']}"
    changed = await harness.http.patch(path, json={"enabled": False}, headers=await harness.as_(POLICE))
    assert changed.json()["disabled_reason"] == "disabled_by_agency"
    assert await _announced(module_nats, created["endpoint_id"], within=4) == []


async def test_the_contract_is_published_like_the_others(harness: Harness) -> None:
    schema = await harness.http.get(published.schema_path(WebhookEndpointDisabled))
    assert schema.status_code == 200
    assert set(schema.json()["required"]) == {"endpoint_id", "jurisdiction", "agency", "reason", "disabled_at"}
    document = (await harness.http.get("/asyncapi.json")).json()
    assert "feed.gateway.WebhookEndpointDisabled.v1" in document["channels"]
    assert "webhook.gateway.WebhookEndpointDisabled.v1" in document["channels"]
