"""`DIVERT_NATS_CLUSTER=3` on its own: three nats-servers from the wheel, clustered on loopback as the launcher
clusters them (nats_cluster.py), with Divert's users, partner accounts and stream settings.

What the whole system does through the gateway while a nats-server is killed (referrals acknowledged, charges
held, nothing applied twice) is tests/test_replicas.py; here, what that rests on, at the bus: every stream on
all three nodes; a node kill -9ed mid-publish loses no acknowledged message and stores none twice; the node
restarted rejoins with the partner accounts added while it ran, and every stream and durable is current on all
three again; a client reconnects to a peer it only heard of; a partner reads only its own feed on every node;
and `divert clients add` gives a new agency its feed on a running cluster.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig

from divert_devstack import nats_reload
from divert_devstack.nats import SERVICES, Feed
from divert_devstack.nats_cluster import NatsCluster
from divert_devstack.procs import free_port
from divert_devstack.testing import eventually
from divert_gateway.adapters import feeds
from divert_kernel import bus

J = "seattle-king-county"
OWN, OTHER, NEW = "seattle-pd", "kc-sheriff", "bellevue-pd"
NODES = 3
SUBJECT = f"lead.{J}.referral.ReferralReceived"
DURABLE = "casemgmt-from-referral"
PUBLISH_SECONDS = 8.0
KILL_AFTER_SECONDS = 3.0
DOWN_SECONDS = 2.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    home = tmp_path_factory.mktemp("nats-cluster-home")
    ports = [free_port() for _ in range(2 * NODES)]
    while len(set(ports)) < len(ports):  # free_port may hand out one port twice
        ports = [free_port() for _ in range(2 * NODES)]
    made = NatsCluster(
        home / "nats-cluster",
        ports[:NODES],
        ports[NODES:],
        secrets_dir=home / "secrets",
        feeds=(Feed(J, OWN), Feed(J, OTHER)),
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv(bus.STREAM_REPLICAS_SETTING, str(NODES))  # as the launcher sets it for every process
        made.start()
        try:
            yield made
        finally:
            made.stop()


@pytest.fixture(scope="module")
async def streams(cluster: NatsCluster) -> AsyncIterator[None]:
    """Every stream made as Divert makes it: each service's by that service, the feeds by the gateway."""
    for service in SERVICES:
        nc = await bus.connect(cluster.url_for(service), f"divert-{service}")
        try:
            await bus.ensure_stream(nc.jetstream(), service)
        finally:
            await nc.close()
    gateway = await bus.connect(cluster.url_for("gateway"), "divert-gateway")
    try:
        for feed in cluster.feeds:
            await feeds.ensure_feed(gateway.jetstream(), feed.jurisdiction, feed.agency)
    finally:
        await gateway.close()
    yield


async def operator(cluster: NatsCluster) -> Client:
    return await nats.connect(bus.servers(cluster.url), connect_timeout=2)


async def healed(cluster: NatsCluster) -> bool:
    """Every node runs, and every stream and durable has a leader and the two other nodes as current replicas."""
    if not all(node.running for node in cluster.nodes):
        return False
    nc = await operator(cluster)
    try:
        js = nc.jetstream(timeout=2)
        groups = []
        for info in await js.streams_info():
            groups.append(info.cluster)
            groups += [c.cluster for c in await js.consumers_info(info.config.name)]
        names = {f"divert-{i + 1}" for i in range(NODES)}
        for group in groups:
            replicas = (group.replicas or []) if group else []
            if group is None or {group.leader, *(r.name for r in replicas)} != names:
                return False
            if not all(r.current for r in replicas):
                return False
        return True
    except nats.errors.Error:
        return False  # a stream between leaders for a moment
    finally:
        await nc.close()


def kill(cluster: NatsCluster, server_name: str) -> str:
    """kill -9 the node of that server name; the supervisor's name for it."""
    index = [node.server_name for node in cluster.nodes].index(server_name)
    proc = cluster.nodes[index]._proc
    assert proc is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    return cluster.names[index]


def feed_credentials(cluster_or_file: NatsCluster | Path, agency: str) -> dict[str, Any]:
    path = cluster_or_file.credentials_file if isinstance(cluster_or_file, NatsCluster) else cluster_or_file
    return dict(json.loads(path.read_text())["partners"][bus.feed_user(J, agency)])


async def connect_partner(creds: dict[str, Any], servers: list[str] | None = None) -> Client:
    return await nats.connect(
        servers=servers or creds["servers"],
        user=creds["user"],
        password=creds["password"],
        inbox_prefix=creds["inbox_prefix"],
        allow_reconnect=False,
        connect_timeout=2,
    )


async def pull_ids(creds: dict[str, Any], servers: list[str] | None = None) -> list[str]:
    """What the partner's durable hands it (acked): the event ids."""
    nc = await connect_partner(creds, servers)
    try:
        sub = await nc.jetstream(timeout=5).pull_subscribe_bind(durable=creds["durable"], stream=creds["stream"])
        try:
            messages = await sub.fetch(10, timeout=3)
        except nats.errors.TimeoutError:
            return []
        for message in messages:
            await message.ack_sync()
        return [json.loads(m.data)["id"] for m in messages]
    finally:
        await nc.close()


async def publish_feed(agency: str, event_id: str, cluster: NatsCluster) -> None:
    nc = await bus.connect(cluster.url_for("gateway"), "divert-gateway")
    try:
        body = json.dumps({"id": event_id}).encode()
        subject = bus.feed_subject(J, agency, "IntakeCompleted")
        await nc.jetstream().publish(subject, body, headers={"Nats-Msg-Id": f"{event_id}:{agency}"})
    finally:
        await nc.close()


async def test_every_stream_and_feed_is_kept_on_all_three_nodes(cluster: NatsCluster, streams: None) -> None:
    nc = await operator(cluster)
    try:
        infos = await nc.jetstream().streams_info()
    finally:
        await nc.close()
    expected = {bus.stream_name(s) for s in SERVICES} | {f.stream for f in cluster.feeds}
    assert {i.config.name for i in infos} == expected
    assert {i.config.name: i.config.num_replicas for i in infos} == dict.fromkeys(expected, NODES)
    await eventually(lambda: healed(cluster), timeout=30)
    for service, url in json.loads(cluster.credentials_file.read_text())["services"].items():
        assert len(bus.servers(url)) == NODES, service  # every service is handed every node


async def test_a_partner_reads_only_its_own_feed_on_every_node(cluster: NatsCluster, streams: None) -> None:
    await publish_feed(OWN, "own-1", cluster)
    await publish_feed(OTHER, "other-1", cluster)
    own, other = feed_credentials(cluster, OWN), feed_credentials(cluster, OTHER)
    assert len(own["servers"]) == NODES
    assert await pull_ids(own, own["servers"][:1]) == ["own-1"]
    for node in own["servers"]:  # the same account on every node, whichever holds the feed's leader
        nc = await connect_partner(own, [node])
        try:
            js = nc.jetstream(timeout=1)
            for attempt in (
                js.pull_subscribe_bind(durable=other["durable"], stream=other["stream"]),
                js.stream_info(other["stream"]),
                js.get_msg(other["stream"], seq=1),
            ):
                with pytest.raises(Exception) as refused:
                    sub: Any = await attempt
                    await sub.fetch(1, timeout=1)  # only the bind returns: pulling is where it is refused
                assert not isinstance(refused.value, AssertionError)
        finally:
            await nc.close()
    assert await pull_ids(other, other["servers"][-1:]) == ["other-1"]


async def test_clients_add_gives_a_new_agency_its_feed_on_every_node(cluster: NatsCluster, streams: None) -> None:
    attached = nats_reload.attach(cluster.state_file)  # as `divert clients add` does, from its own process
    assert isinstance(attached, NatsCluster)
    feed = Feed(J, NEW)
    assert attached.add_feeds([feed]) == (feed,)
    nats_reload.reload(attached)
    await nats_reload.settle(attached, feed, timeout=30)
    creds = feed_credentials(cluster.credentials_file, NEW)
    await publish_feed(NEW, "new-1", cluster)
    assert await pull_ids(creds, creds["servers"][-1:]) == ["new-1"]
    nc = await operator(cluster)
    try:
        assert (await nc.jetstream().stream_info(feed.stream)).config.num_replicas == NODES
    finally:
        await nc.close()


async def publish_all(js: Any, prefix: str, end: float, retries: list[int]) -> list[str]:
    """One publisher: message after message until `end`, each retried with its own id until acknowledged."""
    acked, i = [], 0
    while time.monotonic() < end:
        key = f"{prefix}-{i}"
        while True:
            try:
                await js.publish(SUBJECT, key.encode(), headers={"Nats-Msg-Id": key}, timeout=2)
                break
            except (nats.errors.Error, TimeoutError):
                retries.append(1)
                assert time.monotonic() < end + 30, f"{key} never acknowledged"
                await asyncio.sleep(0.2)
        acked.append(key)
        i += 1
    return acked


async def stored_ids(cluster: NatsCluster) -> dict[int, str]:
    """Every message of the referral stream, through its durable, by stream sequence."""
    nc = await operator(cluster)
    try:
        sub = await nc.jetstream().pull_subscribe_bind(durable=DURABLE, stream=bus.stream_name("referral"))
        found: dict[int, str] = {}
        while True:
            try:
                batch = await sub.fetch(500, timeout=2)
            except nats.errors.TimeoutError:
                return found
            for message in batch:
                found[message.metadata.sequence.stream] = message.headers["Nats-Msg-Id"]
                await message.ack()
    finally:
        await nc.close()


async def test_a_node_killed_mid_publish_loses_nothing_stores_nothing_twice_and_rejoins(
    cluster: NatsCluster, streams: None
) -> None:
    await eventually(lambda: healed(cluster), timeout=30)
    nc = await operator(cluster)
    js = nc.jetstream()
    stream = bus.stream_name("referral")
    await js.add_consumer(stream, ConsumerConfig(durable_name=DURABLE, ack_policy=AckPolicy.EXPLICIT))
    leader = (await js.stream_info(stream)).cluster.leader  # the worst node to lose: a new leader is elected
    await nc.close()

    publisher = await bus.connect(cluster.url_for("referral"), "divert-referral")
    retries: list[int] = []
    end = time.monotonic() + PUBLISH_SECONDS
    load = [asyncio.create_task(publish_all(publisher.jetstream(), f"k{n}", end, retries)) for n in range(4)]
    await asyncio.sleep(KILL_AFTER_SECONDS)
    name = kill(cluster, leader)
    await asyncio.sleep(DOWN_SECONDS)
    cluster.start_node(name)  # as the launcher's supervisor does
    acked = [key for keys in await asyncio.gather(*load) for key in keys]
    await publisher.close()

    await eventually(lambda: healed(cluster), timeout=60)
    stored = await stored_ids(cluster)
    ids = list(stored.values())
    assert len(ids) == len(set(ids)), "a message stored twice"
    assert set(acked) <= set(ids), f"{len(set(acked) - set(ids))} acknowledged messages lost"
    assert set(ids) == set(acked)  # each publisher retried until acknowledged: nothing stored unacknowledged
    # The node came back with its config rewritten from the feeds added while it ran (`divert clients add`).
    node = cluster.nodes[cluster.names.index(name)]
    creds = feed_credentials(cluster, NEW)
    await publish_feed(NEW, "new-after-restart", cluster)
    assert await pull_ids(creds, [node.public_url]) == ["new-after-restart"]
    print(f"nats cluster: {len(acked)} acknowledged, {len(retries)} retried attempts, {name} ({leader}) killed")


async def test_a_client_reconnects_to_a_peer_it_was_only_told_of(cluster: NatsCluster, streams: None) -> None:
    """Given one node's URL, a client learns of the others from it (without credentials): when its node dies
    it reconnects to one of them, logging in with its own user."""
    await eventually(lambda: healed(cluster), timeout=60)
    first, name = cluster.nodes[0], cluster.names[0]
    nc = await bus.connect(first.url_for("referral"), "divert-referral")
    try:
        await eventually(lambda: _async(len(nc.discovered_servers) >= NODES - 1), timeout=10)
        kill(cluster, str(first.server_name))
        await eventually(lambda: _async(nc.is_connected and nc.connected_url.port != first.port), timeout=15)
        # The stream may have lost its leader with the node: a publisher retries (same id) until a new one answers.
        ack = await eventually(lambda: _published(nc, "reconnected-1"), timeout=30)
        assert ack.stream == bus.stream_name("referral")
    finally:
        await nc.close()
        cluster.start_node(name)
    await eventually(lambda: healed(cluster), timeout=60)


async def _async(value: Any) -> Any:
    return value


async def _published(nc: Client, msg_id: str) -> Any:
    try:
        return await nc.jetstream().publish(SUBJECT, b"after", headers={"Nats-Msg-Id": msg_id}, timeout=5)
    except (
        nats.errors.NoRespondersError,
        nats.js.errors.NoStreamResponseError,
        nats.errors.TimeoutError,
        TimeoutError,
    ):
        return None  # no stream leader yet: JetStream's publish says so as NoStreamResponseError


@pytest.mark.parametrize("login", [None, "divert-route:wrong"])
def test_a_route_port_refuses_a_server_without_the_route_password(cluster: NatsCluster, login: str | None) -> None:
    """A route is trusted with every account's messages: only the cluster's own nodes may connect as one."""
    connect: dict[str, Any] = {"verbose": False, "pedantic": False, "name": "intruder", "cluster": "divert"}
    if login:
        connect["user"], connect["pass"] = login.split(":")
    with socket.create_connection(("127.0.0.1", int(str(cluster.nodes[1].cluster_port))), timeout=5) as route:
        assert route.recv(4096).startswith(b"INFO ")
        route.sendall(f"CONNECT {json.dumps(connect)}\r\nPING\r\n".encode())
        answer = b""
        while b"\r\n" not in answer:
            answer += route.recv(4096)
    assert answer.startswith(b"-ERR 'Authorization Violation'"), answer
