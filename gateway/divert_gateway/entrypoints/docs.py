"""One OpenAPI 3.1 document for the whole public API: the gateway's own paths plus each service's /v1 paths."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from divert_contracts.asyncapi import openapi_webhooks

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
    return with_webhooks(merged)


EVENTS_NOTE = (
    "\n\nEvents: partners receive them by webhook (the `webhooks` below: each a CloudEvent signed per Standard "
    "Webhooks) or on their agency's NATS feed. The AsyncAPI 3.0 document of both: [/asyncapi.json](/asyncapi.json); "
    "each event's JSON Schema is at its `dataschema` URL, /v1/schemas/events/{service}/{type}/v{n}.json."
)


def with_webhooks(document: dict[str, Any]) -> dict[str, Any]:
    """One `webhooks` entry per event type, and a link to /asyncapi.json in the description."""
    webhooks, schemas = openapi_webhooks()
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in schemas.items():
        components.setdefault(name, definition)
    info = document.setdefault("info", {})
    info["description"] = info.get("description", "") + EVENTS_NOTE
    return {**document, "webhooks": webhooks}


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


LINKS = (
    '<p style="font-family:sans-serif;margin:1em 2em">Events (webhooks and NATS feeds): '
    '<a href="/asyncapi.json">AsyncAPI 3.0 document</a> · HTTP API: <a href="/openapi.json">OpenAPI document</a></p>'
)


@router.get("/docs")
async def docs() -> HTMLResponse:
    page = get_swagger_ui_html(openapi_url="/openapi.json", title="Divert API").body.decode()
    return HTMLResponse(page.replace("<body>", "<body>\n" + LINKS, 1))
