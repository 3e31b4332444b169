"""The public OpenAPI document: the gateway's own paths plus each service's /v1 paths, finished for partners.

Finishing means what one service cannot say for the whole API: operation ids unique across services (each is
already the camelCase of its route function, divert_kernel.app.operation_id), the headers every service POST
accepts, `Location` on each 201, and the 429 every limited call may get.
"""

from __future__ import annotations

from typing import Any

from divert_contracts.asyncapi import openapi_webhooks
from divert_gateway.domain.routes import owner_of
from divert_kernel.problems import PROBLEM_JSON

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_PROBLEM = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}

# What every service POST accepts (divert_kernel.idempotency and divert_kernel.auth read them).
POST_HEADERS = [
    {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Send the same key when retrying a POST: it acts once and every retry gets the first answer "
        "(kept 24 hours per client). 1 to 255 visible ASCII characters; a UUID is a good choice.",
        "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
        "example": "3f1c9a5e-7d2b-4c61-9a0e-5b8f2d4c7e10",
    },
    {
        "name": "Divert-Acting-Person",
        "in": "header",
        "required": False,
        "description": "The staff member acting, as your system's opaque id (never a name): recorded with the "
        "decision and in the audit trail; break-glass requires it.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:@-]{1,64}$"},
        "example": "staff-0042",
    },
]
LOCATION = {
    "Location": {
        "description": "where the created resource is read",
        "schema": {"type": "string", "format": "uri-reference"},
    }
}
RATE_LIMITED = {
    "description": "Rate limit spent: retry after `Retry-After` seconds (see the `RateLimit` header fields)",
    "headers": {
        "Retry-After": {"description": "seconds until the window ends", "schema": {"type": "integer"}},
        "RateLimit-Policy": {
            "description": 'the limit, as in draft-ietf-httpapi-ratelimit-headers: `"reads";q=600;w=60`',
            "schema": {"type": "string"},
        },
        "RateLimit": {"description": 'what is left of it: `"reads";r=0;t=42`', "schema": {"type": "string"}},
    },
    "content": _PROBLEM,
}


def merge(own: dict[str, Any], schemas: list[dict[str, Any]]) -> dict[str, Any]:
    """Add each service's /v1 paths and component schemas to the gateway's document."""
    merged = {**own, "paths": dict(own.get("paths", {}))}
    components = merged.setdefault("components", {}).setdefault("schemas", {})
    taken = {op.get("operationId") for _, _, op in _operations(merged["paths"])}
    for schema in schemas:
        paths = {p: ops for p, ops in schema.get("paths", {}).items() if p.startswith("/v1/")}
        for path, _, operation in _operations(paths):
            operation["operationId"] = _unique(operation.get("operationId", ""), owner_of(path) or "", taken)
        merged["paths"].update(paths)
        for name, definition in schema.get("components", {}).get("schemas", {}).items():
            components.setdefault(name, definition)
    merged.setdefault("components", {})["securitySchemes"] = {
        "oauth2": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}}}}
    }
    merged["security"] = [{"oauth2": []}]
    return with_webhooks(_finish(merged))


def _operations(paths: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(p, m, op) for p, ops in paths.items() for m, op in ops.items() if m in _METHODS]


def _unique(operation_id: str, service: str, taken: set[str | None]) -> str:
    """The id as the service named it; on a clash with another service's, prefixed with the owning service."""
    candidate = operation_id
    if candidate in taken:
        candidate = service + operation_id[:1].upper() + operation_id[1:]
    n = 2
    while candidate in taken:
        candidate, n = f"{candidate}{n}", n + 1
    taken.add(candidate)
    return candidate


def _finish(document: dict[str, Any]) -> dict[str, Any]:
    for path, method, operation in _operations(document["paths"]):
        responses = operation.setdefault("responses", {})
        if "201" in responses:
            responses["201"].setdefault("headers", {}).update(LOCATION)
        if method == "post" and owner_of(path) is not None:
            declared = {(p.get("in"), p.get("name", "").lower()) for p in operation.get("parameters", [])}
            extra = [h for h in POST_HEADERS if ("header", h["name"].lower()) not in declared]
            operation["parameters"] = [*operation.get("parameters", []), *extra]
        if path.startswith("/v1/") or path == "/oauth/token":
            responses.setdefault("429", RATE_LIMITED)
    return document


EVENTS_NOTE = (
    "\n\nEvents: partners receive them by webhook (the `webhooks` below: each a CloudEvent signed per Standard "
    "Webhooks) or on their agency's NATS feed. The AsyncAPI 3.0 document of both: [/asyncapi.json](/asyncapi.json); "
    "each event's JSON Schema is at its `dataschema` URL, /v1/schemas/events/{service}/{type}/v{n}.json."
)


def with_webhooks(document: dict[str, Any]) -> dict[str, Any]:
    """One `webhooks` entry per event type, and a link to /asyncapi.json in the description."""
    webhooks, schemas = openapi_webhooks()
    for _, _, operation in _operations(webhooks):
        if "operationId" in operation:  # webhook_referral_DiversionOffered_v1 → webhookReferralDiversionOfferedV1
            first, *rest = operation["operationId"].split("_")
            operation["operationId"] = first + "".join(w[:1].upper() + w[1:] for w in rest)
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in schemas.items():
        components.setdefault(name, definition)
    info = document.setdefault("info", {})
    info["description"] = info.get("description", "") + EVENTS_NOTE
    return {**document, "webhooks": webhooks}
