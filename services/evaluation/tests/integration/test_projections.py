"""The evaluation facts are a projection of the events the service consumed: a rebuild from the kept consumed
events yields the same table and the same continuum, its own events (agreements, extracts) replay without
feeding a table, and `verify` finds a tampered row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import httpx
import nats
import sqlalchemy as sa

from divert_contracts.casemgmt import IntakeDeadlineExtended
from divert_devstack.nats import NatsServer
from divert_devstack.testing import eventually, publish_as
from divert_kernel import rebuild
from divert_kernel.db import make_engine
from evaluation.service_layer.projections import projections

J = "seattle-king-county"
VIEWS = [("2026-10", "race"), ("2026Q4", "age_band"), ("2026", "referral_type")]
AGREEMENT = {
    "jurisdiction": J,
    "agreement_id": "DUA-REBUILD-1",
    "recipient_agency": "lead-evaluator",
    "expires_on": "2028-01-01",
    "signed_document_sha256": "cd" * 32,
}


async def digest(database: str) -> tuple[int, str]:
    """The facts' row count and an order-free digest of their rows."""
    engine = make_engine(database, pool_size=1)
    try:
        async with engine.connect() as conn:
            row = await conn.execute(
                sa.text(
                    "SELECT count(*), md5(COALESCE(string_agg(row_to_json(t)::text, ',' "
                    "ORDER BY row_to_json(t)::text), '')) FROM evaluation_facts t"
                )
            )
            count, md5 = row.one()
            return count, md5
    finally:
        await engine.dispose()


async def continuum(service: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    replies = [
        await service.get(
            "/v1/evaluation/continuum", params={"jurisdiction": J, "period": p, "by": by}, headers=headers
        )
        for p, by in VIEWS
    ]
    assert all(r.status_code == 200 for r in replies), [r.text for r in replies]
    return [r.text for r in replies]


async def run(database: str, *, verify: bool) -> rebuild.Report:
    engine = make_engine(database, pool_size=2)
    try:
        return await rebuild.run(engine, projections, verify=verify)
    finally:
        await engine.dispose()


async def test_a_rebuild_yields_the_same_facts_and_the_same_continuum(
    service: httpx.AsyncClient, seeded: int, tokens_for: Callable, module_nats: NatsServer, database: str
) -> None:
    # One event that leaves two facts (an extension moving two referrals' deadlines): keyed `id` and `id/1`.
    nc = await nats.connect(module_nats.url)
    extended = IntakeDeadlineExtended(
        participant_id="00000000-0000-4000-9000-000000000020",
        referral_ids=["00000000-0000-4000-8000-000000000020", "00000000-0000-4000-8000-000000000021"],
        intake_deadline=date(2026, 11, 20),
        granted_by="owg",
        law_enforcement_agency="seattle-pd",
        extended_at=datetime(2026, 10, 20, tzinfo=UTC),
    )
    event_id = await publish_as(nc, "casemgmt", extended, jurisdiction=J)
    await nc.close()
    await eventually(lambda: _facts_of(database, event_id, 2), timeout=30)
    # The service's own events, in its event store: replayed by the rebuild, feeding no table.
    manager = tokens_for("project_manager", agency="lead-project-manager")
    recorded = await service.post("/v1/evaluation/data-use-agreements", json=AGREEMENT, headers=manager)
    assert recorded.status_code == 201, recorded.text
    body = {"jurisdiction": J, "data_use_agreement_id": AGREEMENT["agreement_id"], "year": 2026}
    extract = await service.post(
        "/v1/evaluation/extracts", json=body, headers=tokens_for("evaluator", agency="lead-evaluator")
    )
    assert extract.status_code == 201, extract.text

    evaluator = tokens_for("evaluator")
    before, views = await digest(database), await continuum(service, evaluator)
    assert before[0] == seeded + 2  # every consumed event's facts, the extension's two among them

    verified = await run(database, verify=True)
    assert not verified.differs, verified.tables
    assert verified.events == seeded + 1 + 2  # the consumed events and the service's own two
    assert verified.tables["evaluation_facts"].rebuilt_rows == before[0]

    rebuilt = await run(database, verify=False)
    assert not rebuilt.differs
    assert await digest(database) == before
    assert await continuum(service, evaluator) == views


async def test_verify_finds_a_tampered_fact_and_a_rebuild_repairs_it(
    service: httpx.AsyncClient, seeded: int, tokens_for: Callable, database: str
) -> None:
    before, views = await digest(database), await continuum(service, tokens_for("evaluator"))
    await _sql(database, "DELETE FROM evaluation_facts WHERE ctid = (SELECT min(ctid) FROM evaluation_facts)")
    assert await digest(database) != before

    verified = await run(database, verify=True)
    facts = verified.tables["evaluation_facts"]
    assert verified.differs and (facts.only_live, facts.only_rebuilt) == (0, 1)
    assert (await digest(database))[0] == before[0] - 1  # verify changes nothing

    await run(database, verify=False)
    assert await digest(database) == before
    assert await continuum(service, tokens_for("evaluator")) == views


async def _facts_of(database: str, event_id: str, expected: int) -> bool:
    engine = make_engine(database, pool_size=1)
    try:
        async with engine.connect() as conn:
            found = await conn.execute(
                sa.text("SELECT count(*) FROM evaluation_facts WHERE event_id IN (:a, :b)"),
                {"a": event_id, "b": f"{event_id}/1"},
            )
            return found.scalar_one() == expected
    finally:
        await engine.dispose()


async def _sql(database: str, statement: str) -> None:
    engine = make_engine(database, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()
