"""The hash chain: each entry's hash covers its content and the previous entry's hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link(prev_hash: str, seq: int, entry: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + str(seq).encode() + b"\n" + canonical(entry)).hexdigest()


@dataclass(frozen=True)
class Row:
    seq: int
    entry: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Verification:
    valid: bool
    entries: int
    head_hash: str
    first_bad_entry: int | None = None
    problem: str | None = None


def verify(rows: Iterable[Row], head_seq: int, head_hash: str) -> Verification:
    """Walk the chain in order; the first break names the entry (insertion, deletion, reordering, alteration)."""
    expected_prev, expected_seq, count = GENESIS, 1, 0
    for row in rows:
        if row.seq != expected_seq:
            return Verification(False, count, head_hash, expected_seq, "an entry is missing or out of order")
        if row.prev_hash != expected_prev:
            return Verification(False, count, head_hash, row.seq, "the entry does not follow the one before it")
        if link(row.prev_hash, row.seq, row.entry) != row.hash:
            return Verification(False, count, head_hash, row.seq, "the entry was altered")
        expected_prev, expected_seq, count = row.hash, row.seq + 1, count + 1
    if count != head_seq or expected_prev != head_hash:
        return Verification(False, count, head_hash, count + 1, "entries after this point were removed")
    return Verification(True, count, head_hash)


def entry_from_envelope(envelope: dict[str, Any], recorded_at: str) -> dict[str, Any]:
    """What the log keeps of an event: what, when, where, source, outcome and ids; never names."""
    data = envelope.get("data") or {}
    return {
        "event_id": envelope["id"],
        "type": envelope["type"],
        "source": envelope["source"],
        "subject": envelope.get("subject"),
        "jurisdiction": envelope.get("jurisdiction"),
        "occurred_at": envelope.get("time"),
        "recorded_at": recorded_at,
        "actor": {
            "agency": envelope.get("actoragency"),
            "agency_type": envelope.get("actoragencytype"),
            "client": envelope.get("actorclient"),
            "person": envelope.get("actorperson"),
        },
        "outcome": data.get("decision", "recorded"),
        "correlation_id": envelope.get("correlationid"),
        "data": data,
    }
