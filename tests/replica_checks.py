"""What the replica fault tests assert after a kill, against the databases, JetStream and the gateway."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any, Protocol

import asyncpg
import nats

from divert_devstack.stack import SERVICES
from divert_kernel.bus import servers
from tests.partner import Partner
from tests.replica_load import Load

_PER_REFERRAL = "SELECT data->>'referral_id' AS id, count(*) AS n FROM events WHERE type = $1 GROUP BY 1"
_LAPSES = (
    "SELECT data->>'referral_id' AS id, max(recorded_at) AS at, count(*) AS n FROM events WHERE type = $1 GROUP BY 1"
)


class System(Protocol):
    endpoints: dict[str, Any]
    police: dict[str, Any]
    prosecutor: dict[str, Any]

    def database(self, name: str) -> str: ...


async def fetch(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def until(probe: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        await asyncio.sleep(0.5)


async def nothing_lost_or_applied_twice(system: System, load: Load) -> None:
    """Each acknowledged referral is readable and held by the prosecutor; each key made one referral, one offer
    and one held charge; no referral exists that no acknowledgement names."""
    assert not load.refused, load.refused[:5]
    assert not load.unacked, f"{len(load.unacked)} referrals never acknowledged"
    assert len(load.acked) >= 10, "too little load to prove anything"
    ids = set(load.acked.values())
    assert len(ids) == len(load.acked)  # one referral per key
    police = Partner(system.endpoints["gateway_url"], system.police)
    for referral_id in ids:
        assert police.get(f"/v1/referrals/{referral_id}").status_code == 200, referral_id
    referral_db, prosecution_db = system.database("referral"), system.database("prosecution")

    async def all_held() -> bool:
        return ids <= {r["id"] for r in await fetch(prosecution_db, _PER_REFERRAL, "ChargeHeld")}

    # A killed replica's fetched but unacknowledged messages come back after the consumers' ack wait (30 s).
    await until(all_held, 60, "every acknowledged referral held by the prosecutor")
    prosecutor = Partner(system.endpoints["gateway_url"], system.prosecutor)
    for referral_id in list(ids)[:10]:
        assert prosecutor.get(f"/v1/held-charges/{referral_id}").status_code == 200, referral_id
    offered = {r["id"]: r["n"] for r in await fetch(referral_db, _PER_REFERRAL, "DiversionOffered")}
    held = {r["id"]: r["n"] for r in await fetch(prosecution_db, _PER_REFERRAL, "ChargeHeld")}
    keys = await fetch(
        referral_db,
        "SELECT count(*) AS n FROM idempotency_records WHERE key LIKE $1 AND status IS NOT NULL",
        f"{load.prefix}-%",
    )
    assert keys[0]["n"] == len(load.acked)
    assert {offered.get(i) for i in ids} == {1} and {held.get(i) for i in ids} == {1}
    assert set(offered) == set(held)  # no referral made by a retry that was never acknowledged


async def timed_work_went_on(system: System, since: datetime) -> int:
    """A held charge lapsed and an audit checkpoint was sealed after `since`; no charge lapsed twice."""
    prosecution_db = system.database("prosecution")

    async def lapsed_since() -> bool:
        return any(r["at"] > since for r in await fetch(prosecution_db, _LAPSES, "IntakeDeadlineLapsed"))

    async def sealed_since() -> bool:
        rows = await fetch(system.database("audit"), "SELECT max(sealed_at) AS at FROM audit_checkpoints")
        return rows[0]["at"] is not None and rows[0]["at"] > since

    await until(lapsed_since, 30, "a held charge lapsing after the kill")
    await until(sealed_since, 30, "an audit checkpoint sealed after the kill")
    lapses = await fetch(prosecution_db, _LAPSES, "IntakeDeadlineLapsed")
    assert {r["n"] for r in lapses} == {1}, "a charge lapsed twice"
    return len(lapses)


async def settled_without_dead_letters(system: System, operator_nats_url: str) -> None:
    """Every service's and the gateway's durable drains (partners' feed durables are theirs to drain), and no
    consumer dead-lettered anything: an event held by a killed replica came back (after the ack wait) before
    the retries of one that needed it ran out."""

    async def settled() -> bool:
        nc = await nats.connect(servers(operator_nats_url))
        try:
            js = nc.jetstream()
            for stream in await js.streams_info():
                for info in await js.consumers_info(stream.config.name or ""):
                    if "-from-" in (info.name or "") and (info.num_pending or info.num_ack_pending):
                        return False
            return True
        finally:
            await nc.close()

    await until(settled, 60, "every durable consumer settled")
    counts = {}
    for name in (*SERVICES, "gateway"):
        url = system.database(name)
        if (await fetch(url, "SELECT to_regclass('dead_letters') IS NOT NULL AS present"))[0]["present"]:
            counts[name] = (await fetch(url, "SELECT count(*) AS n FROM dead_letters"))[0]["n"]
    assert set(counts.values()) == {0}, counts


async def streams_on_every_node(operator_nats_url: str, nodes: int) -> bool:
    """Each stream has a leader and every other node as a current replica: the cluster healed."""
    nc = await nats.connect(servers(operator_nats_url))
    try:
        for stream in await nc.jetstream().streams_info():
            cluster = stream.cluster
            peers = (cluster.replicas or []) if cluster else []
            if cluster is None or not cluster.leader or len(peers) != nodes - 1 or not all(p.current for p in peers):
                return False
        return True
    finally:
        await nc.close()
