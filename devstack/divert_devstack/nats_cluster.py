"""`DIVERT_NATS_CLUSTER=3`: a JetStream cluster of nats-servers from the wheel, clustered on loopback.

Each node is a NatsServer (nats.py) with the same accounts, users and passwords (persisted under one secrets
directory), its own data directory, client port and route port, and routes to its peers. Every URL handed out
lists every node, separated by commas (divert_kernel.bus.servers), so a client whose server dies reconnects to
another; every stream is kept on all nodes (DIVERT_NATS_STREAM_REPLICAS, which the launcher sets).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from divert_devstack.nats import Feed, NatsServer


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

    @property
    def names(self) -> list[str]:
        return [f"nats-server-{i + 1}" for i in range(len(self.nodes))]

    @property
    def url(self) -> str:
        """The operator's URLs (every node): they carry a password, never log them."""
        return ",".join(node.url for node in self.nodes)

    def url_for(self, service: str) -> str:
        return ",".join(node.url_for(service) for node in self.nodes)

    @property
    def public_url(self) -> str:
        return ",".join(node.public_url for node in self.nodes)

    def credentials(self) -> dict:  # type: ignore[type-arg]
        first = self.nodes[0].credentials()
        servers = [node.public_url for node in self.nodes]
        return {
            "operator": self.url,
            "services": {s: self.url_for(s) for s in first["services"]},
            "partners": {user: {**creds, "servers": servers} for user, creds in first["partners"].items()},
        }

    def start(self) -> None:
        for node in self.nodes:
            node.start()

    def start_node(self, name: str) -> None:
        node = self.nodes[self.names.index(name)]
        node._proc = None
        node.start()

    def children(self) -> dict[str, object]:
        return {name: node._proc for name, node in zip(self.names, self.nodes, strict=True)}

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
