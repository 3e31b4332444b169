"""The PostgreSQL event store: optimistic appends that write their outbox rows in the same statement."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from divert_kernel.context import Causation
from divert_kernel.db import driver_fetch
from divert_kernel.errors import ConcurrencyError
from divert_kernel.events import Event, load_event

# One round trip: the events and their outbox rows; a unique (stream_id, version) turns a race into an error.
# Run on the driver (db.driver_fetch): the one statement every command and every consumed event that records pays.
_APPEND = """
    WITH appended AS (
        INSERT INTO events (event_id, stream_id, version, type, schema_version, jurisdiction, data, metadata)
        SELECT e.event_id, $1, e.version, e.type, e.schema_version, $2, e.data::jsonb, $3::jsonb
        FROM unnest($4::uuid[], $5::int[], $6::text[], $7::int[], $8::text[])
             AS e(event_id, version, type, schema_version, data)
        RETURNING position, version, recorded_at, event_id::text AS event_id
    ), queued AS (
        INSERT INTO outbox (position) SELECT position FROM appended
    )
    SELECT position, version, recorded_at, event_id FROM appended ORDER BY version
"""

_LOAD = sa.text(
    "SELECT type, schema_version, data, jurisdiction FROM events WHERE stream_id = :stream_id "
    "AND version <= :upto ORDER BY version"
)
_EVERY_VERSION = 2**31 - 1


class Appended(NamedTuple):
    """What an append returns per event, in version order."""

    position: int
    version: int
    recorded_at: datetime
    event_id: str


@dataclass(frozen=True)
class StoredEvent:
    """An event as stored, with the facts the envelope needs."""

    position: int
    event_id: str
    stream_id: str
    version: int
    type: str
    schema_version: int
    jurisdiction: str
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime


def _metadata(causation: Causation, traceparent: str | None) -> str:
    return json.dumps(
        {
            "actor": vars(causation.actor),  # a flat dataclass: its fields as they are, without asdict's deep copy
            "correlation_id": causation.correlation_id,
            "causation_id": causation.causation_id,
            "traceparent": traceparent,
        }
    )


async def append(
    conn: AsyncConnection,
    *,
    stream_id: str,
    jurisdiction: str,
    expected_version: int,
    events: list[Event],
    causation: Causation,
    traceparent: str | None,
) -> list[Appended]:
    """Append events after `expected_version` and return their rows (position, version, recorded_at, event_id);
    raise ConcurrencyError if someone got there first."""
    if not events:
        return []
    try:
        rows = await driver_fetch(
            conn,
            _APPEND,
            stream_id,
            jurisdiction,
            _metadata(causation, traceparent),
            [uuid4() for _ in events],
            [expected_version + i + 1 for i in range(len(events))],
            [e.type_name() for e in events],
            [e.schema_version for e in events],
            [e.model_dump_json() for e in events],
        )
    except IntegrityError as exc:
        if "events_stream_version" in str(exc.orig):
            raise ConcurrencyError(f"stream was changed concurrently; expected version {expected_version}") from None
        raise
    return [Appended(*row) for row in rows]


async def load(
    conn: AsyncConnection, service: str, stream_id: str, upto: int | None = None
) -> tuple[str | None, list[Event]]:
    """The stream's jurisdiction and events (up to version `upto`, if given), upcast to current contract versions."""
    params = {"stream_id": stream_id, "upto": _EVERY_VERSION if upto is None else upto}
    rows = (await conn.execute(_LOAD, params)).all()
    history: list[Event] = []
    for row in rows:
        event = load_event(service, row.type, row.schema_version, row.data)
        if event is None:
            raise LookupError(f"no contract for {service}.{row.type} v{row.schema_version}")
        history.append(event)
    return (rows[0].jurisdiction if rows else None), history
