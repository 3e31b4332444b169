"""`make run`: start the whole system, restart any child that dies, and keep it up until Ctrl-C or SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from divert_devstack.preflight import AlreadyRunning, HomeLock, PortsTaken, check_ports
from divert_devstack.stack import SERVICES, Stack, nats_cluster_from_env, replicas_from_env
from divert_kernel.bus import servers


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop


def redacted(url: str) -> str:
    """A URL (or a cluster's, separated by commas) fit to print: any credential in it replaced."""
    return ",".join(_redacted(one) for one in servers(url))


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"***@{parts.hostname}:{parts.port}")) if parts.username else url


# The setting that moves each port, for the "port taken" message.
PORT_SETTINGS = {
    "gateway": "DIVERT_GATEWAY_PORT",
    "PostgreSQL": "DIVERT_PG_PORT (or DIVERT_DATABASE_URL for a PostgreSQL of your own)",
    "NATS": "DIVERT_NATS_PORT (or DIVERT_NATS_URL for a NATS of your own)",
    **{s: "DIVERT_SERVICE_BASE_PORT (the service ports start there)" for s in SERVICES},
}
REPLICA_PORTS = "DIVERT_SERVICE_BASE_PORT (each replica's port follows the service ports) or DIVERT_REPLICAS"


NATS_CLUSTER_PORTS = "DIVERT_NATS_PORT (a cluster's client ports, then its route ports, start there)"


def port_settings(names: list[str]) -> dict[str, str]:
    """The hint for each port the launcher binds: a replica's (`referral-2`) moves with the service base port."""
    return {
        name: PORT_SETTINGS.get(name, NATS_CLUSTER_PORTS if name.startswith("NATS") else REPLICA_PORTS)
        for name in names
    }


def _progress(started: float) -> Callable[[str], None]:
    def say(step: str) -> None:
        print(f"[{time.monotonic() - started:5.1f}s] {step}", flush=True)

    return say


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for chatty in ("alembic", "httpx"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    started = time.monotonic()
    try:
        replicas_from_env()
        nats_cluster_from_env()
    except ValueError as bad:
        print(f"divert: {bad}", file=sys.stderr, flush=True)
        return 2
    stack = Stack(Path(os.environ.get("DIVERT_HOME", ".divert")), progress=_progress(started))
    # Both checks come before anything is started, written or deleted: a refused launcher leaves the home,
    # the ports and any running instance exactly as they were.
    try:
        with HomeLock(stack.home):
            ports = stack.ports_to_bind()
            check_ports(ports, port_settings(list(ports)))
            return _run(stack, started)
    except (AlreadyRunning, PortsTaken) as refused:
        print(f"divert: {refused}", file=sys.stderr, flush=True)
        return 1


def _run(stack: Stack, started: float) -> int:
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    try:
        stack.start()
        took = time.monotonic() - started
        print(
            f"Divert is up in {took:.0f}s: gateway {stack.gateway_url}, NATS {redacted(str(stack.nats_url))}",
            flush=True,
        )
        if stack.ports.replicas > 1:
            print(f"  replicas:     {stack.ports.replicas} processes per service and of the gateway", flush=True)
        print(f"  endpoints:    {stack.home / 'endpoints.json'}", flush=True)
        print(f"  demo clients: {stack.home / 'demo-clients.json'}", flush=True)
        print(f"  logs:         {stack.home / 'logs'}/   (Ctrl-C stops everything)", flush=True)
        # One child dying stops nothing else: it is restarted (with backoff) and the restart is printed.
        while True:
            for line in stack.supervise():
                print(f"supervisor: {line}; see {stack.home / 'logs'}", file=sys.stderr, flush=True)
            time.sleep(0.25)
    except _Stop:
        print("stopping Divert", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
