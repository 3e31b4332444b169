"""The gate's two-statement path records every decision: its event, its outbox row and its log row, all or none."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa

from consent.adapters import gate_store
from consent.domain.commands import DecideAccess
from consent.service_layer.deciding import Decider
from consent.service_layer.site import SiteTerms
from divert_contracts.consent import AccessDecided
from divert_kernel import eventstore
from divert_kernel.clock import SystemClock
from divert_kernel.context import Actor, Causation
from divert_kernel.db import make_engine
from divert_kernel.sites import load_sites

J = "seattle-king-county"
PROSECUTOR = "kc-prosecutor"
CM = "lead-case-management"

_RECORDED = sa.text(
    """
    SELECT d.decision_id::text AS decision_id, d.decision, d.requester_client, e.version, e.type,
           e.metadata, o.position IS NOT NULL AS queued
    FROM access_decisions d
    JOIN events e ON e.stream_id = 'decision-' || d.decision_id::text
    LEFT JOIN outbox o ON o.position = e.position
    WHERE d.decision_id = ANY(CAST(:ids AS uuid[]))
    """
)
_COUNTS = sa.text(
    "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM outbox), (SELECT count(*) FROM access_decisions)"
)


def ask(participant_id: str, category: str = "assessment", **overrides: str) -> dict[str, str]:
    return {
        "participant_id": participant_id,
        "jurisdiction": J,
        "requester_agency": PROSECUTOR,
        "category": category,
        "purpose": "diversion_monitoring",
        **overrides,
    }


async def test_a_batch_records_each_decision_once_with_its_event_and_outbox_row(
    service: httpx.AsyncClient, tokens_for: Callable, relations: Any, database: str
) -> None:
    cm, prosecutor = tokens_for("case_management", agency=CM), tokens_for("prosecutor", agency=PROSECUTOR)
    held, stranger = str(uuid4()), str(uuid4())
    await relations.refer(held)
    await relations.hand_off(held, CM)
    grant = {"recipient_agency": PROSECUTOR, "categories": ["assessment"], "purposes": ["diversion_monitoring"]}
    consent = {
        "participant_id": held,
        "jurisdiction": J,
        "grants": [grant],
        "effective_at": "2026-01-01T00:00:00Z",
        "expires_at": "2030-01-01T00:00:00Z",
        "signed_document_sha256": "cd" * 32,
    }
    assert (await service.post("/v1/consents", json=consent, headers=cm)).status_code == 201
    # The same question twice, another category, someone unknown: each asked item is its own decision.
    asked = [ask(held), ask(held), ask(held, "housing"), ask(stranger), ask(held, "substance_use")]
    reply = await service.post("/v1/access-decisions/batch", json={"requests": asked}, headers=prosecutor)
    assert reply.status_code == 200, reply.text
    decided = reply.json()["decisions"]
    assert [d["decision"] for d in decided] == ["permit", "permit", "deny", "deny", "deny"]
    ids = [d["decision_id"] for d in decided]
    assert len(set(ids)) == len(ids)

    engine = make_engine(database)
    try:
        async with engine.connect() as conn:
            rows = {r.decision_id: r for r in await conn.execute(_RECORDED, {"ids": ids})}
    finally:
        await engine.dispose()
    assert sorted(rows) == sorted(ids)
    for d in decided:
        row = rows[d["decision_id"]]
        assert (row.decision, row.version, row.queued) == (d["decision"], 1, True)
        assert row.type == AccessDecided.type_name()  # as the event store names it
        assert row.requester_client == row.metadata["actor"]["client_id"]


async def test_a_keyed_decision_is_answered_again_not_recorded_again(
    service: httpx.AsyncClient, tokens_for: Callable, database: str
) -> None:
    prosecutor = tokens_for("prosecutor", agency=PROSECUTOR) | {"Idempotency-Key": str(uuid4())}
    body = ask(str(uuid4()))
    first = await service.post("/v1/access-decisions", json=body, headers=prosecutor)
    again = await service.post("/v1/access-decisions", json=body, headers=prosecutor)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json() == again.json()
    engine = make_engine(database)
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(
                sa.text("SELECT count(*) FROM access_decisions WHERE participant_id = CAST(:p AS uuid)"),
                {"p": body["participant_id"]},
            )
    finally:
        await engine.dispose()
    assert found == 1


@pytest.mark.usefixtures("service")
async def test_a_batch_that_fails_part_way_records_nothing(database: str, sites_file: Path) -> None:
    """One statement records the batch: a row refused in its middle leaves no event, outbox row or log row."""
    clock = SystemClock()
    decider = Decider(clock, SiteTerms(clock, load_sites(str(sites_file))))
    requests = [
        DecideAccess(str(uuid4()), J, PROSECUTOR, "prosecutor", "client", None, "assessment", purpose, False)
        for purpose in ("diversion_monitoring", "care_coordination", "diversion_monitoring")
    ]
    refuse = """
        CREATE FUNCTION refuse_care() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'refused for the test'; END $$;
        CREATE TRIGGER refuse_care BEFORE INSERT ON access_decisions FOR EACH ROW
        WHEN (NEW.purpose = 'care_coordination') EXECUTE FUNCTION refuse_care();
    """
    engine = make_engine(database)
    try:
        async with engine.begin() as conn:
            for statement in refuse.split(";\n"):
                await conn.exec_driver_sql(statement)
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            before = (await conn.execute(_COUNTS)).one()
            with pytest.raises(sa.exc.DBAPIError, match="refused for the test"):
                await decider.decide(conn, requests, lock=False)
            assert (await conn.execute(_COUNTS)).one() == before
    finally:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DROP TRIGGER IF EXISTS refuse_care ON access_decisions")
            await conn.exec_driver_sql("DROP FUNCTION IF EXISTS refuse_care()")
        await engine.dispose()


def test_decision_metadata_is_written_as_the_event_store_writes_it() -> None:
    causation = Causation(actor=Actor("client-1", PROSECUTOR, "prosecutor", "p-1"), causation_id="c-1")
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    ours = json.loads(gate_store._metadata(causation, traceparent))
    theirs = json.loads(eventstore._metadata(causation, traceparent))
    assert ours == theirs
