"""The operator's `divert` command against a running system: dead letters, audit verify, migrate, status, demo seed.

The command runs in-process (Typer's CliRunner) with DIVERT_HOME at the test system's home, whose operator.json
the launcher wrote exactly as `make run` does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import nats
import pytest
from typer.testing import CliRunner, Result

from divert_cli.main import app
from divert_cli.target import DATABASES
from divert_devstack.postgres import PostgresServer
from divert_devstack.procs import free_port
from divert_devstack.testing import create_database, diversion_offered
from divert_kernel import bus, envelope
from divert_kernel.eventstore import StoredEvent
from tests.conftest import System

J = "seattle-king-county"
CONSUMER = "consent-from-referral"


def divert(home: Path, *args: str, **env: str | None) -> Result:
    runner = CliRunner()
    wide = {"COLUMNS": "250"}  # rich tables at full width: no cell cut short
    return runner.invoke(app, list(args), env={"DIVERT_HOME": str(home), **wide, **env}, catch_exceptions=False)


async def _sql(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


def sql(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    return asyncio.run(_sql(url, query, *args))


def eventually(probe: Any, timeout: float = 60.0) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while not (value := probe()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)
    return value


async def _publish_offer(nats_url: str, event_id: str, participant_id: str) -> None:
    """A DiversionOffered as the referral service publishes it, under an event id the test chose beforehand."""
    event = diversion_offered(participant_id, participant_id)
    stored = StoredEvent(
        position=0,
        event_id=event_id,
        stream_id=f"referral-{participant_id}",
        version=1,
        type=event.type_name(),
        schema_version=event.schema_version,
        jurisdiction=J,
        data=event.model_dump(mode="json"),
        metadata={},
        recorded_at=datetime.now(UTC),
    )
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().publish(
            envelope.subject(J, "referral", stored.type),
            json.dumps(envelope.to_cloudevent("referral", stored)).encode(),
            headers={"Nats-Msg-Id": event_id},
            stream=bus.stream_name("referral"),
        )
    finally:
        await nc.close()


@pytest.fixture
def poison(system: System) -> Iterator[tuple[str, str]]:
    """A fault in the consent database that refuses exactly these events (as a broken constraint would):
    yields the trigger's name and the database URL; the test removes the cause when it wants the retry to work."""
    url = system.database_url("consent")
    name = f"test_poison_{uuid4().hex[:8]}"
    sql(url, f"CREATE TABLE {name} (event_id uuid PRIMARY KEY)")
    sql(
        url,
        f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN "
        f"IF EXISTS (SELECT 1 FROM {name} WHERE event_id = NEW.event_id) THEN "
        "RAISE EXCEPTION 'the test refuses this event'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
    )
    sql(url, f"CREATE TRIGGER {name} BEFORE INSERT ON processed_events FOR EACH ROW EXECUTE FUNCTION {name}()")
    yield name, url
    sql(url, f"DROP TRIGGER IF EXISTS {name} ON processed_events")
    sql(url, f"DROP FUNCTION IF EXISTS {name}()")
    sql(url, f"DROP TABLE IF EXISTS {name}")


def _listed(system: System) -> dict[str, dict]:
    listed = divert(system.home, "dead-letters", "list", "--service", "consent", "--json")
    assert listed.exit_code == 0, listed.output
    return {d["event_id"]: d for d in map(json.loads, listed.stdout.splitlines())}


class TestDeadLetters:
    def test_a_poison_event_is_listed_retried_once_its_cause_is_gone_and_another_discarded(
        self, system: System, poison: tuple[str, str]
    ) -> None:
        table, url = poison
        retried, discarded = str(uuid4()), str(uuid4())
        participant = str(uuid4())
        sql(url, f"INSERT INTO {table} VALUES ($1::uuid), ($2::uuid)", retried, discarded)
        for event_id in (retried, discarded):
            asyncio.run(_publish_offer(system.nats.url, event_id, participant))
        eventually(lambda: {retried, discarded} <= set(_listed(system)))
        letter = _listed(system)[retried]
        assert letter["consumer"] == CONSUMER and letter["event_type"].endswith("DiversionOffered.v1")
        # The error names its class and SQLSTATE only: a database's message may quote the values it failed on.
        assert "P0001" in letter["error"] and "the test refuses this event" not in letter["error"]

        # The cause is still there: the retry fails again, and the dead letter says so, one attempt more.
        again = divert(system.home, "dead-letters", "retry", "--service", "consent", str(letter["id"]))
        assert again.exit_code == 1 and "failed again" in again.stdout, again.output
        assert _listed(system)[retried]["attempts"] == letter["attempts"] + 1

        sql(url, f"DELETE FROM {table} WHERE event_id = $1::uuid", retried)
        applied = divert(system.home, "dead-letters", "retry", "--service", "consent", str(letter["id"]))
        assert applied.exit_code == 0 and f"{letter['id']}: applied" in applied.stdout, applied.output
        assert retried not in _listed(system)
        claims = sql(
            url, "SELECT 1 FROM processed_events WHERE consumer = $1 AND event_id = $2::uuid", CONSUMER, retried
        )
        assert len(claims) == 1  # applied once, through the consumer's own claim
        known = "SELECT 1 FROM known_participants WHERE jurisdiction = $1 AND participant_id = $2::uuid"
        assert len(sql(url, known, J, participant)) == 1  # its effect is in the projection
        gone = divert(system.home, "dead-letters", "retry", "--service", "consent", str(letter["id"]))
        assert gone.exit_code == 1 and f"no dead letter {letter['id']}" in gone.output

        other = _listed(system)[discarded]["id"]
        dropped = divert(system.home, "dead-letters", "discard", "--service", "consent", str(other))
        assert dropped.exit_code == 0 and "Discarded 1" in dropped.stdout, dropped.output
        assert discarded not in _listed(system)
        assert not sql(url, "SELECT 1 FROM processed_events WHERE event_id = $1::uuid", discarded)

    def test_naming_no_dead_letter_or_an_unknown_service_is_refused(self, system: System) -> None:
        assert divert(system.home, "dead-letters", "retry", "--service", "consent").exit_code == 2
        assert divert(system.home, "dead-letters", "list", "--service", "nope").exit_code == 2


class TestAuditVerify:
    def test_the_live_chain_is_valid_with_its_signed_checkpoints(self, system: System) -> None:
        # The audit service seals a checkpoint a minute: wait for one, so its signature and published copy count.
        eventually(lambda: sql(system.database_url("audit"), "SELECT 1 FROM audit_checkpoints LIMIT 1"), timeout=120)
        result = divert(system.home, "audit", "verify")
        assert result.exit_code == 0 and "valid" in result.stdout, result.output
        assert "newest published checkpoint" in result.stdout, result.output

    def test_checkpoints_that_another_key_would_have_signed_are_refused(self, system: System, tmp_path: Path) -> None:
        import base64

        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        eventually(lambda: sql(system.database_url("audit"), "SELECT 1 FROM audit_checkpoints LIMIT 1"), timeout=120)
        audit_url = json.loads((system.home / "operator.json").read_text())["services"]["audit"]
        kid = httpx.get(f"{audit_url}/v1/audit/checkpoint-key").json()["keys"][0]["kid"]  # the real key's id
        raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        impostor = tmp_path / "key.json"
        impostor.write_text(json.dumps({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid}))
        result = divert(system.home, "audit", "verify", "--key", str(impostor))
        assert result.exit_code == 1 and "signature" in result.stdout, result.output

    async def test_a_tampered_entry_is_named_and_exits_1(self, postgres: PostgresServer, tmp_path: Path) -> None:
        from audit.adapters import store
        from divert_kernel.db import make_engine

        url = await create_database(postgres, "audit")  # a private audit database: the shared one stays whole
        engine = make_engine(url)
        async with engine.begin() as conn:
            for n in range(3):
                at = datetime.now(UTC)
                await store.append(conn, str(uuid4()), at, {"type": "Probe", "n": n, "recorded_at": at.isoformat()})
        await engine.dispose()
        env = {"DIVERT_GATEWAY_URL": f"http://127.0.0.1:{free_port()}", "DIVERT_AUDIT_DATABASE_URL": url}
        env |= {"DIVERT_NATS_URL": None}
        whole = await asyncio.to_thread(divert, tmp_path, "audit", "verify", **env)
        assert whole.exit_code == 0 and "3 entries" in whole.stdout, whole.output

        plain = url.replace("postgresql+asyncpg://", "postgresql://")
        await _sql(plain, "UPDATE audit_log SET entry = jsonb_set(entry, '{n}', '7') WHERE seq = 2")
        broken = await asyncio.to_thread(divert, tmp_path, "audit", "verify", **env)
        assert broken.exit_code == 1 and "entry 2" in broken.stdout and "altered" in broken.stdout, broken.output


class TestMigrateAndStatus:
    def test_migrate_twice_changes_nothing(self, system: System) -> None:
        url = system.database_url("consent")
        versions = "SELECT version_num FROM kernel_alembic_version UNION ALL SELECT version_num FROM alembic_version"
        before = sql(url, versions)
        for _ in range(2):
            result = divert(system.home, "migrate")
            assert result.exit_code == 0 and f"Migrated {len(DATABASES)} database(s)" in result.stdout, result.output
        assert sql(url, versions) == before and ("k0003",) in {tuple(r) for r in before}

    def test_status_shows_every_service_and_each_durables_lag(self, system: System) -> None:
        result = divert(system.home, "status")
        assert result.exit_code == 0, result.output
        for name in ("gateway", "referral", "casemgmt", "consent", "prosecution", "audit"):
            assert f"│ {name} " in result.stdout
        row = next(line for line in result.stdout.splitlines() if CONSUMER in line)
        assert row.split("│")[3].strip().isdigit(), row  # pending: a number

    def test_a_service_that_is_down_makes_status_fail(self, system: System) -> None:
        result = divert(system.home, "status", DIVERT_REFERRAL_URL=f"http://127.0.0.1:{free_port()}")
        assert result.exit_code == 1, result.output
        assert any("referral" in line and "down" in line for line in result.stdout.splitlines())


class TestDemoSeed:
    def test_referrals_are_visible_through_the_api_and_a_second_run_changes_nothing(self, system: System) -> None:
        first = divert(system.home, "demo", "seed")
        assert first.exit_code == 0, first.output
        steps = json.loads((system.home / "demo-seed.json").read_text())["steps"]
        police = system.agency("seattle-pd")
        referral = police.get(f"/v1/referrals/{steps['refer-arrest-1']['referral_id']}")
        assert referral.status_code == 200, referral.text
        provider = system.agency("lead-case-management")
        intake = provider.get(f"/v1/participants/{steps['refer-arrest-1']['participant_id']}/intake")
        assert intake.json()["intake_status"] == "completed", intake.text
        contacts = provider.get(f"/v1/participants/{steps['refer-arrest-1']['participant_id']}/contacts")
        assert contacts.json()["counts"] == {"street": 1, "office": 1}, contacts.text
        prosecutor = system.agency("kc-prosecutor")
        assert prosecutor.get(f"/v1/cases/{steps['case-arrest-2']['case_id']}").status_code == 200

        counts = "SELECT count(*) FROM events"
        before = {s: sql(system.database_url(s), counts)[0][0] for s in ("referral", "casemgmt", "prosecution")}
        second = divert(system.home, "demo", "seed")
        assert second.exit_code == 0 and "already seeded" in second.stdout, second.output
        after = {s: sql(system.database_url(s), counts)[0][0] for s in ("referral", "casemgmt", "prosecution")}
        assert after == before
