"""The hash chain: each entry's hash covers its content and the previous entry's hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical(entry: Mapping[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link(prev_hash: str, seq: int, entry: Mapping[str, Any]) -> str:
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


class ChainWalker:
    """Checks a chain one row at a time (constant memory), against the head and the sealed checkpoints."""

    def __init__(self, head_seq: int, head_hash: str, checkpoints: Mapping[int, str] | None = None) -> None:
        self.head_seq, self.head_hash = head_seq, head_hash
        self.checkpoints = dict(checkpoints or {})
        self.expected_prev, self.expected_seq, self.count = GENESIS, 1, 0
        self.failure: Verification | None = None

    def _fail(self, seq: int, problem: str) -> None:
        self.failure = Verification(False, self.count, self.head_hash, seq, problem)

    def feed(self, row: Row) -> bool:
        """Take the next row; False once the chain is broken (the failure names the first bad entry)."""
        if self.failure is not None:
            return False
        if row.seq != self.expected_seq:
            self._fail(self.expected_seq, "an entry is missing or out of order")
        elif row.prev_hash != self.expected_prev:
            self._fail(row.seq, "the entry does not follow the one before it")
        elif link(row.prev_hash, row.seq, row.entry) != row.hash:
            self._fail(row.seq, "the entry was altered")
        elif row.seq in self.checkpoints and self.checkpoints[row.seq] != row.hash:
            self._fail(row.seq, "the chain was rewritten up to here: it no longer matches a sealed checkpoint")
        else:
            self.expected_prev, self.expected_seq, self.count = row.hash, row.seq + 1, self.count + 1
        return self.failure is None

    def result(self) -> Verification:
        if self.failure is not None:
            return self.failure
        if self.count < self.head_seq:
            return Verification(
                False, self.count, self.head_hash, self.count + 1, "entries after this point were removed"
            )
        if self.count > self.head_seq:
            return Verification(
                False, self.count, self.head_hash, self.head_seq + 1, "entries were added after the head"
            )
        if self.expected_prev != self.head_hash:
            return Verification(False, self.count, self.head_hash, self.count, "the head does not match the last entry")
        beyond = [seq for seq in self.checkpoints if seq > self.count]
        if beyond:
            return Verification(
                False, self.count, self.head_hash, min(beyond), "a sealed checkpoint's entries are gone"
            )
        return Verification(True, self.count, self.head_hash)


def verify(
    rows: Iterable[Row], head_seq: int, head_hash: str, checkpoints: Mapping[int, str] | None = None
) -> Verification:
    """Walk the chain in order; the first break names the entry (insertion, deletion, reordering, alteration)."""
    walker = ChainWalker(head_seq, head_hash, checkpoints)
    for row in rows:
        if not walker.feed(row):
            break
    return walker.result()


def _actor(envelope: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "agency": envelope.get("actoragency"),
        "agency_type": envelope.get("actoragencytype"),
        "client": envelope.get("actorclient"),
        "person": envelope.get("actorperson"),
    }


def entry_from_envelope(envelope: Mapping[str, Any], recorded_at: str) -> dict[str, Any]:
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
        "actor": _actor(envelope),
        "outcome": data.get("decision", "recorded"),
        "flags": list(data.get("flags") or []),
        "correlation_id": envelope.get("correlationid"),
        "data": data,
    }


def read_entry(
    entry_id: str, resource: str, actor: Mapping[str, Any], outcome: str, recorded_at: str, subject: str | None = None
) -> dict[str, Any]:
    """An entry for a read of the audit log itself (verification, an accounting of disclosures)."""
    return {
        "event_id": entry_id,
        "type": "org.divert.audit.AuditLogRead",
        "source": "/divert/audit",
        "subject": subject,
        "occurred_at": recorded_at,
        "recorded_at": recorded_at,
        "actor": dict(actor),
        "outcome": outcome,
        "flags": [],
        "data": {"resource": resource},
    }
