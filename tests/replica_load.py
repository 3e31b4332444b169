"""The replica fault test's load client: referrals through the gateway's front, each retried with its own key."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from uuid import uuid4

import httpx

from divert_devstack.procs import free_port
from divert_devstack.stack import APPS, SERVICES
from tests.conftest import _is_free
from tests.partner import referral_body

REPLICAS = 2
NATS_NODES = 3
WORKERS = 4
RETRYABLE = {409, 429, 502, 503, 504}


def _free_run(length: int) -> int:
    base = free_port()
    while base > 60000 or not all(_is_free(base + i) for i in range(length)):
        base = free_port()
    return base


def ports_env() -> dict[str, str]:
    """Free runs of ports: the service fronts and every replica after them; each nats-server's client and route
    ports (none of them fixed)."""
    return {
        "DIVERT_SERVICE_BASE_PORT": str(_free_run(len(SERVICES) + len(APPS) * REPLICAS)),
        "DIVERT_GATEWAY_PORT": str(free_port()),
        "DIVERT_PG_PORT": str(free_port()),
        "DIVERT_NATS_PORT": str(_free_run(2 * NATS_NODES)),
    }


@dataclass
class Load:
    """What the load client saw: each key's acknowledged referral, and every answer that was not retryable."""

    prefix: str  # of every Idempotency-Key this load sends
    acked: dict[str, str] = field(default_factory=dict)
    retries: int = 0
    refused: list[str] = field(default_factory=list)
    unacked: list[str] = field(default_factory=list)


async def _submit(http: httpx.AsyncClient, token: str, n: int, load: Load, give_up: float) -> None:
    key = f"{load.prefix}-{uuid4()}"
    tag = f"REPL-{n}-{uuid4().hex[:6]}"
    body = referral_body(f"P-{tag}", incident={**referral_body()["incident"], "rms_incident_number": tag})
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    while time.monotonic() < give_up:
        try:
            reply = await http.post("/v1/referrals", json=body, headers=headers)
        except httpx.TransportError:
            reply = None  # the gateway replica died under us, or the balancer found none up yet
        if reply is not None and reply.status_code == 201:
            load.acked[key] = reply.json()["referral_id"]
            return
        if reply is not None and reply.status_code not in RETRYABLE:
            load.refused.append(f"{reply.status_code} {reply.text[:200]}")
            return
        load.retries += 1
        await asyncio.sleep(0.3)
    load.unacked.append(key)


async def run_load(gateway_url: str, token: str, prefix: str, load_end: float, give_up: float) -> Load:
    load, counter = Load(prefix), itertools.count()
    # No keep-alive: each request takes a fresh connection, so the balancer spreads them over both gateways.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=gateway_url, timeout=20, limits=limits) as http:

        async def worker() -> None:
            while time.monotonic() < load_end:
                await _submit(http, token, next(counter), load, give_up)

        await asyncio.gather(*(worker() for _ in range(WORKERS)))
    return load
