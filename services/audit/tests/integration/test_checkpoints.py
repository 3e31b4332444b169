"""Signed checkpoints: verifiable by an outsider with the published key; a rewrite of the whole log is named."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
import nats
import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.domain.chain import Row
from divert_devstack.nats import NatsServer
from divert_devstack.testing import eventually
from divert_kernel import bus

from .conftest import decision

SUBJECT = "lead.all.audit.AuditCheckpointSealed"


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def published_checkpoint(module_nats: NatsServer, sequence: int) -> dict:
    """The newest AuditCheckpointSealed on the bus, once it is the one sealing `sequence`."""
    nc = await nats.connect(module_nats.url)
    try:
        js = nc.jetstream()

        async def newest() -> dict | None:
            try:
                data = json.loads((await js.get_last_msg(bus.stream_name("audit"), SUBJECT)).data)["data"]
            except nats.js.errors.NotFoundError:
                return None
            return data if data["entries"] == sequence else None

        return await eventually(newest)  # type: ignore[no-any-return]
    finally:
        await nc.close()


@pytest.fixture
async def sealed(service, publish, seal, db: asyncpg.Connection) -> int:  # type: ignore[no-untyped-def]
    before = await db.fetchval("SELECT seq FROM audit_head")
    for _ in range(3):
        await publish("consent", decision(str(uuid4()), "deny"))

    async def three_more() -> bool:
        return await db.fetchval("SELECT seq FROM audit_head") >= before + 3

    await eventually(three_more)
    return await seal()  # type: ignore[no-any-return]


@pytest.fixture
async def restored(db: asyncpg.Connection) -> AsyncIterator[None]:
    """Whatever a test rewrites in the log, its checkpoints and head is put back afterwards."""
    log = await db.fetch("SELECT * FROM audit_log ORDER BY seq")
    checkpoints = await db.fetch("SELECT * FROM audit_checkpoints")
    head = await db.fetchrow("SELECT seq, hash FROM audit_head")
    yield
    async with db.transaction():
        await db.execute("DELETE FROM audit_log")
        await db.execute("DELETE FROM audit_checkpoints")
        for table, rows in (("audit_log", log), ("audit_checkpoints", checkpoints)):
            for row in rows:
                columns, values = ", ".join(row.keys()), ", ".join(f"${i}" for i in range(1, len(row) + 1))
                await db.execute(f"INSERT INTO {table} ({columns}) VALUES ({values})", *row.values())
        await db.execute("UPDATE audit_head SET seq = $1, hash = $2", *head)


async def rewrite_from(db: asyncpg.Connection, first: int) -> dict[int, str]:
    """What someone with database access can do: alter entry `first` and re-link every entry after it."""
    rows = await db.fetch("SELECT * FROM audit_log WHERE seq >= $1 ORDER BY seq", first)
    prev = rows[0]["prev_hash"]
    hashes = {}
    for r in rows:
        entry = json.loads(r["entry"]) | ({"outcome": "permit"} if r["seq"] == first else {})
        row = Row(r["seq"], r["event_id"], r["recorded_at"], entry, prev, "", r["hash_version"])
        prev = hashes[r["seq"]] = row.computed_hash()
        await db.execute(
            "UPDATE audit_log SET entry = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
            json.dumps(entry),
            row.prev_hash,
            prev,
            r["seq"],
        )
    await db.execute("UPDATE audit_head SET hash = $1", prev)
    return hashes


class TestPublishedCheckpoints:
    async def test_a_sealed_head_is_published_and_verifies_with_the_public_key_and_any_jcs_library(
        self, service, module_nats: NatsServer, sealed: int, db: asyncpg.Connection
    ) -> None:  # type: ignore[no-untyped-def]
        data = await published_checkpoint(module_nats, sealed)
        assert set(data) == {"entries", "head_hash", "sealed_at", "checkpoint_id", "key_id", "signature"}
        assert data["head_hash"] == await db.fetchval("SELECT hash FROM audit_log WHERE seq = $1", sealed)

        (jwk,) = (await service.get("/v1/audit/checkpoint-key")).json()["keys"]
        assert (jwk["kty"], jwk["crv"], "d" in jwk) == ("OKP", "Ed25519", False)
        thumbprint = hashlib.sha256(f'{{"crv":"Ed25519","kty":"OKP","x":"{jwk["x"]}"}}'.encode()).digest()
        assert jwk["kid"] == data["key_id"] == b64(thumbprint)  # RFC 7638, computed by hand

        sealed_at = datetime.fromisoformat(data["sealed_at"]).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        document = {
            "checkpoint_id": data["checkpoint_id"],
            "sequence": data["entries"],
            "head_hash": data["head_hash"],
            "sealed_at": sealed_at,
            "key_id": data["key_id"],
        }
        public_key = Ed25519PublicKey.from_public_bytes(unb64(jwk["x"]))
        public_key.verify(unb64(data["signature"]), rfc8785.dumps(document))  # raises if not genuine

    async def test_the_entry_hash_is_recomputable_from_the_stored_row_with_any_jcs_library(
        self, service, sealed: int, db: asyncpg.Connection
    ) -> None:  # type: ignore[no-untyped-def]
        r = await db.fetchrow("SELECT * FROM audit_log WHERE seq = $1", sealed)
        document = {
            "hash_version": 2,
            "seq": r["seq"],
            "event_id": r["event_id"],
            "recorded_at": r["recorded_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "entry": json.loads(r["entry"]),
            "prev_hash": r["prev_hash"],
        }
        assert r["hash_version"] == 2 and hashlib.sha256(rfc8785.dumps(document)).hexdigest() == r["hash"]


class TestARewriteOfTheWholeLogIsNamed:
    async def test_rewriting_every_hash_and_the_checkpoints_too(
        self, verification, sealed: int, restored: None, db: asyncpg.Connection
    ) -> None:  # type: ignore[no-untyped-def]
        hashes = await rewrite_from(db, sealed - 1)
        await db.execute("UPDATE audit_checkpoints SET hash = $1 WHERE seq = $2", hashes[sealed], sealed)
        report = await verification()
        assert (report["valid"], report["first_bad_entry"], report["first_bad_checkpoint"]) == (False, sealed, sealed)
        assert "signature" in report["problem"]

    async def test_re_signing_the_checkpoints_with_another_key(
        self, verification, sealed: int, restored: None, db: asyncpg.Connection
    ) -> None:  # type: ignore[no-untyped-def]
        hashes = await rewrite_from(db, sealed - 1)
        other = Ed25519PrivateKey.generate()
        row = await db.fetchrow("SELECT * FROM audit_checkpoints WHERE seq = $1", sealed)
        document = {
            "checkpoint_id": str(row["checkpoint_id"]),
            "sequence": sealed,
            "head_hash": hashes[sealed],
            "sealed_at": row["sealed_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "key_id": row["key_id"],
        }
        await db.execute(
            "UPDATE audit_checkpoints SET hash = $1, signature = $2 WHERE seq = $3",
            hashes[sealed],
            b64(other.sign(rfc8785.dumps(document))),
            sealed,
        )
        report = await verification()
        assert (report["valid"], report["first_bad_checkpoint"]) == (False, sealed)

    async def test_rewriting_every_hash_and_deleting_the_checkpoints_is_caught_by_the_published_copy(
        self, verification, module_nats: NatsServer, sealed: int, restored: None, db: asyncpg.Connection
    ) -> None:  # type: ignore[no-untyped-def]
        await published_checkpoint(module_nats, sealed)
        await rewrite_from(db, sealed - 1)
        await db.execute("DELETE FROM audit_checkpoints")
        report = await verification()
        assert (report["valid"], report["first_bad_entry"], report["published_checkpoint"]) == (False, sealed, sealed)
        assert "published copy" in report["problem"]

    async def test_an_untouched_log_verifies_against_its_checkpoints_and_their_published_copy(
        self, verification, module_nats: NatsServer, sealed: int
    ) -> None:  # type: ignore[no-untyped-def]
        await published_checkpoint(module_nats, sealed)
        report = await verification()
        assert (report["valid"], report["published_checkpoint"]) == (True, sealed)
