"""The accounting of disclosures and the holders are projections of the hash chain: a replay of the chain yields
the same tables, `verify` finds a tampered row, and the chain itself is never rewritten by a rebuild."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from uuid import uuid4

import asyncpg
import httpx

from audit.service_layer.projections import projections
from divert_contracts.referral import WarmHandoffCompleted
from divert_devstack.testing import eventually
from divert_kernel import rebuild
from divert_kernel.db import make_engine

from .conftest import NOW, decision

DIGEST = (
    "SELECT count(*), md5(COALESCE(string_agg(row_to_json(t)::text, ',' ORDER BY row_to_json(t)::text), '')) FROM {} t"
)


async def digests(db: asyncpg.Connection, entries: int) -> dict[str, tuple[int, str]]:
    """The derived tables, and the chain's first `entries` entries (reads during a rebuild chain more)."""
    sums = {t: tuple(await db.fetchrow(DIGEST.format(t))) for t in projections.tables}
    sums["audit_log"] = tuple(await db.fetchrow(DIGEST.format(f"(SELECT * FROM audit_log WHERE seq <= {entries})")))
    return sums  # type: ignore[return-value]


async def test_a_replay_of_the_chain_yields_the_same_derived_tables(
    service: httpx.AsyncClient,
    publish,
    tokens_for: Callable,
    db: asyncpg.Connection,
    database: str,  # type: ignore[no-untyped-def]
) -> None:
    participant_id = str(uuid4())
    for minutes, agency in ((0, "first-cm"), (5, "second-cm")):
        handoff = WarmHandoffCompleted(
            referral_id=str(uuid4()),
            participant_id=participant_id,
            case_manager_id="cm-1",
            completed_at=NOW + timedelta(minutes=minutes),
            case_management_agency=agency,
        )
        await publish("referral", handoff)
    await publish("consent", decision(participant_id, "permit"))
    await publish("consent", decision(participant_id, "deny", minutes=1))
    await publish("consent", decision(participant_id, "permit", ["what_if"], minutes=2))  # in the chain only
    auditor = tokens_for("auditor")

    async def accounted() -> bool:
        reply = await service.get(
            f"/v1/participants/{participant_id}/disclosures", headers=auditor, params={"include_denied": "true"}
        )
        return reply.status_code == 200 and len(reply.json()["items"]) == 2

    await eventually(accounted)  # the read itself is chained too, and projected into nothing
    holder = "SELECT agency FROM participant_holders WHERE participant_id = $1"
    assert await eventually(lambda: db.fetchval(holder, participant_id)) == "second-cm"

    entries = await db.fetchval("SELECT max(seq) FROM audit_log")
    before = await digests(db, entries)
    engine = make_engine(database, pool_size=2)
    try:
        verified = await rebuild.run(engine, projections, verify=True)
        assert not verified.differs and set(verified.tables) == set(projections.tables), verified.tables
        await rebuild.run(engine, projections, verify=False)
        assert await digests(db, entries) == before  # the chain's entries untouched, the derived tables equal

        await db.execute("UPDATE participant_holders SET agency = 'forged' WHERE participant_id = $1", participant_id)
        tampered = await rebuild.run(engine, projections, verify=True)
        assert [t for t, r in tampered.tables.items() if r.differs] == ["participant_holders"]
        await rebuild.run(engine, projections, verify=False)
        assert await db.fetchval(holder, participant_id) == "second-cm"
    finally:
        await engine.dispose()
    chain = await service.get("/v1/audit/verification", headers=auditor)
    assert chain.status_code == 200 and chain.json()["valid"] is True, chain.text
