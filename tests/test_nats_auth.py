"""NATS always requires authentication, and each credential reaches only what it needs (DESIGN §7a).

Real nats-server (the module's own), configured as the launcher configures it: a user per Divert service, the
gateway's delivery user, and each demo agency alone in its own account with only its feed durable imported.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import nats
import nats.errors
import nats.js.errors
import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig

from divert_devstack import demo_site
from divert_devstack.nats import SERVICES, NatsServer
from divert_devstack.testing import eventually
from divert_gateway.adapters import feeds
from divert_kernel import bus
from divert_kernel.sites import Sites
from tests.conftest import System

J = demo_site.SEATTLE
OWN, OTHER = "seattle-pd", "kc-sheriff"
OTHER_STREAM = bus.feed_stream(J, OTHER)
OTHER_DURABLE = bus.feed_durable(J, OTHER)


class Errors(list[str]):
    """The errors the server sends a client (a refused subscribe or publish arrives as one)."""

    async def callback(self, exc: Exception) -> None:
        self.append(str(exc))

    async def settled(self) -> str:
        await asyncio.sleep(0.3)  # the server's -ERR arrives asynchronously
        return " | ".join(self)


async def connect_partner(nats_server: NatsServer, agency: str, errors: Errors | None = None) -> Client:
    c = nats_server.partner_credentials(J, agency)
    return await nats.connect(
        servers=c["servers"],
        user=c["user"],
        password=c["password"],
        inbox_prefix=c["inbox_prefix"],
        error_cb=(errors if errors is not None else Errors()).callback,
        allow_reconnect=False,
    )


async def connect_service(nats_server: NatsServer, service: str, errors: Errors | None = None) -> Client:
    return await nats.connect(
        nats_server.url_for(service),
        inbox_prefix=bus.inbox_prefix(f"divert-{service}"),
        error_cb=(errors if errors is not None else Errors()).callback,
        allow_reconnect=False,
    )


async def publish_feed(gateway: Client, agency: str, event_id: str) -> None:
    """As the delivery component does: the CloudEvent on the agency's subject, deduplicated per agency."""
    body = json.dumps({"id": event_id, "type": "IntakeCompleted", "data": {"agency": agency}}).encode()
    await gateway.jetstream().publish(
        bus.feed_subject(J, agency, "IntakeCompleted"), body, headers={"Nats-Msg-Id": f"{event_id}:{agency}"}
    )


@pytest.fixture(scope="module")
async def gateway(module_nats: NatsServer) -> AsyncIterator[Client]:
    """The gateway's own user, having made every demo agency's feed as it does at start-up."""
    nc = await connect_service(module_nats, "gateway")
    await feeds.ensure_feeds(nc.jetstream(), Sites.model_validate(demo_site.sites()))
    yield nc
    await nc.close()


async def test_an_anonymous_connection_is_refused(nats_server: NatsServer) -> None:
    with pytest.raises(Exception) as refused:
        await nats.connect(nats_server.public_url, allow_reconnect=False, connect_timeout=2, max_reconnect_attempts=0)
    assert "authorization" in repr(refused.value).lower(), repr(refused.value)


async def test_every_service_connects_with_its_own_credential(module_nats: NatsServer) -> None:
    for service in SERVICES:
        nc = await connect_service(module_nats, service)
        assert nc.is_connected
        await nc.close()


async def test_a_service_publishes_its_own_subjects_and_not_another_services(module_nats: NatsServer) -> None:
    errors = Errors()
    nc = await connect_service(module_nats, "referral", errors)
    try:
        await bus.ensure_stream(nc.jetstream(), "referral")
        ack = await nc.jetstream().publish(f"lead.{J}.referral.Probe", b"{}")
        assert ack.stream == bus.stream_name("referral")
        await nc.publish(f"lead.{J}.casemgmt.IntakeCompleted", b"{}")
        assert "permissions violation for publish" in await errors.settled()
    finally:
        await nc.close()


async def test_a_service_reads_through_its_own_durable_only(module_nats: NatsServer) -> None:
    operator = await nats.connect(module_nats.url)
    await bus.ensure_stream(operator.jetstream(), "referral")
    await operator.jetstream().publish(f"lead.{J}.referral.Probe", b"{}")
    errors = Errors()
    nc = await connect_service(module_nats, "casemgmt", errors)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(
            "lead.*.referral.>", durable="casemgmt-from-referral", stream=bus.stream_name("referral")
        )
        assert (await sub.fetch(1, timeout=2))[0].subject == f"lead.{J}.referral.Probe"
        # Refused (no answer): audit's durable is audit's, and taking its messages would starve it.
        with pytest.raises(nats.errors.TimeoutError):
            await js.add_consumer(bus.stream_name("referral"), ConsumerConfig(durable_name="audit-from-referral"))
        assert "permissions violation" in await errors.settled()
    finally:
        await nc.close()
        await operator.close()


async def test_a_police_agency_receives_its_own_feed(module_nats: NatsServer, gateway: Client) -> None:
    await publish_feed(gateway, OWN, "e-own-1")
    await publish_feed(gateway, OTHER, "e-other-1")
    c = module_nats.partner_credentials(J, OWN)
    nc = await connect_partner(module_nats, OWN)
    try:
        sub = await nc.jetstream().pull_subscribe_bind(durable=c["durable"], stream=c["stream"])
        messages = await sub.fetch(10, timeout=2)
        assert [json.loads(m.data)["id"] for m in messages] == ["e-own-1"]
        assert messages[0].headers["Nats-Msg-Id"] == f"e-own-1:{OWN}"
        for message in messages:
            await message.ack_sync()
        with pytest.raises(TimeoutError):  # acked: not delivered again
            await sub.fetch(1, timeout=1)
        # Replay from a position: Divert restarts the agency's durable at the stream sequence asked for.
        await feeds.replay(gateway.jetstream(), J, OWN, start_sequence=messages[0].metadata.sequence.stream)
        again = await sub.fetch(1, timeout=2)
        assert json.loads(again[0].data)["id"] == "e-own-1"
    finally:
        await nc.close()


@pytest.mark.parametrize(
    ("action", "subject"),
    [
        ("subscribe", "lead.>"),
        ("subscribe", f"feeds.{J}.{OTHER}.>"),
        ("subscribe", "feeds.>"),
        ("subscribe", "_INBOX.>"),
        ("publish", f"$JS.API.CONSUMER.MSG.NEXT.{OTHER_STREAM}.{OTHER_DURABLE}"),
        ("publish", f"$JS.API.CONSUMER.CREATE.{OTHER_STREAM}.mine.{bus.feed_subject(J, OTHER)}"),
        ("publish", f"$JS.API.CONSUMER.CREATE.{bus.feed_stream(J, OWN)}.mine"),
        ("publish", f"$JS.API.DIRECT.GET.{OTHER_STREAM}"),
        ("publish", f"$JS.API.STREAM.MSG.GET.{OTHER_STREAM}"),
        ("publish", f"$JS.API.STREAM.INFO.{OTHER_STREAM}"),
        ("publish", f"lead.{J}.referral.DiversionOffered"),
        ("publish", f"feeds.{J}.{OWN}.IntakeCompleted"),
    ],
)
async def test_a_police_credential_is_refused(
    module_nats: NatsServer, gateway: Client, action: str, subject: str
) -> None:
    errors = Errors()
    nc = await connect_partner(module_nats, OWN, errors)
    try:
        if action == "subscribe":
            await nc.subscribe(subject)
        else:
            await nc.publish(subject, b'{"batch": 1, "last_by_subj": "feeds.>"}', reply=nc.new_inbox())
        refused = "subscription" if action == "subscribe" else "publish"
        assert f"permissions violation for {refused} to" in await errors.settled()
    finally:
        await nc.close()


async def test_a_police_credential_cannot_read_another_agencys_feed_by_the_jetstream_api(
    module_nats: NatsServer, gateway: Client
) -> None:
    await publish_feed(gateway, OTHER, "e-other-2")
    nc = await connect_partner(module_nats, OWN)
    js = nc.jetstream(timeout=1)
    try:
        for attempt in (
            js.pull_subscribe_bind(durable=OTHER_DURABLE, stream=OTHER_STREAM),
            js.add_consumer(OTHER_STREAM, ConsumerConfig(durable_name="mine", filter_subject=f"feeds.{J}.{OTHER}.>")),
            js.get_msg(OTHER_STREAM, seq=1),
            js.get_msg(OTHER_STREAM, seq=1, direct=True),
            js.stream_info(OTHER_STREAM),
        ):
            with pytest.raises(Exception) as refused:
                sub: Any = await attempt
                await sub.fetch(1, timeout=1)  # only the bind returns: pulling is where it is refused
            assert not isinstance(refused.value, AssertionError)
    finally:
        await nc.close()


async def test_a_pull_reply_cannot_be_aimed_at_divert_subjects(module_nats: NatsServer, gateway: Client) -> None:
    """A pull request's reply subject is not a publish permission: inside Divert's account, a partner could have
    its feed delivered onto `lead.…` and forge internal events. In its own account, the reply stays there."""
    operator = await nats.connect(module_nats.url)
    await bus.ensure_stream(operator.jetstream(), "referral")
    before = (await operator.jetstream().stream_info(bus.stream_name("referral"))).state.messages
    await publish_feed(gateway, OWN, "e-own-redirect")
    await feeds.replay(gateway.jetstream(), J, OWN)
    c = module_nats.partner_credentials(J, OWN)
    nc = await connect_partner(module_nats, OWN)
    try:
        next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{c['stream']}.{c['durable']}"
        await nc.publish(next_subject, b'{"batch": 5}', reply=f"lead.{J}.referral.Forged")
        await nc.flush()
        await asyncio.sleep(0.5)
        after = (await operator.jetstream().stream_info(bus.stream_name("referral"))).state.messages
        assert after == before
    finally:
        await nc.close()
        await operator.close()


async def test_a_demo_partner_pulls_its_feed_with_the_credentials_in_demo_clients(system: System) -> None:
    """`make run`: the gateway made each agency's feed at start-up; demo-clients.json names what to connect with."""
    clients = json.loads((system.home / "demo-clients.json").read_text())["clients"]
    c = next(client for client in clients if client["agency_id"] == OWN)["nats_credentials"]
    assert set(c) >= {"servers", "user", "password", "stream", "durable", "subject"}
    gateway = await connect_service(system.nats, "gateway")
    try:
        await eventually(lambda: _feed_ready(gateway, c["stream"]))
        await publish_feed(gateway, OWN, "e-demo-1")
    finally:
        await gateway.close()
    nc = await nats.connect(
        servers=c["servers"], user=c["user"], password=c["password"], inbox_prefix=c["inbox_prefix"]
    )
    try:
        sub = await nc.jetstream().pull_subscribe_bind(durable=c["durable"], stream=c["stream"])
        # The delivery component feeds this agency too: read through what came before (bounded).
        received: list[str] = []
        for _ in range(20):
            batch = await sub.fetch(100, timeout=2)
            for m in batch:
                received.append(json.loads(m.data)["id"])
                await m.ack()
            if "e-demo-1" in received:
                break
        assert "e-demo-1" in received
    finally:
        await nc.close()


async def _feed_ready(nc: Client, stream: str) -> bool:
    try:
        await nc.jetstream().stream_info(stream)
        return True
    except nats.js.errors.NotFoundError:
        return False
