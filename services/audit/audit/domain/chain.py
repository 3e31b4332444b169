"""The hash chain: each entry's hash covers every stored field of the entry, including the previous hash.

Version 2 (every entry recorded since migration 0003): the entry hash is the SHA-256, in lowercase hex, of
the RFC 8785 canonical JSON of `{"hash_version": 2, "seq", "event_id", "recorded_at", "entry", "prev_hash"}`,
`recorded_at` spelled as `canonical.instant`. Version 1 (entries recorded before): SHA-256 of the previous
hash, the sequence and the entry's sorted-key JSON; its `event_id` and `recorded_at` columns are checked
against their copies inside the hashed entry. A version-1 entry never follows a version-2 one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from audit.domain.canonical import fast_sha256_hex, instant

GENESIS = "0" * 64
HASH_VERSION = 2


def link_v1(prev_hash: str, seq: int, entry: Mapping[str, Any]) -> str:
    body = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(prev_hash.encode() + str(seq).encode() + b"\n" + body).hexdigest()


def link(prev_hash: str, seq: int, event_id: str, recorded_at: datetime, entry: Mapping[str, Any]) -> str:
    """The version-2 hash of an entry: every stored field, in RFC 8785 canonical form (the library's bytes, by
    the faster canonicaliser proved identical to it: audit.domain.canonical)."""
    return fast_sha256_hex(
        {
            "hash_version": HASH_VERSION,
            "seq": seq,
            "event_id": event_id,
            "recorded_at": instant(recorded_at),
            "entry": entry,
            "prev_hash": prev_hash,
        }
    )


@dataclass(frozen=True)
class Row:
    seq: int
    event_id: str
    recorded_at: datetime
    entry: Any  # the stored JSON as read: a tampered row may hold an array or a scalar, not only an object
    prev_hash: str
    hash: str
    hash_version: int = HASH_VERSION

    def computed_hash(self) -> str:
        if self.hash_version == 1:
            return link_v1(self.prev_hash, self.seq, self.entry)
        return link(self.prev_hash, self.seq, self.event_id, self.recorded_at, self.entry)

    def columns_agree_with_entry(self) -> bool:
        """Version 1 did not hash the columns: they must match the hashed copies (recorded_at kept to the ms)."""
        if self.hash_version != 1:
            return True
        if not isinstance(self.entry, dict):
            return False
        try:
            kept = datetime.fromisoformat(str(self.entry.get("recorded_at")))
        except ValueError:
            return False
        if kept.tzinfo is None:
            return False
        return self.event_id == self.entry.get("event_id") and timedelta(0) <= self.recorded_at - kept < timedelta(
            milliseconds=1
        )


@dataclass(frozen=True)
class Seal:
    """What a checkpoint says the hash at its sequence is; `problem` when the checkpoint itself is not genuine."""

    hash: str
    problem: str | None = None


@dataclass(frozen=True)
class Verification:
    valid: bool
    entries: int
    head_hash: str
    first_bad_entry: int | None = None
    problem: str | None = None
    first_bad_checkpoint: int | None = None


class ChainWalker:
    """Checks a chain one row at a time (constant memory), against the head and the signed checkpoints."""

    def __init__(self, head_seq: int, head_hash: str, seals: Mapping[int, Seal] | None = None) -> None:
        self.head_seq, self.head_hash = head_seq, head_hash
        self.seals = dict(seals or {})
        self.expected_prev, self.expected_seq, self.count, self.version = GENESIS, 1, 0, 1
        self.failure: Verification | None = None

    def _fail(self, seq: int, problem: str, checkpoint: bool = False) -> None:
        self.failure = Verification(False, self.count, self.head_hash, seq, problem, seq if checkpoint else None)

    def feed(self, row: Row) -> bool:
        """Take the next row; False once the chain is broken (the failure names the first bad entry)."""
        if self.failure is not None:
            return False
        problem = self._entry_problem(row)
        seal = self.seals.get(row.seq)
        if problem is not None:
            self._fail(row.seq if row.seq == self.expected_seq else self.expected_seq, problem)
        elif seal is not None and seal.problem is not None:
            self._fail(row.seq, seal.problem, checkpoint=True)
        elif seal is not None and seal.hash != row.hash:
            self._fail(row.seq, "the chain was rewritten up to here: it no longer matches a signed checkpoint", True)
        else:
            self.expected_prev, self.expected_seq, self.count = row.hash, row.seq + 1, self.count + 1
            self.version = row.hash_version
        return self.failure is None

    def _entry_problem(self, row: Row) -> str | None:
        if row.seq != self.expected_seq:
            return "an entry is missing or out of order"
        if row.prev_hash != self.expected_prev:
            return "the entry does not follow the one before it"
        if row.hash_version not in (1, HASH_VERSION):
            return "the entry names a hash version that does not exist"
        if row.hash_version < self.version:
            return "the entry claims an older hash version than the entry before it"
        try:
            altered = row.computed_hash() != row.hash
        except ValueError:  # RFC 8785 refuses the value (e.g. an integer beyond 2**53): not what was hashed
            altered = True
        if altered:
            return "the entry was altered"
        if not row.columns_agree_with_entry():
            return "the entry's event_id or recorded_at was altered"
        return None

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
        beyond = [seq for seq in self.seals if seq > self.count]
        if beyond:
            first = min(beyond)
            return Verification(
                False, self.count, self.head_hash, first, "a sealed checkpoint's entries are gone", first
            )
        return Verification(True, self.count, self.head_hash)


def verify(rows: Iterable[Row], head_seq: int, head_hash: str, seals: Mapping[int, Seal] | None = None) -> Verification:
    """Walk the chain in order; the first break names the entry (insertion, deletion, reordering, alteration)."""
    walker = ChainWalker(head_seq, head_hash, seals)
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


def entry_from_envelope(envelope: Mapping[str, Any], recorded_at: datetime) -> dict[str, Any]:
    """What the log keeps of an event: what, when, where, source, outcome and ids; never names."""
    data = envelope.get("data") or {}
    return {
        "event_id": envelope["id"],
        "type": envelope["type"],
        "source": envelope["source"],
        "subject": envelope.get("subject"),
        "jurisdiction": envelope.get("jurisdiction"),
        "occurred_at": envelope.get("time"),
        "recorded_at": instant(recorded_at),
        "actor": _actor(envelope),
        "outcome": data.get("decision", "recorded"),
        "flags": list(data.get("flags") or []),
        "correlation_id": envelope.get("correlationid"),
        "data": data,
    }


def read_entry(
    entry_id: str,
    resource: str,
    actor: Mapping[str, Any],
    outcome: str,
    recorded_at: datetime,
    subject: str | None = None,
) -> dict[str, Any]:
    """An entry for a read of the audit log itself (verification, an accounting of disclosures)."""
    return {
        "event_id": entry_id,
        "type": "org.divert.audit.AuditLogRead",
        "source": "/divert/audit",
        "subject": subject,
        "occurred_at": instant(recorded_at),
        "recorded_at": instant(recorded_at),
        "actor": dict(actor),
        "outcome": outcome,
        "flags": [],
        "data": {"resource": resource},
    }
