"""A log recorded before migration 0003 (version-1 hashes, unsigned checkpoints) still verifies after it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import asyncpg
import pytest
from alembic import command
from alembic.config import Config

from audit.domain.chain import GENESIS, link_v1
from divert_devstack.postgres import PostgresServer, ensure_databases
from divert_devstack.stack import migrations_dir
from divert_devstack.testing import JURISDICTION

PARTICIPANT = str(uuid4())
T0 = datetime(2026, 10, 1, 9, 30, 15, 123456, tzinfo=UTC)


def migrate(url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir("audit")))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, revision)


def legacy_entries() -> list[tuple[str, datetime, dict]]:
    """Entries as the service recorded them before 0003: recorded_at kept to the millisecond inside the entry."""
    handoff = {
        "type": "org.divert.referral.WarmHandoffCompleted.v1",
        "jurisdiction": JURISDICTION,
        "data": {
            "participant_id": PARTICIPANT,
            "completed_at": "2026-10-01T09:00:00Z",
            "case_management_agency": "kc-case-management",
        },
    }
    decided = {"type": "org.divert.consent.AccessDecided.v1", "jurisdiction": JURISDICTION, "outcome": "deny"}
    entries = []
    for n, body in enumerate([handoff, decided, decided]):
        event_id, at = str(uuid4()), T0 + timedelta(seconds=n)
        entries.append(
            (event_id, at, {"event_id": event_id, "recorded_at": at.isoformat(timespec="milliseconds")} | body)
        )
    return entries


@pytest.fixture(scope="module")
async def database(postgres: PostgresServer) -> str:
    name = f"audit_legacy_{uuid4().hex[:10]}"
    await ensure_databases(postgres.url("postgres", driver="postgresql"), [name])
    url = postgres.url(name)
    await asyncio.to_thread(migrate, url, "0002")
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        prev = GENESIS
        for seq, (event_id, at, entry) in enumerate(legacy_entries(), start=1):
            digest = link_v1(prev, seq, entry)
            await conn.execute(
                "INSERT INTO audit_log (seq, event_id, recorded_at, entry, prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6)",
                seq,
                event_id,
                at,
                json.dumps(entry),
                prev,
                digest,
            )
            prev = digest
        await conn.execute("UPDATE audit_head SET seq = 3, hash = $1", prev)
        await conn.execute("INSERT INTO audit_checkpoints (seq, hash, sealed_at) VALUES (3, $1, now())", prev)
    finally:
        await conn.close()
    await asyncio.to_thread(migrate, url, "head")
    return url


class TestALogFromBeforeTheMigration:
    async def test_still_verifies_and_its_hand_offs_say_who_holds_the_participant(
        self, service, verification, seal, tokens_for
    ) -> None:  # type: ignore[no-untyped-def]
        report = await verification()
        assert report["valid"] and report["entries"] >= 3, report
        holder = tokens_for("case_management", agency="kc-case-management")
        assert (await service.get(f"/v1/participants/{PARTICIPANT}/disclosures", headers=holder)).status_code == 200
        assert await seal() > 3  # the first signed seal covers the legacy entries
        assert (await verification())["valid"]

    async def test_an_altered_event_id_in_a_legacy_entry_is_named(self, verification, db) -> None:  # type: ignore[no-untyped-def]
        original = await db.fetchval("SELECT event_id FROM audit_log WHERE seq = 2")
        await db.execute("UPDATE audit_log SET event_id = $1 WHERE seq = 2", str(uuid4()))
        try:
            report = await verification()
            assert (report["valid"], report["first_bad_entry"]) == (False, 2)
        finally:
            await db.execute("UPDATE audit_log SET event_id = $1 WHERE seq = 2", original)
