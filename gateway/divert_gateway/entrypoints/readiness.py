"""The gateway's /readyz: its own database, and each service's /readyz, asked concurrently."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import JSONResponse

CHECK_TIMEOUT_SECONDS = 2.0


async def _database(app: FastAPI) -> dict[str, Any]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), app.state.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", named by class only
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


async def _service(upstream: httpx.AsyncClient) -> dict[str, Any]:
    try:
        reply = await upstream.get("/readyz", timeout=CHECK_TIMEOUT_SECONDS + 1)
        body = reply.json()
    except (httpx.HTTPError, ValueError) as exc:
        return {"status": "unreachable", "error": type(exc).__name__}
    if not isinstance(body, dict):
        return {"status": "unreachable", "error": "unexpected answer"}
    return body if reply.status_code == 200 else {**body, "status": body.get("status", "not_ready")}


async def report(app: FastAPI) -> JSONResponse:
    upstreams: dict[str, httpx.AsyncClient] = app.state.upstreams
    database, *answers = await asyncio.gather(_database(app), *(_service(u) for u in upstreams.values()))
    services = dict(zip(upstreams, answers, strict=True))
    ready = database["ok"] and all(s.get("status") == "ready" for s in services.values())
    body = {
        "status": "ready" if ready else "not_ready",
        "service": "gateway",
        "checks": {"database": database},
        "services": services,
    }
    return JSONResponse(body, status_code=200 if ready else 503)
