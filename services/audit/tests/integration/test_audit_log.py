"""The audit service on real PostgreSQL and NATS: every event enters the chain once; tampering is named."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx
import nats
import nats.js.errors
import pytest
from fastapi import FastAPI

from audit.bootstrap import create
from audit.config import AuditSettings
from divert_contracts.consent import AccessDecided
from divert_contracts.prosecution import ChargeHeld
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database, eventually, publish_as, running, service_settings
from divert_kernel import bus

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
READ = "org.divert.audit.AuditLogRead"


@pytest.fixture(scope="module")
async def database(postgres: PostgresServer) -> str:
    return await create_database(postgres, "audit")


@pytest.fixture(scope="module")
def app(database: str, module_nats: NatsServer, jwks_file: Path) -> FastAPI:
    settings = AuditSettings(**service_settings(database_url=database, nats_url=module_nats.url, jwks_file=jwks_file))
    return create(settings)


@pytest.fixture(scope="module")
async def service(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        yield client


@pytest.fixture
async def db(database: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database.replace("+asyncpg", ""))
    yield conn
    await conn.close()


def decision(
    participant_id: str, outcome: str = "permit", flags: list[str] | None = None, minutes: int = 0
) -> AccessDecided:
    return AccessDecided(
        decision_id=str(uuid4()),
        participant_id=participant_id,
        requester_agency="kc-prosecutor",
        requester_agency_type="prosecutor",
        category="assessment",
        purpose="diversion_monitoring",
        decision=outcome,
        basis_kind="consent" if outcome == "permit" else "none",  # type: ignore[arg-type]
        basis_id=str(uuid4()) if outcome == "permit" else None,
        decided_at=NOW + timedelta(minutes=minutes),
        acting_person="dpa-7",
        flags=flags or [],
    )


async def verification(service: httpx.AsyncClient, auth: dict[str, str]) -> dict:
    reply = await service.get("/v1/audit/verification", headers=auth)
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


async def event_entries(db: asyncpg.Connection) -> int:
    return int(await db.fetchval("SELECT count(*) FROM audit_log WHERE entry->>'type' <> $1", READ))


class TestTheChain:
    async def test_events_from_every_service_enter_once_even_when_redelivered(
        self, service: httpx.AsyncClient, module_nats: NatsServer, tokens_for: Callable, db: asyncpg.Connection
    ) -> None:
        nc = await nats.connect(module_nats.url)
        try:
            await publish_as(
                nc,
                "prosecution",
                ChargeHeld(
                    referral_id=str(uuid4()),
                    participant_id=str(uuid4()),
                    offense_codes=["35A"],
                    intake_deadline=NOW.date(),
                    held_at=NOW,
                ),
            )
            await publish_as(nc, "consent", decision(str(uuid4()), "deny"))

            async def two_events() -> bool:
                return await event_entries(db) == 2

            await eventually(two_events)
            # Make JetStream deliver everything again, as after lost acks: the chain must not grow.
            js = nc.jetstream()
            for source in ("prosecution", "consent"):
                await js.delete_consumer(bus.stream_name(source), f"audit-from-{source}")

            async def redelivered() -> bool:
                for source in ("prosecution", "consent"):
                    try:
                        info = await js.consumer_info(bus.stream_name(source), f"audit-from-{source}")
                    except nats.js.errors.NotFoundError:
                        return False
                    if info.num_pending or info.num_ack_pending or not info.delivered.stream_seq:
                        return False
                return True

            await eventually(redelivered, timeout=60)
        finally:
            await nc.close()
        assert await event_entries(db) == 2
        assert (await verification(service, tokens_for("auditor")))["valid"]

    async def test_every_read_of_the_log_is_itself_logged_refused_ones_too(
        self, service: httpx.AsyncClient, tokens_for: Callable, db: asyncpg.Connection
    ) -> None:
        before = int(await db.fetchval("SELECT count(*) FROM audit_log WHERE entry->>'type' = $1", READ))
        refused = await service.get("/v1/audit/verification", headers=tokens_for("prosecutor", agency="kc-prosecutor"))
        assert refused.status_code == 403
        await verification(service, tokens_for("auditor"))
        reads = await db.fetch("SELECT entry FROM audit_log WHERE entry->>'type' = $1 ORDER BY seq", READ)
        assert len(reads) == before + 2
        assert '"outcome": "deny"' in reads[-2]["entry"] and "kc-prosecutor" in reads[-2]["entry"]
        assert '"outcome": "permit"' in reads[-1]["entry"]


class TestTamperingIsNamed:
    @pytest.fixture
    async def chain(self, service: httpx.AsyncClient, module_nats: NatsServer, db: asyncpg.Connection) -> list[int]:
        nc = await nats.connect(module_nats.url)
        try:
            first = await event_entries(db)
            for _ in range(3):
                await publish_as(nc, "consent", decision(str(uuid4()), "deny"))

            async def three_more() -> bool:
                return await event_entries(db) == first + 3

            await eventually(three_more)
        finally:
            await nc.close()
        return [r["seq"] for r in await db.fetch("SELECT seq FROM audit_log ORDER BY seq")]

    async def _report(self, service: httpx.AsyncClient, tokens_for: Callable) -> dict:
        # The verification read is itself appended, after the walk it reports on.
        return await verification(service, tokens_for("auditor"))

    async def test_altering_an_entry(self, service, tokens_for, db, chain) -> None:  # type: ignore[no-untyped-def]
        target = chain[-2]
        original = await db.fetchval("SELECT entry FROM audit_log WHERE seq = $1", target)
        await db.execute(
            "UPDATE audit_log SET entry = jsonb_set(entry, '{outcome}', '\"permit\"') WHERE seq = $1", target
        )
        try:
            report = await self._report(service, tokens_for)
            assert (report["valid"], report["first_bad_entry"]) == (False, target)
        finally:
            await db.execute("UPDATE audit_log SET entry = $1::jsonb WHERE seq = $2", original, target)
        assert (await self._report(service, tokens_for))["valid"]

    async def test_deleting_an_entry(self, service, tokens_for, db, chain) -> None:  # type: ignore[no-untyped-def]
        target = chain[-2]
        saved = await db.fetchrow("SELECT * FROM audit_log WHERE seq = $1", target)
        await db.execute("DELETE FROM audit_log WHERE seq = $1", target)
        try:
            report = await self._report(service, tokens_for)
            assert (report["valid"], report["first_bad_entry"]) == (False, target)
        finally:
            await db.execute(
                "INSERT INTO audit_log (seq, event_id, recorded_at, entry, prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6)",
                *saved.values(),
            )

    async def test_reordering_entries(self, service, tokens_for, db, chain) -> None:  # type: ignore[no-untyped-def]
        a, b = chain[-3], chain[-2]
        await db.execute("UPDATE audit_log SET seq = -1 WHERE seq = $1", a)
        await db.execute("UPDATE audit_log SET seq = $1 WHERE seq = $2", a, b)
        await db.execute("UPDATE audit_log SET seq = $1 WHERE seq = -1", b)
        try:
            report = await self._report(service, tokens_for)
            assert (report["valid"], report["first_bad_entry"]) == (False, a)
        finally:
            await db.execute("UPDATE audit_log SET seq = -1 WHERE seq = $1", a)
            await db.execute("UPDATE audit_log SET seq = $1 WHERE seq = $2", a, b)
            await db.execute("UPDATE audit_log SET seq = $1 WHERE seq = -1", b)

    async def test_inserting_a_forged_entry_at_the_end(self, service, tokens_for, db, chain) -> None:  # type: ignore[no-untyped-def]
        from audit.domain.chain import link

        head_seq, head_hash = await db.fetchrow("SELECT seq, hash FROM audit_head")
        forged = {"event_id": "forged", "type": "org.divert.consent.AccessDecided.v1", "outcome": "permit"}
        await db.execute(
            "INSERT INTO audit_log (seq, event_id, recorded_at, entry, prev_hash, hash) VALUES ($1,'forged',now(),$2,$3,$4)",
            head_seq + 1,
            __import__("json").dumps(forged),
            head_hash,
            link(head_hash, head_seq + 1, forged),
        )
        try:
            report = await self._report(service, tokens_for)
            assert (report["valid"], report["first_bad_entry"]) == (False, head_seq + 1)
        finally:
            await db.execute("DELETE FROM audit_log WHERE event_id = 'forged'")

    async def test_a_rewrite_that_recomputes_every_hash_still_breaks_a_sealed_checkpoint(
        self,
        app: FastAPI,
        service,
        tokens_for,
        db,
        chain,  # type: ignore[no-untyped-def]
    ) -> None:
        async with app.state.bus.uow() as uow:
            assert await app.state.handlers.seal(uow)
            await uow.commit()
        sealed = await db.fetchval("SELECT max(seq) FROM audit_checkpoints")
        rows = await db.fetch("SELECT seq, entry, prev_hash FROM audit_log WHERE seq >= $1 - 1 ORDER BY seq", sealed)
        from audit.domain.chain import link

        # Someone with database access rewrites the sealed entry and re-links everything after it.
        saved = await db.fetch("SELECT seq, entry, prev_hash, hash FROM audit_log WHERE seq >= $1 ORDER BY seq", sealed)
        prev = (
            rows[0]["prev_hash"]
            if rows[0]["seq"] == sealed
            else (await db.fetchval("SELECT hash FROM audit_log WHERE seq = $1", sealed - 1))
        )
        for row in saved:
            entry = __import__("json").loads(row["entry"])
            if row["seq"] == sealed:
                entry["outcome"] = "rewritten"
            digest = link(prev, row["seq"], entry)
            await db.execute(
                "UPDATE audit_log SET entry = $1::jsonb, prev_hash = $2, hash = $3 WHERE seq = $4",
                __import__("json").dumps(entry),
                prev,
                digest,
                row["seq"],
            )
            prev = digest
        await db.execute("UPDATE audit_head SET hash = $1 WHERE seq = (SELECT max(seq) FROM audit_log)", prev)
        try:
            report = await self._report(service, tokens_for)
            assert (report["valid"], report["first_bad_entry"]) == (False, sealed)
            assert "checkpoint" in report["problem"]
        finally:
            for row in saved:
                await db.execute(
                    "UPDATE audit_log SET entry = $1::jsonb, prev_hash = $2, hash = $3 WHERE seq = $4",
                    row["entry"],
                    row["prev_hash"],
                    row["hash"],
                    row["seq"],
                )
            await db.execute("UPDATE audit_head SET hash = (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1)")


class TestAccountingOfDisclosures:
    async def test_lists_permitted_disclosures_newest_first_and_denied_ones_only_to_auditors(
        self, service: httpx.AsyncClient, module_nats: NatsServer, tokens_for: Callable
    ) -> None:
        participant_id = str(uuid4())
        nc = await nats.connect(module_nats.url)
        try:
            for minutes in range(3):
                await publish_as(nc, "consent", decision(participant_id, "permit", minutes=minutes))
            await publish_as(nc, "consent", decision(participant_id, "permit", flags=["break_glass"], minutes=5))
            await publish_as(nc, "consent", decision(participant_id, "deny", minutes=6))
            await publish_as(nc, "consent", decision(participant_id, "permit", flags=["what_if"], minutes=7))
        finally:
            await nc.close()
        cm = tokens_for("case_management")
        path = f"/v1/participants/{participant_id}/disclosures"

        async def five() -> bool:
            return (
                len(
                    (await service.get(path, headers=tokens_for("auditor"), params={"include_denied": "true"})).json()[
                        "items"
                    ]
                )
                == 5
            )

        await eventually(five)
        first = (await service.get(path, headers=cm, params={"limit": 2})).json()
        assert [i["flags"] for i in first["items"]] == [["break_glass"], []]
        assert first["items"][0]["decided_at"] > first["items"][1]["decided_at"]
        assert (
            first["items"][0]["acting_person"] == "dpa-7" and first["items"][0]["recipient_agency"] == "kc-prosecutor"
        )
        rest = (await service.get(path, headers=cm, params={"limit": 2, "cursor": first["next_cursor"]})).json()
        older = (await service.get(path, headers=cm, params={"limit": 2, "cursor": rest["next_cursor"]})).json()
        assert len(rest["items"]) == 2 and older["items"] == [] and older["next_cursor"] is None
        assert all(i["decision"] == "permit" for i in first["items"] + rest["items"])
        assert (await service.get(path, headers=cm, params={"include_denied": "true"})).status_code == 403
        assert (await service.get(path, headers=tokens_for("prosecutor"))).status_code == 403
