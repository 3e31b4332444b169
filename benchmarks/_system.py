"""A fresh, private Divert for a benchmark: the devstack's own Stack, in a temporary home, on free loopback ports.

Started exactly as `make run` and the system tests start it (every service, consumer, relay and the gateway's
partner delivery running), never on the ports or the home of a running `make run`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from divert_devstack.procs import free_port
from divert_devstack.stack import SERVICES, Ports, Stack

# Set by an operator for an external PostgreSQL or NATS; a benchmark always brings its own.
_EXTERNAL = ("DIVERT_DATABASE_URL", "DIVERT_NATS_URL", "DIVERT_NATS_CREDENTIALS", "DIVERT_TRACE_FILE")


@dataclass
class Running:
    stack: Stack
    clients: dict[str, dict]  # agency_id -> its demo client (client_id, client_secret, ...)

    @property
    def gateway_url(self) -> str:
        return self.stack.gateway_url

    @property
    def operator_nats_url(self) -> str:
        return str(self.stack.nats_credentials["operator"])

    def database_url(self, database: str, driver: str = "postgresql") -> str:
        assert self.stack.postgres is not None
        return self.stack.postgres.url(database, driver)

    def pids(self) -> dict[str, int]:
        """The uvicorn process of each service and of the gateway (one worker each, as `make run` runs them)."""
        return {name: proc.pid for name, proc in self.stack.apps.items()}


def _say(line: str) -> None:
    print(f"   system: {line}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def running_system(quiet: bool = False) -> Iterator[Running]:
    for name in _EXTERNAL:
        os.environ.pop(name, None)
    ports = Ports(
        gateway=free_port(), postgres=free_port(), nats=free_port(), services={s: free_port() for s in SERVICES}
    )
    with tempfile.TemporaryDirectory(prefix="divert-bench-") as home:
        stack = Stack(Path(home), ports, progress=(lambda _: None) if quiet else _say)
        stack.start()
        try:
            every = json.loads((Path(home) / "demo-clients.json").read_text())["clients"]
            yield Running(stack, {c["agency_id"]: c for c in every})
        finally:
            stack.stop()
