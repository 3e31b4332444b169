"""One OpenAPI 3.1 document for the whole public API: the gateway's own paths plus each service's /v1 paths."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)


async def _service_schema(client: httpx.AsyncClient) -> dict[str, Any] | None:
    try:
        reply = await client.get("/openapi.json", timeout=3)
        reply.raise_for_status()
        return reply.json()  # type: ignore[no-any-return]
    except (httpx.HTTPError, ValueError):
        return None


def merge(own: dict[str, Any], schemas: list[dict[str, Any]]) -> dict[str, Any]:
    """Add each service's /v1 paths and component schemas to the gateway's document."""
    merged = {**own, "paths": dict(own.get("paths", {}))}
    components = merged.setdefault("components", {}).setdefault("schemas", {})
    for schema in schemas:
        merged["paths"].update({p: ops for p, ops in schema.get("paths", {}).items() if p.startswith("/v1/")})
        for name, definition in schema.get("components", {}).get("schemas", {}).items():
            components.setdefault(name, definition)
    merged.setdefault("components", {})["securitySchemes"] = {
        "oauth2": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}}}}
    }
    merged["security"] = [{"oauth2": []}]
    return merged


@router.get("/openapi.json")
async def openapi(request: Request) -> dict[str, Any]:
    state = request.app.state
    if getattr(state, "merged_openapi", None) is not None:
        return state.merged_openapi  # type: ignore[no-any-return]
    found = await asyncio.gather(*(_service_schema(c) for c in state.upstreams.values()))
    document = merge(request.app.openapi(), [s for s in found if s is not None])
    if all(s is not None for s in found):
        state.merged_openapi = document  # complete: keep it; partial documents are rebuilt next time
    return document


@router.get("/docs")
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Divert API")
