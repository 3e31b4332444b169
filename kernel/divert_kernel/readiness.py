"""`/readyz`: whether a service can do its work now (database, NATS, outbox lag); `/healthz` only says it runs."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import JSONResponse

# Events committed but not yet on the bus for longer than this mean the relay is stuck (or NATS is away).
MAX_OUTBOX_LAG_SECONDS = 30.0
CHECK_TIMEOUT_SECONDS = 2.0

# Also what /metrics samples as the outbox backlog (divert_kernel.metrics).
OUTBOX_LAG = sa.text(
    "SELECT count(*) AS unpublished, "
    "       coalesce(extract(epoch FROM now() - min(e.recorded_at)), 0) AS oldest_seconds "
    "FROM outbox o JOIN events e ON e.position = o.position WHERE o.published_at IS NULL"
)


async def _database_and_outbox(app: FastAPI) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), app.state.engine.connect() as conn:
            row = (await conn.execute(OUTBOX_LAG)).one()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", named by class only
        return {"ok": False, "error": type(exc).__name__}, {"ok": False, "error": "database unavailable"}
    lag = round(float(row.oldest_seconds), 3)
    outbox = {"ok": lag <= MAX_OUTBOX_LAG_SECONDS, "unpublished": int(row.unpublished), "oldest_seconds": lag}
    return {"ok": True}, outbox


def _nats(app: FastAPI) -> dict[str, Any]:
    nc = getattr(app.state, "nats", None)
    return {"ok": bool(nc is not None and nc.is_connected)}


async def report(app: FastAPI, service: str) -> JSONResponse:
    database, outbox = await _database_and_outbox(app)
    checks = {"database": database, "nats": _nats(app), "outbox": outbox}
    ready = all(check["ok"] for check in checks.values())
    body = {"status": "ready" if ready else "not_ready", "service": service, "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)
