"""The consent read models are projections: a rebuild from the event store (and the consumed events kept beside
it) yields the same tables, the break-glass reasons (records) are kept, and `verify` finds a tampered row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
import nats
import sqlalchemy as sa

from consent.service_layer.projections import projections
from divert_contracts.casemgmt import ParticipantStatusChanged
from divert_contracts.referral import ParticipantsLinked
from divert_devstack.nats import NatsServer
from divert_devstack.testing import publish_as
from divert_kernel import rebuild
from divert_kernel.db import make_engine

J = "seattle-king-county"
CM, PROSECUTOR, POLICE = "lead-case-management", "kc-prosecutor", "seattle-pd"


def roi(participant_id: str, *recipients: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "participant_id": participant_id,
        "jurisdiction": J,
        "grants": [
            {"recipient_agency": r, "categories": ["assessment"], "purposes": ["diversion_monitoring"]}
            for r in recipients
        ],
        "effective_at": "2026-01-01T00:00:00Z",
        "expires_at": "2030-01-01T00:00:00Z",
        "signed_document_sha256": "ab" * 32,
    }
    return body | overrides


async def digest(database: str, tables: tuple[str, ...]) -> dict[str, tuple[int, str]]:
    """Each table's row count and an order-free digest of its rows."""
    engine = make_engine(database, pool_size=1)
    try:
        async with engine.connect() as conn:
            sums = {}
            for table in tables:
                row = await conn.execute(
                    sa.text(
                        f"SELECT count(*), md5(COALESCE(string_agg(row_to_json(t)::text, ',' "
                        f"ORDER BY row_to_json(t)::text), '')) FROM {table} t"
                    )
                )
                sums[table] = tuple(row.one())
            return sums
    finally:
        await engine.dispose()


async def publish(nats_url: str, relations: Any, service: str, event: Any) -> None:
    nc = await nats.connect(nats_url)
    try:
        await relations.settled(await publish_as(nc, service, event, jurisdiction=J))
    finally:
        await nc.close()


async def workflows(service: httpx.AsyncClient, tokens_for: Callable, relations: Any, nats_url: str) -> None:
    """Consents drafted and signed, revoked in part and whole, expired on exit; break-glass; decisions one at a
    time and in a batch (a what-if among them); a charge held; two records of one person linked."""
    cm, prosecutor = tokens_for("case_management", agency=CM), tokens_for("prosecutor", agency=PROSECUTOR)
    auditor = tokens_for("auditor", agency="lead-auditor")
    survivor, merged, leaving = str(uuid4()), str(uuid4()), str(uuid4())
    for p in (survivor, merged, leaving):
        await relations.refer(p)
        await relations.hand_off(p, CM)
    await relations.hold_charge(merged, PROSECUTOR)

    draft = await service.post("/v1/consents", json=roi(merged, PROSECUTOR, POLICE, state="draft"), headers=cm)
    assert draft.status_code == 201, draft.text
    draft_id = draft.json()["consent_id"]
    signed = await service.post(
        f"/v1/consents/{draft_id}/signature", json={"signed_document_sha256": "cd" * 32}, headers=cm
    )
    assert signed.status_code == 200, signed.text
    partly = await service.post(f"/v1/consents/{draft_id}/revocation", json={"recipient_agency": POLICE}, headers=cm)
    assert partly.status_code == 200, partly.text
    whole = await service.post("/v1/consents", json=roi(survivor, POLICE), headers=cm)
    assert whole.status_code == 201, whole.text
    revoked = await service.post(f"/v1/consents/{whole.json()['consent_id']}/revocation", headers=cm)
    assert revoked.status_code == 200, revoked.text
    on_exit = await service.post(
        "/v1/consents", json=roi(leaving, PROSECUTOR, expires_on_event="program_exit"), headers=cm
    )
    assert on_exit.status_code == 201, on_exit.text
    exited = ParticipantStatusChanged(
        participant_id=leaving, status="exited", reason="code_of_conduct", changed_at=datetime.now(UTC)
    )
    await publish(nats_url, relations, "casemgmt", exited)

    urgent = await service.post(
        "/v1/break-glass",
        json={
            "participant_id": merged,
            "jurisdiction": J,
            "categories": ["housing"],
            "reason": "In crisis at the emergency room; the care team needs the plan now.",
            "minutes": 10,
        },
        headers=cm | {"Divert-Acting-Person": "cm-7"},
    )
    assert urgent.status_code == 201, urgent.text
    asked = [
        {
            "participant_id": p,
            "jurisdiction": J,
            "requester_agency": PROSECUTOR,
            "category": c,
            "purpose": "diversion_monitoring",
        }
        for p in (survivor, merged, leaving)
        for c in ("assessment", "housing")
    ]
    batch = await service.post("/v1/access-decisions/batch", json={"requests": asked}, headers=prosecutor)
    assert batch.status_code == 200, batch.text
    what_if = await service.post("/v1/access-decisions", json=asked[0] | {"requester_agency": POLICE}, headers=auditor)
    assert what_if.status_code == 200, what_if.text

    linked = ParticipantsLinked(
        review_id="rev-1", survivor_participant_id=survivor, merged_participant_id=merged, linked_at=datetime.now(UTC)
    )
    await publish(nats_url, relations, "referral", linked)


async def test_a_rebuild_yields_the_same_read_models_and_keeps_the_records(
    service: httpx.AsyncClient, tokens_for: Callable, relations: Any, module_nats: NatsServer, database: str
) -> None:
    await workflows(service, tokens_for, relations, module_nats.url)
    tables = tuple(projections.tables)

    before = await digest(database, tables)  # every event above was waited for: nothing more is coming
    assert all(count > 0 for count, _ in before.values()), before
    reasons = await digest(database, projections.records)
    assert reasons["break_glass_reasons"][0] > 0

    engine = make_engine(database, pool_size=2)
    try:
        verified = await rebuild.run(engine, projections, verify=True)
        assert not verified.differs, verified.tables
        assert set(verified.tables) == set(tables)
        await rebuild.run(engine, projections, verify=False)
        assert await digest(database, tables) == before
        assert await digest(database, projections.records) == reasons

        async with engine.begin() as conn:
            await conn.execute(sa.text("UPDATE participant_aliases SET review_id = 'forged'"))
        tampered = await rebuild.run(engine, projections, verify=True)
        assert [t for t, r in tampered.tables.items() if r.differs] == ["participant_aliases"]
        await rebuild.run(engine, projections, verify=False)
        assert await digest(database, tables) == before
    finally:
        await engine.dispose()
