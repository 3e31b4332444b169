"""Adding a partner feed to the nats-server `make run` started, from another process (`divert clients add`).

The launcher's NatsServer describes itself in `nats-server.json` (port, directories, pid, feeds; no secret).
Another process rebuilds the same NatsServer from it; its passwords come from the secrets directory, so the
config it writes keeps every other user as it was. The server then re-reads its config on SIGHUP
(`nats-server --signal reload=<pid>`): no restart, no connection dropped, new permissions apply at once.

nats-server 2.x resolves a new account's service imports against the exporting account as it was before the
reload, so the first reload can leave a new partner able to log in but not to pull ("no responders"); a second
reload resolves them. `settle` probes the partner's pull and reloads until it answers. Each reload leaves
JetStream's API unanswered for a moment: Divert's publishers and consumers retry, as after any NATS blip.

A cluster (`DIVERT_NATS_CLUSTER`, nats_cluster.py) is attached the same way: every node gets the new account in
its config and a reload; the feed's stream is made at the cluster's size.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import nats
import nats.errors
import nats.js.errors

from divert_devstack.nats import Feed, NatsServer, _state
from divert_devstack.nats_cluster import NatsCluster
from divert_gateway.adapters import feeds
from divert_kernel.bus import servers

Managed = NatsServer | NatsCluster


class NotAttachable(Exception):
    """This process cannot reconfigure that nats-server (the message says why)."""


def is_nats_server(pid: object) -> bool:
    """That pid is a nats-server now, not a pid reused since by another program (ps: the same on macOS)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    found = subprocess.run(["ps", "-o", "comm=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    return Path(found).name == "nats-server"


def attach(state_file: Path) -> Managed:
    """The server another process runs (the launcher's), to add feeds to from this one.

    Only a server whose passwords persist under a secrets directory: otherwise this process could not write
    a config that keeps every other user's password."""
    state = _state(state_file)
    if not state:
        raise NotAttachable(f"no nats-server started by `make run` is described at {state_file}")
    if not state.get("secrets_dir"):
        raise NotAttachable("its passwords live only in the process that started it")
    if "route_ports" in state:  # a cluster (nats_cluster.py): reconfigured while any node runs
        cluster = NatsCluster.described(state)
        if not any(is_nats_server(pid) for pid in cluster.pids):
            raise NotAttachable("none of its nodes is running")
        return cluster
    if not is_nats_server(state.get("pid")):
        raise NotAttachable("it is not running")
    server = NatsServer(Path(state["data_dir"]), int(state["port"]), Path(state["secrets_dir"]), pid=state["pid"])
    server.feeds = tuple(Feed(j, a) for j, a in state.get("feeds", []))
    return server


def reload(server: Managed) -> None:
    """Every running node re-reads its config; one that is down reads it when it starts again."""
    running = [pid for pid in _pids(server) if is_nats_server(pid)]
    if not running:
        raise NotAttachable("it is not running")
    for pid in running:
        os.kill(pid, signal.SIGHUP)


def _pids(server: Managed) -> list[int | None]:
    return server.pids if isinstance(server, NatsCluster) else [server.pid]


async def settle(server: Managed, feed: Feed, timeout: float = 20.0) -> None:
    """Make the feed's stream and durable (as the operator), then wait until its partner logs in and its pull
    reaches the durable, reloading again while the import is unresolved; TimeoutError if it never does.
    Around a reload JetStream may answer "no responders" for a moment: each step is retried until the deadline.
    Nothing is consumed: a message the probe pulls is NAKed, so the partner gets it at once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await _made(server, feed):
        if loop.time() > deadline:
            raise TimeoutError(f"the feed of {feed.user} could not be made in {timeout:.0f} s")
        await asyncio.sleep(0.3)
    creds = server.partner_credentials(feed.jurisdiction, feed.agency)
    while (state := await _pulls(creds)) != "ok":
        if loop.time() > deadline:
            raise TimeoutError(f"{feed.user} cannot pull from its feed after {timeout:.0f} s")
        if state == "unresolved":
            reload(server)
        await asyncio.sleep(0.5)


async def _quiet(exc: Exception) -> None:
    """nats-py prints each connection error with a traceback unless told otherwise: each is handled here."""


async def _made(server: Managed, feed: Feed) -> bool:
    try:
        nc = await nats.connect(servers(server.url), allow_reconnect=False, connect_timeout=2, error_cb=_quiet)
    except (nats.errors.Error, OSError):
        return False
    try:
        # At the cluster's size: the gateway, which would make it at that size too, finds it made.
        replicas = len(server.nodes) if isinstance(server, NatsCluster) else 1
        await feeds.ensure_feed(nc.jetstream(timeout=2), feed.jurisdiction, feed.agency, replicas)
        return True
    except (nats.errors.Error, OSError):  # JetStream unavailable for a moment around a reload
        return False
    finally:
        await nc.close()


async def _pulls(creds: dict[str, Any]) -> str:
    """ "ok"; "login" (the reload that makes the user is not applied yet); "unresolved" (its pull has no
    responder: the import needs another reload); "busy" (anything else: try again)."""
    try:
        nc = await nats.connect(
            servers=creds["servers"],
            user=creds["user"],
            password=creds["password"],
            inbox_prefix=creds["inbox_prefix"],
            allow_reconnect=False,
            connect_timeout=2,
            error_cb=_quiet,
        )
    except (nats.errors.Error, OSError):
        return "login"
    try:
        sub = await nc.jetstream(timeout=2).pull_subscribe_bind(durable=creds["durable"], stream=creds["stream"])
        try:
            for msg in await sub.fetch(1, timeout=0.5):
                await msg.nak()  # the partner's own message: left for it, redelivered at once
        except nats.errors.TimeoutError:
            pass  # reached the durable, nothing waiting
        return "ok"
    except (nats.js.errors.ServiceUnavailableError, nats.errors.NoRespondersError):
        return "unresolved"
    except (nats.errors.Error, OSError):
        return "busy"
    finally:
        await nc.close()
