"""The audit log tables, the accounting of disclosures, and sealed checkpoints."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit.domain.chain import ChainWalker, Row, Verification

# Appends are serialised on the head row: a chain has one order.
_LOCK_HEAD = sa.text("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
_APPEND = sa.text(
    "INSERT INTO audit_log (seq, event_id, recorded_at, entry, prev_hash, hash) "
    "VALUES (:seq, :event_id, :recorded_at, CAST(:entry AS jsonb), :prev_hash, :hash) ON CONFLICT (event_id) DO NOTHING "
    "RETURNING seq"
)
_SEQ_TAKEN = sa.text("SELECT 1 FROM audit_log WHERE seq = :seq")


class ChainTampered(Exception):
    """A row sits beyond the head: someone wrote to the log outside the service. Nothing more is appended."""


_MOVE_HEAD = sa.text("UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1")
_HEAD = sa.text("SELECT seq, hash FROM audit_head WHERE id = 1")
_ROWS = sa.text("SELECT seq, entry, prev_hash, hash FROM audit_log ORDER BY seq")
_CHECKPOINTS = sa.text("SELECT seq, hash FROM audit_checkpoints ORDER BY seq")
_LAST_CHECKPOINT = sa.text("SELECT COALESCE(max(seq), 0) FROM audit_checkpoints")
_ADD_CHECKPOINT = sa.text(
    "INSERT INTO audit_checkpoints (seq, hash, sealed_at) VALUES (:seq, :hash, :sealed_at) ON CONFLICT DO NOTHING"
)
_ADD_DISCLOSURE = sa.text(
    """
    INSERT INTO disclosures (decision_id, participant_id, jurisdiction, requester_agency, requester_agency_type,
                             acting_person, category, purpose, decision, basis_kind, basis_id, flags, decided_at)
    VALUES (CAST(:decision_id AS uuid), CAST(:participant_id AS uuid), :jurisdiction, :requester_agency,
            :requester_agency_type, :acting_person, :category, :purpose, :decision, :basis_kind, :basis_id, :flags,
            :decided_at)
    ON CONFLICT DO NOTHING
    """
)
_DISCLOSURES = sa.text(
    """
    SELECT decision_id::text, requester_agency, requester_agency_type, acting_person, category, purpose, decision,
           basis_kind, basis_id, flags, decided_at
    FROM disclosures
    WHERE participant_id = CAST(:participant_id AS uuid) AND jurisdiction = ANY(CAST(:jurisdictions AS text[]))
      AND (:include_denied OR decision = 'permit')
      AND (CAST(:before_at AS timestamptz) IS NULL
           OR (decided_at, decision_id) < (CAST(:before_at AS timestamptz), CAST(:before_id AS uuid)))
    ORDER BY decided_at DESC, decision_id DESC
    LIMIT :limit
    """
)


async def append(
    conn: AsyncConnection, event_id: str, recorded_at: datetime, entry: Mapping[str, Any], link: Any
) -> bool:
    """Chain one entry after the head (locked for the transaction); False if this event is already in."""
    seq, prev = (await conn.execute(_LOCK_HEAD)).one()
    if (await conn.execute(_SEQ_TAKEN, {"seq": seq + 1})).first() is not None:
        raise ChainTampered(f"entry {seq + 1} exists beyond the head")
    digest = link(prev, seq + 1, entry)
    params = {
        "seq": seq + 1,
        "event_id": event_id,
        "recorded_at": recorded_at,
        "entry": json.dumps(entry),
        "prev_hash": prev,
        "hash": digest,
    }
    if (await conn.execute(_APPEND, params)).first() is None:
        return False
    await conn.execute(_MOVE_HEAD, {"seq": seq + 1, "hash": digest})
    return True


async def head(conn: AsyncConnection) -> tuple[int, str]:
    row = (await conn.execute(_HEAD)).one()
    return int(row.seq), str(row.hash)


async def verify(engine: AsyncEngine) -> Verification:
    """Walk every row from one snapshot (so a concurrent append cannot look like tampering), in constant memory."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            head_seq, head_hash = await head(conn)
            checkpoints = {int(r.seq): str(r.hash) for r in await conn.execute(_CHECKPOINTS)}
            walker = ChainWalker(head_seq, head_hash, checkpoints)
            result = await conn.stream(_ROWS.execution_options(yield_per=1000))
            async for r in result:
                if not walker.feed(Row(int(r.seq), r.entry, r.prev_hash, r.hash)):
                    break
            await result.close()
    return walker.result()


async def last_checkpoint(conn: AsyncConnection) -> int:
    return int((await conn.execute(_LAST_CHECKPOINT)).scalar() or 0)


async def add_checkpoint(conn: AsyncConnection, seq: int, digest: str, sealed_at: datetime) -> None:
    await conn.execute(_ADD_CHECKPOINT, {"seq": seq, "hash": digest, "sealed_at": sealed_at})


async def add_disclosure(conn: AsyncConnection, decided: Mapping[str, Any], jurisdiction: str) -> None:
    await conn.execute(
        _ADD_DISCLOSURE,
        {
            "decision_id": decided["decision_id"],
            "participant_id": decided["participant_id"],
            "jurisdiction": jurisdiction,
            "requester_agency": decided["requester_agency"],
            "requester_agency_type": decided["requester_agency_type"],
            "acting_person": decided.get("acting_person"),
            "category": decided["category"],
            "purpose": decided["purpose"],
            "decision": decided["decision"],
            "basis_kind": decided["basis_kind"],
            "basis_id": decided.get("basis_id"),
            "flags": list(decided.get("flags") or []),
            "decided_at": datetime.fromisoformat(decided["decided_at"]),
        },
    )


async def disclosures(
    conn: AsyncConnection,
    participant_id: str,
    jurisdictions: list[str],
    *,
    include_denied: bool,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    params = {
        "participant_id": participant_id,
        "jurisdictions": jurisdictions,
        "include_denied": include_denied,
        "before_at": before[0] if before else None,
        "before_id": before[1] if before else None,
        "limit": limit,
    }
    return [dict(r) for r in (await conn.execute(_DISCLOSURES, params)).mappings()]
