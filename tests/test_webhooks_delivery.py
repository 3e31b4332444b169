"""Webhook delivery on the gateway's real database: Standard Webhooks signatures checked by a real receiver, the
retry schedule on an injected clock, 410, the 5-day rule, rotation, replay, ownership, and 500 events under a
receiver that fails half its requests. Events here are the receiving agency's own records (no gate decision);
cross-agency delivery through the real consent service is in test_webhooks_e2e.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa

from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database, running
from divert_gateway.adapters import clients
from divert_gateway.bootstrap import create
from divert_gateway.config import GatewaySettings
from divert_gateway.delivery import intake, tokens
from divert_gateway.delivery.dispatch import Dispatcher
from divert_gateway.domain.webhooks import RETRY_SCHEDULE
from divert_kernel.clock import FixedClock
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.gate import ConsentGate
from tests.webhook_receiver import Receiver

ISSUER = "https://gateway.test"
J = "seattle-king-county"


def _client(agency: str, agency_type: str) -> dict:
    return {
        "client_id": f"{agency}-app",
        "client_secret": "s" * 40,
        "agency_id": agency,
        "agency_type": agency_type,
        "jurisdictions": [J],
        "scopes": [],
    }


POLICE, OTHER = _client("seattle-pd", "police"), _client("kc-sheriff", "police")


class Harness:
    def __init__(self, app, http: httpx.AsyncClient, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
        self.app, self.http, self.clock = app, http, clock
        self.dispatcher = Dispatcher(
            app.state.engine,
            ConsentGate("http://127.0.0.1:9"),  # never asked here: own records only
            tokens.minter(app.state.keyring.current, ISSUER, "divert-api"),
            clock=clock,
            allow_private=True,
        )

    async def as_(self, client: dict) -> dict[str, str]:
        reply = await self.http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": "s" * 40},
        )
        return {"authorization": f"Bearer {reply.json()['access_token']}"}

    async def endpoint(self, receiver: Receiver, types: list[str] | None = None, client: dict = POLICE) -> dict:
        reply = await self.http.post(
            "/v1/webhook-endpoints",
            json={"url": receiver.url, "event_types": types or ["DiversionOffered"], "description": "RMS"},
            headers=await self.as_(client),
        )
        assert reply.status_code == 201, reply.text
        receiver.secrets.append(reply.json()["secret"])
        return reply.json()

    async def publish(self, agency: str = "seattle-pd", n: int = 1) -> list[str]:
        """Events of the police agency's own records, as the consumer receives them off the bus."""
        ids = []
        async with self.app.state.engine.begin() as conn:
            for _ in range(n):
                event_id, referral = str(uuid4()), str(uuid4())
                raw = {
                    "specversion": "1.0",
                    "id": event_id,
                    "source": f"/divert/{J}/referral",
                    "type": "org.divert.referral.DiversionOffered.v1",
                    "subject": referral,
                    "time": self.clock.now().isoformat(),
                    "datacontenttype": "application/json",
                    "data": {"referral_id": referral, "participant_id": str(uuid4()), "referring_agency": agency},
                    "jurisdiction": J,
                    "actoragency": agency,
                    "actoragencytype": "police",
                }
                received = ReceivedEvent(
                    event_id, "referral", "DiversionOffered", 1, referral, J, self.clock.now(), None, raw
                )
                await intake.queue(conn, received, self.clock)
                ids.append(event_id)
        return ids

    async def drain(self, *, limit: int = 10_000) -> None:
        """Dispatch until nothing is pending, moving the clock to each next retry (seconds, not hours)."""
        for _ in range(limit):
            if await self.dispatcher.step():
                continue
            async with self.app.state.engine.connect() as conn:
                due = (
                    await conn.execute(
                        sa.text(
                            "SELECT min(next_attempt_at) FROM webhook_messages JOIN webhook_endpoints USING (endpoint_id) "
                            "WHERE status = 'pending' AND enabled"
                        )
                    )
                ).scalar()
            if due is None:
                return
            self.clock.at = max(self.clock.at, due)
        raise AssertionError("delivery did not settle")


@pytest.fixture(scope="module")
async def harness(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    url = await create_database(postgres, "divert_gateway")
    settings = GatewaySettings(
        database_url=url,
        issuer=ISSUER,
        signing_key_file=tmp_path_factory.mktemp("keys") / "k.jwk.json",
        webhook_allow_private_targets=True,
    )
    clock = FixedClock(datetime.now(UTC))
    app = create(settings, clock=clock)
    async with running(app) as http:
        await clients.register(app.state.engine, [POLICE, OTHER])
        h = Harness(app, http, clock)
        yield h
        await h.dispatcher.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


async def test_a_delivery_is_the_cloudevent_signed_per_standard_webhooks(harness: Harness, receiver: Receiver) -> None:
    await harness.endpoint(receiver)
    [event_id] = await harness.publish()
    await harness.drain()
    [delivery] = [d for d in receiver.deliveries if d.headers["webhook-id"] == event_id]
    assert delivery.body["id"] == event_id and delivery.body["specversion"] == "1.0"
    assert delivery.body["type"] == "org.divert.referral.DiversionOffered.v1"
    assert receiver.unverified == 0


async def test_retries_follow_the_standard_webhooks_schedule(harness: Harness, receiver: Receiver) -> None:
    receiver.answer = lambda body: 503
    created = await harness.endpoint(receiver)
    start = harness.clock.now()
    await harness.publish()
    await harness.drain()
    assert receiver.requests == len(RETRY_SCHEDULE)
    offsets, total = [], timedelta(0)
    for delay in RETRY_SCHEDULE:
        total += delay
        offsets.append(total)
    log = await harness.http.get(
        f"/v1/webhook-endpoints/{created['endpoint_id']}/deliveries",
        params={"limit": 3},
        headers=await harness.as_(POLICE),
    )
    page = log.json()
    assert [i["status_code"] for i in page["items"]] == [503, 503, 503] and page["next_cursor"]
    assert page["items"][0]["next_retry_at"] is None  # the schedule is spent
    seen = [datetime.fromisoformat(i["attempted_at"]) - start for i in await _all_attempts(harness, created)]
    assert sorted(seen) == offsets


async def _all_attempts(harness: Harness, created: dict) -> list[dict]:
    items, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (
            await harness.http.get(
                f"/v1/webhook-endpoints/{created['endpoint_id']}/deliveries",
                params=params,
                headers=await harness.as_(POLICE),
            )
        ).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_410_gone_disables_the_endpoint(harness: Harness, receiver: Receiver) -> None:
    receiver.answer = lambda body: 410
    created = await harness.endpoint(receiver)
    await harness.publish()
    await harness.drain()
    read = await harness.http.get(f"/v1/webhook-endpoints/{created['endpoint_id']}", headers=await harness.as_(POLICE))
    assert read.json()["enabled"] is False and read.json()["disabled_reason"] == "gone"
    await harness.publish()
    await harness.drain()
    assert receiver.requests == 1


async def test_five_days_of_failures_disable_the_endpoint(harness: Harness, receiver: Receiver) -> None:
    receiver.answer = lambda body: 500
    created = await harness.endpoint(receiver)
    await harness.publish()
    await harness.drain()  # one message's schedule spans ~28 hours
    path = f"/v1/webhook-endpoints/{created['endpoint_id']}"
    assert (await harness.http.get(path, headers=await harness.as_(POLICE))).json()["enabled"] is True
    harness.clock.advance(timedelta(days=4))
    await harness.publish()
    await harness.drain()
    assert (await harness.http.get(path, headers=await harness.as_(POLICE))).json()["disabled_reason"] == "failing"


async def test_rotation_signs_with_both_secrets_for_a_day(harness: Harness, receiver: Receiver) -> None:
    created = await harness.endpoint(receiver)
    rotated = await harness.http.post(
        f"/v1/webhook-endpoints/{created['endpoint_id']}/secret-rotation", headers=await harness.as_(POLICE)
    )
    assert rotated.status_code == 200 and rotated.json()["secret"] != created["secret"]
    receiver.secrets.append(rotated.json()["secret"])
    [first] = await harness.publish()
    await harness.drain()
    harness.clock.advance(timedelta(hours=24, seconds=1))
    [second] = await harness.publish()
    await harness.drain()
    by_id = {d.headers["webhook-id"]: d for d in receiver.deliveries}
    assert by_id[first].verified_with == [0, 1]
    assert by_id[second].verified_with == [1]


async def test_replay_redelivers_from_a_time_or_after_an_event(harness: Harness, receiver: Receiver) -> None:
    created = await harness.endpoint(receiver)
    start = harness.clock.now()
    ids = await harness.publish(n=3)
    await harness.drain()
    path = f"/v1/webhook-endpoints/{created['endpoint_id']}/replay"
    after = await harness.http.post(path, json={"after_event_id": ids[0]}, headers=await harness.as_(POLICE))
    assert after.status_code == 202 and after.json() == {"queued": 2}
    await harness.drain()
    assert sorted(receiver.ids()) == sorted([*ids, ids[1], ids[2]])
    since = await harness.http.post(path, json={"since": start.isoformat()}, headers=await harness.as_(POLICE))
    assert since.json() == {"queued": 3}
    await harness.drain()
    assert len(receiver.ids()) == 8 and set(receiver.ids()) == set(ids)
    unknown = await harness.http.post(path, json={"after_event_id": str(uuid4())}, headers=await harness.as_(POLICE))
    assert unknown.status_code == 422 and unknown.json()["field"] == "after_event_id"


async def test_only_the_endpoints_agency_manages_it(harness: Harness, receiver: Receiver) -> None:
    created = await harness.endpoint(receiver)
    other = await harness.as_(OTHER)
    for method, suffix in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/secret-rotation"), ("POST", "/test")):
        theirs = await harness.http.request(
            method,
            f"/v1/webhook-endpoints/{created['endpoint_id']}{suffix}",
            headers=other,
            **({"json": {"enabled": False}} if method == "PATCH" else {}),
        )
        unknown = await harness.http.request(
            method,
            f"/v1/webhook-endpoints/{uuid4()}{suffix}",
            headers=other,
            **({"json": {"enabled": False}} if method == "PATCH" else {}),
        )
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.json() == unknown.json()
    listed = await harness.http.get("/v1/webhook-endpoints", headers=other)
    assert created["endpoint_id"] not in [e["endpoint_id"] for e in listed.json()]
    assert receiver.requests == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.org/x", "event_types": ["DiversionOffered"]}, "url"),
        ({"url": "https://example.org/x", "event_types": ["NoSuchEvent"]}, "event_types"),
        ({"url": "https://example.org/x", "event_types": []}, "event_types"),
    ],
)
async def test_bad_endpoints_are_refused_naming_the_field(harness: Harness, body: dict, field: str) -> None:
    reply = await harness.http.post("/v1/webhook-endpoints", json=body, headers=await harness.as_(POLICE))
    assert reply.status_code == 422 and field in reply.json()["field"]


async def test_the_test_call_sends_one_signed_event_now(harness: Harness, receiver: Receiver) -> None:
    created = await harness.endpoint(receiver)
    sent = await harness.http.post(
        f"/v1/webhook-endpoints/{created['endpoint_id']}/test", headers=await harness.as_(POLICE)
    )
    assert sent.status_code == 200 and sent.json()["status_code"] == 204
    [delivery] = receiver.deliveries
    assert delivery.headers["webhook-id"] == sent.json()["event_id"] == delivery.body["id"]
    assert delivery.body["type"] == "org.divert.gateway.WebhookEndpointTested.v1"


async def test_update_and_delete(harness: Harness, receiver: Receiver) -> None:
    created = await harness.endpoint(receiver)
    path, me = f"/v1/webhook-endpoints/{created['endpoint_id']}", await harness.as_(POLICE)
    changed = await harness.http.patch(path, json={"event_types": ["DiversionAccepted"], "enabled": False}, headers=me)
    assert changed.json()["event_types"] == ["DiversionAccepted"] and changed.json()["enabled"] is False
    assert "secret" not in changed.json() or changed.json()["secret"] is None
    await harness.publish()
    await harness.drain()
    assert receiver.requests == 0
    assert (await harness.http.delete(path, headers=me)).status_code == 204
    assert (await harness.http.get(path, headers=me)).status_code == 404
