"""Migration 0003 names the owner of what was stored before offices were named."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from uuid import uuid4

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from divert_devstack.postgres import PostgresServer, ensure_databases
from divert_devstack.stack import migrations_dir
from divert_kernel.db import make_engine


def migrate(url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir("prosecution")))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, revision)


async def test_a_case_registered_before_0003_is_owned_by_the_office_that_registered_it(
    postgres: PostgresServer,
) -> None:
    name = f"prosecution_{uuid4().hex[:10]}"
    await ensure_databases(postgres.url("postgres", driver="postgresql"), [name])
    url = postgres.url(name)
    await asyncio.to_thread(migrate, url, "0002")
    case_id, participant_id = str(uuid4()), str(uuid4())
    metadata = {"actor": {"client_id": "c", "agency": "kc-prosecutor", "agency_type": "prosecutor", "person": None}}
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO events (event_id, stream_id, version, type, schema_version, jurisdiction, data, "
                    "metadata) VALUES (:id, :stream, 1, 'LegacyCaseRegistered', 1, 'seattle-king-county', '{}', "
                    "CAST(:metadata AS jsonb))"
                ),
                {"id": str(uuid4()), "stream": f"case-{case_id}", "metadata": json.dumps(metadata)},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO cases (case_id, participant_id, jurisdiction, kind, docket_number, court, charges, "
                    "filed_at, status, registered_at) VALUES (:case_id, :participant_id, 'seattle-king-county', "
                    "'legacy', 'D-1', 'Court', '[]', '2026-11-01', 'pending', now())"
                ),
                {"case_id": case_id, "participant_id": participant_id},
            )
        await asyncio.to_thread(migrate, url, "head")
        async with engine.connect() as conn:
            agency = (
                await conn.execute(sa.text("SELECT agency FROM cases WHERE case_id = :id"), {"id": case_id})
            ).scalar_one()
    finally:
        await engine.dispose()
    assert agency == "kc-prosecutor"


async def test_a_charge_closed_before_0004_was_closed_by_intake_and_says_so(postgres: PostgresServer) -> None:
    name = f"prosecution_{uuid4().hex[:10]}"
    await ensure_databases(postgres.url("postgres", driver="postgresql"), [name])
    url = postgres.url(name)
    await asyncio.to_thread(migrate, url, "0003")
    closed, held = str(uuid4()), str(uuid4())
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for referral_id, status in ((closed, "closed_by_intake"), (held, "held")):
                await conn.execute(
                    sa.text(
                        "INSERT INTO held_charges (referral_id, jurisdiction, participant_id, offense_codes, status, "
                        "intake_deadline, held_at) VALUES (:id, 'seattle-king-county', :p, '{35A}', :status, "
                        "'2026-12-01', now())"
                    ),
                    {"id": referral_id, "p": str(uuid4()), "status": status},
                )
        await asyncio.to_thread(migrate, url, "head")
        async with engine.connect() as conn:
            reasons = dict(
                (await conn.execute(sa.text("SELECT referral_id::text, closed_reason FROM held_charges"))).all()
            )
    finally:
        await engine.dispose()
    assert reasons == {closed: "intake_completed", held: None}


async def test_reviews_kept_before_0005_get_their_records_and_their_events_positions(postgres: PostgresServer) -> None:
    """0005 moves each review's rationale and author to its record, under its event's stream version, and makes
    its `seq` that event's position: a rebuild then reproduces the rows exactly."""
    from divert_kernel import rebuild
    from divert_kernel.migrate import KERNEL_MIGRATIONS, KERNEL_VERSION_TABLE, _upgrade
    from prosecution.service_layer.projections import projections

    name = f"prosecution_{uuid4().hex[:10]}"
    await ensure_databases(postgres.url("postgres", driver="postgresql"), [name])
    url = postgres.url(name)
    await asyncio.to_thread(migrate, url, "0004")
    case_id, participant_id = str(uuid4()), str(uuid4())
    event = sa.text(
        "INSERT INTO events (event_id, stream_id, version, type, schema_version, jurisdiction, data, metadata) "
        "VALUES (:id, :stream, :version, :type, 1, 'seattle-king-county', CAST(:data AS jsonb), '{}')"
    )
    registered = {
        "case_id": case_id,
        "participant_id": participant_id,
        "kind": "legacy",
        "docket_number": "D-1",
        "court": "Court",
        "charge_codes": ["23H"],
        "filed_at": "2026-11-01",
        "registered_at": "2026-11-02T10:00:00+00:00",
        "agency": "kc-prosecutor",
    }
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                event,
                {"id": str(uuid4()), "stream": f"case-{case_id}", "version": 1, "type": "LegacyCaseRegistered",
                 "data": json.dumps(registered)},
            )  # fmt: skip
            await conn.execute(
                sa.text(
                    "INSERT INTO cases (case_id, participant_id, jurisdiction, agency, kind, docket_number, court, "
                    "charges, filed_at, status, registered_at) VALUES (:case_id, :participant_id, "
                    "'seattle-king-county', 'kc-prosecutor', 'legacy', 'D-1', 'Court', "
                    "CAST(:charges AS jsonb), '2026-11-01', 'dismissed', '2026-11-02T10:00:00+00:00')"
                ),
                {"case_id": case_id, "participant_id": participant_id,
                 "charges": json.dumps([{"code": "23H", "description": "Theft 3"}])},
            )  # fmt: skip
            for version, decision in ((2, "continue_to_monitor"), (3, "dismiss_without_prejudice")):
                reviewed = {"case_id": case_id, "participant_id": participant_id, "decision": decision,
                            "reviewed_at": "2026-11-03T10:00:00+00:00",
                            "follow_up_on": "2026-12-03" if version == 2 else None}  # fmt: skip
                await conn.execute(
                    event,
                    {"id": str(uuid4()), "stream": f"case-{case_id}", "version": version,
                     "type": "LegacyCaseReviewed", "data": json.dumps(reviewed)},
                )  # fmt: skip
                await conn.execute(
                    sa.text(
                        "INSERT INTO case_reviews (review_id, case_id, decision, rationale, reviewed_by, reviewed_at, "
                        "follow_up_on) VALUES (:id, :case_id, :decision, :rationale, 'ada-1', "
                        "'2026-11-03T10:00:00+00:00', :follow_up_on)"
                    ),
                    {"id": str(uuid4()), "case_id": case_id, "decision": decision, "rationale": f"why {version}",
                     "follow_up_on": date(2026, 12, 3) if version == 2 else None},
                )  # fmt: skip
        await asyncio.to_thread(migrate, url, "head")
        await asyncio.to_thread(_upgrade, KERNEL_MIGRATIONS, url, KERNEL_VERSION_TABLE)
        async with engine.connect() as conn:
            kept = (
                await conn.execute(
                    sa.text("SELECT stream_version, rationale FROM case_review_records ORDER BY stream_version")
                )
            ).all()
            positions = (
                (
                    await conn.execute(
                        sa.text(
                            "SELECT r.seq = e.position FROM case_reviews r JOIN case_review_records k USING (review_id) "
                            "JOIN events e ON e.stream_id = 'case-' || k.case_id::text AND e.version = k.stream_version"
                        )
                    )
                )
                .scalars()
                .all()
            )
        report = await rebuild.run(engine, projections, verify=True)
    finally:
        await engine.dispose()
    assert [tuple(r) for r in kept] == [(2, "why 2"), (3, "why 3")]
    assert positions == [True, True]
    assert not report.differs, report.tables
