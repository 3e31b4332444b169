"""Webhook endpoints, their messages (one per endpoint and event) and the attempt log, in the gateway's database."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from divert_gateway.adapters import tx

_COLUMNS = (
    "endpoint_id, agency, agency_type, jurisdictions, url, description, event_types, enabled, disabled_reason, "
    "secret, previous_secret, previous_until, failing_since, created_at, updated_at"
)


async def create(engine: AsyncEngine, fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    row = {**fields, "endpoint_id": str(uuid4()), "enabled": True, "now": now}
    async with tx.begin(engine) as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO webhook_endpoints (endpoint_id, agency, agency_type, jurisdictions, url, description, "
                "event_types, enabled, secret, created_at, updated_at) VALUES (:endpoint_id, :agency, :agency_type, "
                ":jurisdictions, :url, :description, :event_types, true, :secret, :now, :now)"
            ),
            row,
        )
    found = await get(engine, row["endpoint_id"], fields["agency"])
    assert found is not None
    return found


async def get(engine: AsyncEngine, endpoint_id: str, agency: str) -> dict[str, Any] | None:
    """The endpoint if it is this agency's; another agency's endpoint is as unknown as a made-up id."""
    async with tx.begin(engine) as conn:
        row = await conn.execute(
            sa.text(
                f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE endpoint_id = CAST(:id AS uuid) AND agency = :agency"
            ),
            {"id": endpoint_id, "agency": agency},
        )
        found = row.mappings().first()
    return dict(found) if found else None


async def list_for(engine: AsyncEngine, agency: str) -> list[dict[str, Any]]:
    async with tx.begin(engine) as conn:
        rows = await conn.execute(
            sa.text(
                f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE agency = :agency ORDER BY created_at, endpoint_id"
            ),
            {"agency": agency},
        )
        return [dict(r) for r in rows.mappings()]


async def update(engine: AsyncEngine, endpoint_id: str, agency: str, changes: dict[str, Any], now: datetime) -> None:
    sets = ", ".join(f"{name} = :{name}" for name in changes)
    async with tx.begin(engine) as conn:
        await conn.execute(
            sa.text(
                f"UPDATE webhook_endpoints SET {sets}, updated_at = :now "
                "WHERE endpoint_id = CAST(:id AS uuid) AND agency = :agency"
            ),
            {**changes, "now": now, "id": endpoint_id, "agency": agency},
        )


async def delete(engine: AsyncEngine, endpoint_id: str, agency: str) -> bool:
    async with tx.begin(engine) as conn:
        gone = await conn.execute(
            sa.text("DELETE FROM webhook_endpoints WHERE endpoint_id = CAST(:id AS uuid) AND agency = :agency"),
            {"id": endpoint_id, "agency": agency},
        )
        if gone.rowcount:
            for table in ("webhook_messages", "webhook_attempts"):
                await conn.execute(
                    sa.text(f"DELETE FROM {table} WHERE endpoint_id = CAST(:id AS uuid)"), {"id": endpoint_id}
                )
    return bool(gone.rowcount)


async def replay(
    engine: AsyncEngine, endpoint_id: str, *, since: datetime | None, after_event: str | None, now: datetime
) -> int | None:
    """Queue again every message of the endpoint from a time or after an event; None if that event is unknown."""
    async with tx.begin(engine) as conn:
        params: dict[str, Any] = {"id": endpoint_id, "now": now}
        if after_event is not None:
            position = (
                await conn.execute(
                    sa.text(
                        "SELECT position FROM webhook_messages WHERE endpoint_id = CAST(:id AS uuid) "
                        "AND event_id = CAST(:event AS uuid)"
                    ),
                    {"id": endpoint_id, "event": after_event},
                )
            ).scalar()
            if position is None:
                return None
            where, params["position"] = "position > :position", position
        else:
            where, params["since"] = "event_time >= :since", since
        queued = await conn.execute(
            sa.text(
                "UPDATE webhook_messages SET status = 'pending', attempts = 0, next_attempt_at = :now "
                f"WHERE endpoint_id = CAST(:id AS uuid) AND {where}"
            ),
            params,
        )
    return int(queued.rowcount or 0)


async def attempts_page(
    engine: AsyncEngine, endpoint_id: str, *, after: int | None, limit: int
) -> list[dict[str, Any]]:
    """The newest attempts first; `after` is the last attempt id of the previous page."""
    async with tx.begin(engine) as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT attempt_id, event_id, attempted_at, outcome, status_code, duration_ms, next_retry_at "
                "FROM webhook_attempts WHERE endpoint_id = CAST(:id AS uuid) "
                "AND (CAST(:after AS bigint) IS NULL OR attempt_id < :after) ORDER BY attempt_id DESC LIMIT :limit"
            ),
            {"id": endpoint_id, "after": after, "limit": limit},
        )
        return [dict(r) for r in rows.mappings()]
