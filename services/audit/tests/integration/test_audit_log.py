"""The audit service on real PostgreSQL and NATS: every event enters the chain once; tampering is named."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from uuid import uuid4

import asyncpg
import httpx
import nats
import nats.js.errors
import pytest

from audit.domain.chain import link
from divert_contracts.prosecution import ChargeHeld
from divert_devstack.nats import NatsServer
from divert_devstack.testing import eventually
from divert_kernel import bus

from .conftest import NOW, READ, decision


async def event_entries(db: asyncpg.Connection) -> int:
    return int(await db.fetchval("SELECT count(*) FROM audit_log WHERE entry->>'type' <> $1", READ))


class TestTheChain:
    async def test_events_from_every_service_enter_once_even_when_redelivered(
        self, service, module_nats: NatsServer, publish, verification, db: asyncpg.Connection
    ) -> None:  # type: ignore[no-untyped-def]
        held = ChargeHeld(
            referral_id=str(uuid4()),
            participant_id=str(uuid4()),
            offense_codes=["35A"],
            intake_deadline=NOW.date(),
            held_at=NOW,
        )
        await publish("prosecution", held)
        await publish("consent", decision(str(uuid4()), "deny"))

        async def two_events() -> bool:
            return await event_entries(db) == 2

        await eventually(two_events)
        nc = await nats.connect(module_nats.url)
        try:
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
        assert (await verification())["valid"]

    async def test_every_read_of_the_log_is_itself_logged_refused_ones_too(
        self, service: httpx.AsyncClient, tokens_for: Callable, verification, db: asyncpg.Connection
    ) -> None:  # type: ignore[no-untyped-def]
        before = int(await db.fetchval("SELECT count(*) FROM audit_log WHERE entry->>'type' = $1", READ))
        refused = await service.get("/v1/audit/verification", headers=tokens_for("prosecutor", agency="kc-prosecutor"))
        assert refused.status_code == 403
        await verification()
        reads = await db.fetch("SELECT entry FROM audit_log WHERE entry->>'type' = $1 ORDER BY seq", READ)
        assert len(reads) == before + 2
        assert '"outcome": "deny"' in reads[-2]["entry"] and "kc-prosecutor" in reads[-2]["entry"]
        assert '"outcome": "permit"' in reads[-1]["entry"]


class TestTamperingIsNamed:
    @pytest.fixture
    async def chain(self, service, publish, db: asyncpg.Connection) -> list[int]:  # type: ignore[no-untyped-def]
        first = await event_entries(db)
        for _ in range(3):
            await publish("consent", decision(str(uuid4()), "deny"))

        async def three_more() -> bool:
            return await event_entries(db) == first + 3

        await eventually(three_more)
        return [r["seq"] for r in await db.fetch("SELECT seq FROM audit_log ORDER BY seq")]

    async def _named_then_restored(self, verification, db, target: int, column: str, value: object) -> None:  # type: ignore[no-untyped-def]
        original = await db.fetchval(f"SELECT {column} FROM audit_log WHERE seq = $1", target)
        await db.execute(f"UPDATE audit_log SET {column} = $1 WHERE seq = $2", value, target)
        try:
            report = await verification()
            assert (report["valid"], report["first_bad_entry"]) == (False, target), report
        finally:
            await db.execute(f"UPDATE audit_log SET {column} = $1 WHERE seq = $2", original, target)
        assert (await verification())["valid"]

    async def test_altering_an_entry(self, verification, db, chain) -> None:  # type: ignore[no-untyped-def]
        entry = json.loads(await db.fetchval("SELECT entry FROM audit_log WHERE seq = $1", chain[-2]))
        forged = json.dumps(entry | {"outcome": "permit"})
        await self._named_then_restored(verification, db, chain[-2], "entry", forged)

    async def test_altering_an_entrys_event_id(self, verification, db, chain) -> None:  # type: ignore[no-untyped-def]
        await self._named_then_restored(verification, db, chain[-2], "event_id", str(uuid4()))

    async def test_altering_an_entrys_recorded_at(self, verification, db, chain) -> None:  # type: ignore[no-untyped-def]
        moved = await db.fetchval("SELECT recorded_at FROM audit_log WHERE seq = $1", chain[-3]) - timedelta(days=3)
        await self._named_then_restored(verification, db, chain[-3], "recorded_at", moved)

    async def test_deleting_an_entry(self, verification, db, chain) -> None:  # type: ignore[no-untyped-def]
        target = chain[-2]
        saved = await db.fetchrow("SELECT * FROM audit_log WHERE seq = $1", target)
        await db.execute("DELETE FROM audit_log WHERE seq = $1", target)
        try:
            report = await verification()
            assert (report["valid"], report["first_bad_entry"]) == (False, target)
        finally:
            columns = ", ".join(saved.keys())
            values = ", ".join(f"${i}" for i in range(1, len(saved) + 1))
            await db.execute(f"INSERT INTO audit_log ({columns}) VALUES ({values})", *saved.values())

    async def test_reordering_entries(self, verification, db, chain) -> None:  # type: ignore[no-untyped-def]
        a, b = chain[-3], chain[-2]

        async def swap() -> None:
            await db.execute("UPDATE audit_log SET seq = -1 WHERE seq = $1", a)
            await db.execute("UPDATE audit_log SET seq = $1 WHERE seq = $2", a, b)
            await db.execute("UPDATE audit_log SET seq = $1 WHERE seq = -1", b)

        await swap()
        try:
            report = await verification()
            assert (report["valid"], report["first_bad_entry"]) == (False, a)
        finally:
            await swap()

    async def test_inserting_a_forged_entry_at_the_end(self, verification, db, chain) -> None:  # type: ignore[no-untyped-def]
        head_seq, head_hash = await db.fetchrow("SELECT seq, hash FROM audit_head")
        forged = {"event_id": "forged", "type": "org.divert.consent.AccessDecided.v1", "outcome": "permit"}
        await db.execute(
            "INSERT INTO audit_log (seq, event_id, recorded_at, entry, prev_hash, hash, hash_version) "
            "VALUES ($1, 'forged', $2, $3, $4, $5, 2)",
            head_seq + 1,
            NOW,
            json.dumps(forged),
            head_hash,
            link(head_hash, head_seq + 1, "forged", NOW, forged),
        )
        try:
            report = await verification()
            assert (report["valid"], report["first_bad_entry"]) == (False, head_seq + 1)
        finally:
            await db.execute("DELETE FROM audit_log WHERE event_id = 'forged'")
