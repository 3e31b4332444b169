"""The canonical forms an outside auditor re-computes: RFC 8785 (JCS) JSON and one spelling of instants."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import rfc8785


def jcs(value: Any) -> bytes:
    """RFC 8785 JSON Canonicalization Scheme: the bytes any conforming library produces for the same value."""
    return rfc8785.dumps(value)


def sha256_hex(value: Any) -> str:
    return hashlib.sha256(jcs(value)).hexdigest()


def instant(at: datetime) -> str:
    """RFC 3339 in UTC with microseconds, as PostgreSQL keeps a timestamptz: `2026-11-23T12:00:00.000000Z`."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
