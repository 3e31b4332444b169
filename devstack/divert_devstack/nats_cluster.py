"""`DIVERT_NATS_CLUSTER=3`: a JetStream cluster of nats-servers from the wheel, clustered on loopback.

Each node is a NatsServer (nats.py) with the same accounts, users and passwords (persisted under one secrets
directory), its own data directory, client port and route port, and routes to its peers; the routes log in
with a route user of their own. Every URL handed out lists every node, separated by commas
(divert_kernel.bus.servers), so a client whose server dies reconnects to another; every stream is kept on all
nodes (DIVERT_NATS_STREAM_REPLICAS, which the launcher sets).

Like a single server, the cluster describes itself beside its directory for another process (`nats-server.json`,
no secret) and writes every credential, each listing all nodes (`nats-credentials.json`): `divert clients add`
attaches to it (nats_reload.attach), gives a new agency its partner account on every node and reloads each.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import nats
import nats.errors

from divert_devstack.nats import SERVICES, Feed, NatsServer, _state, _union, _write_private
from divert_kernel.bus import servers


class NatsCluster:
    def __init__(
        self,
        root: Path,
        ports: Sequence[int],
        route_ports: Sequence[int],
        *,
        secrets_dir: Path,
        feeds: tuple[Feed, ...] = (),
    ) -> None:
        self.root = root
        self.secrets_dir = secrets_dir
        self.nodes = [
            NatsServer(
                root / f"node-{i + 1}" / "data",
                port,
                secrets_dir=secrets_dir,
                feeds=feeds,
                server_name=f"divert-{i + 1}",
                cluster_port=route,
                routes=tuple(p for p in route_ports if p != route),
            )
            for i, (port, route) in enumerate(zip(ports, route_ports, strict=True))
        ]

    @classmethod
    def described(cls, state: dict[str, Any]) -> NatsCluster:
        """The cluster another process started, as its state file describes it, with each node's pid."""
        cluster = cls(Path(state["root"]), state["ports"], state["route_ports"], secrets_dir=Path(state["secrets_dir"]))
        feeds = tuple(Feed(j, a) for j, a in state.get("feeds", []))
        for node in cluster.nodes:
            node.feeds = _union(feeds, _state(node.state_file).get("feeds", []))
            node.pid = _state(node.state_file).get("pid")
        return cluster

    @property
    def names(self) -> list[str]:
        return [f"nats-server-{i + 1}" for i in range(len(self.nodes))]

    @property
    def feeds(self) -> tuple[Feed, ...]:
        return self.nodes[0].feeds

    @property
    def pids(self) -> list[int | None]:
        return [node.pid for node in self.nodes]

    @property
    def url(self) -> str:
        """The operator's URLs (every node): they carry a password, never log them."""
        return ",".join(node.url for node in self.nodes)

    def url_for(self, service: str) -> str:
        return ",".join(node.url_for(service) for node in self.nodes)

    @property
    def public_url(self) -> str:
        return ",".join(node.public_url for node in self.nodes)

    def partner_credentials(self, jurisdiction: str, agency: str) -> dict[str, Any]:
        """As a single server's, with every node to connect to."""
        creds = self.nodes[0].partner_credentials(jurisdiction, agency)
        return {**creds, "servers": [node.public_url for node in self.nodes]}

    def credentials(self) -> dict[str, Any]:
        return {
            "operator": self.url,
            "services": {s: self.url_for(s) for s in SERVICES},
            "partners": {f.user: self.partner_credentials(f.jurisdiction, f.agency) for f in self.feeds},
        }

    @property
    def credentials_file(self) -> Path:
        return self.root.parent / "nats-credentials.json"

    @property
    def state_file(self) -> Path:
        return self.root.parent / "nats-server.json"

    def _write_files(self) -> None:
        _write_private(self.credentials_file, json.dumps(self.credentials(), indent=2))
        state = {
            "root": str(self.root),
            "ports": [node.port for node in self.nodes],
            "route_ports": [node.cluster_port for node in self.nodes],
            "secrets_dir": str(self.secrets_dir),
            "feeds": [[f.jurisdiction, f.agency] for f in self.feeds],
        }
        _write_private(self.state_file, json.dumps(state, indent=2))

    def start(self, timeout: float = 60) -> None:
        """Every node, with one set of feeds (any node may have been given one while the others were down);
        back once JetStream answers: the nodes have elected a meta leader and streams can be made at R3."""
        feeds: tuple[Feed, ...] = ()
        for node in self.nodes:
            feeds = _union((*feeds, *node.feeds), _node_feeds(node))
        for node in self.nodes:
            node.feeds = feeds
            node.start()
        self._write_files()
        asyncio.run(_jetstream_ready(self.url, timeout))

    def start_node(self, name: str) -> None:
        """One node again (the supervisor's restart): it rejoins its peers and catches up on its own."""
        node = self.nodes[self.names.index(name)]
        node._proc = None
        node.start()

    def add_feeds(self, feeds: Iterable[Feed]) -> tuple[Feed, ...]:
        """A partner account per new feed on every node (each reloads it: nats_reload.reload); the new ones."""
        feeds = tuple(feeds)
        new: tuple[Feed, ...] = ()
        for node in self.nodes:
            new = node.add_feeds(feeds) or new
        if new:
            self._write_files()
        return new

    def children(self) -> dict[str, object]:
        return {name: node._proc for name, node in zip(self.names, self.nodes, strict=True)}

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _node_feeds(node: NatsServer) -> list[list[str]]:
    return list(_state(node.state_file).get("feeds", []))


async def _quiet(exc: Exception) -> None:
    """Refused connections while the nodes come up are expected; nats-py would print each one."""


async def _jetstream_ready(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            nc = await nats.connect(servers(url), allow_reconnect=False, connect_timeout=2, error_cb=_quiet)
            try:
                await nc.jetstream(timeout=2).account_info()  # answered only once a meta leader is elected
                return
            finally:
                await nc.close()
        except (nats.errors.Error, OSError):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the NATS cluster elected no JetStream leader in {timeout:.0f} s") from None
            await asyncio.sleep(0.3)
