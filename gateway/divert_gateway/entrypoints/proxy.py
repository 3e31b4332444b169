"""Forward /v1/... to the owning service; each service verifies the caller's token itself.

POSTs carrying an `Idempotency-Key` are answered once per (client, key): a retry with the same request gets the
recorded response again (marked `Idempotent-Replayed: true`), never a second effect.
"""

from __future__ import annotations

import hashlib
import re

import httpx
from fastapi import APIRouter, Request, Response
from joserfc import jwt
from joserfc.errors import JoseError
from opentelemetry.trace import SpanKind

from divert_gateway.adapters import idempotency
from divert_gateway.domain.routes import owner_of
from divert_kernel import telemetry
from divert_kernel.errors import Conflict, DivertError, InvalidInput, NotFound, Unavailable

router = APIRouter()

FORWARDED_REQUEST_HEADERS = (
    "authorization",
    "content-type",
    "accept",
    "idempotency-key",
    "divert-acting-person",
    "divert-correlation-id",
)
FORWARDED_RESPONSE_HEADERS = ("content-type", "location", "www-authenticate", "retry-after", "link", "etag")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class KeyInProgress(Conflict):
    pass


@router.api_route("/v1/{path:path}", methods=METHODS, include_in_schema=False)
async def forward(path: str, request: Request) -> Response:
    service = owner_of(request.url.path)
    if service is None:
        raise NotFound("no such resource", field="path")
    key = request.headers.get("idempotency-key")
    client_id = _client_of(request) if key is not None and request.method == "POST" else None
    if client_id is None or key is None:
        return await _send(request, service)
    if not _KEY.match(key):
        raise InvalidInput("Idempotency-Key is 1 to 255 visible ASCII characters", field="Idempotency-Key")
    body = await request.body()
    digest = hashlib.sha256(request.method.encode() + b" " + _raw_target(request).encode() + b"\n" + body).hexdigest()
    recorded = await idempotency.claim(request.app.state.engine, client_id, key, digest)
    if recorded is not None:
        return _replay(recorded, digest)
    try:
        reply = await _send(request, service)
    except Exception:
        await idempotency.release(request.app.state.engine, client_id, key)
        raise
    if reply.status_code >= 500:
        await idempotency.release(request.app.state.engine, client_id, key)  # nothing done: a retry may run again
    else:
        await idempotency.complete(
            request.app.state.engine,
            client_id,
            key,
            reply.status_code,
            bytes(reply.body),
            reply.headers.get("content-type"),
            reply.headers.get("location"),
        )
    return reply


def _replay(recorded: idempotency.Recorded, digest: str) -> Response:
    if recorded.request_sha256 != digest:
        raise InvalidInput("this Idempotency-Key was used for a different request", field="Idempotency-Key")
    if recorded.state != "done" or recorded.status is None:
        raise KeyInProgress(
            "a request with this Idempotency-Key is still being processed; retry shortly", field="Idempotency-Key"
        )
    headers = {"Idempotent-Replayed": "true"}
    if recorded.content_type:
        headers["content-type"] = recorded.content_type
    if recorded.location:
        headers["location"] = recorded.location
    return Response(content=recorded.body or b"", status_code=recorded.status, headers=headers)


def _client_of(request: Request) -> str | None:
    """The client a valid token of ours names; None lets the owning service refuse the request itself."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    settings = request.app.state.settings
    try:
        decoded = jwt.decode(token.strip(), request.app.state.public_keys, algorithms=["RS256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": settings.issuer},
            aud={"essential": True, "value": settings.audience},
            exp={"essential": True},
            leeway=5,
        ).validate(decoded.claims)
    except (JoseError, ValueError):
        return None
    client = decoded.claims.get("client_id") or decoded.claims.get("sub")
    return str(client) if client else None


async def _send(request: Request, service: str) -> Response:
    upstream: httpx.AsyncClient = request.app.state.upstreams[service]
    headers = {name: value for name in FORWARDED_REQUEST_HEADERS if (value := request.headers.get(name)) is not None}
    with telemetry.span_from(None, f"proxy {service}", SpanKind.CLIENT, **{"divert.upstream": service}):
        telemetry.inject_headers(headers)
        try:
            reply = await upstream.request(
                request.method, _raw_target(request), content=await request.body(), headers=headers
            )
        except httpx.InvalidURL:
            raise DivertError("the request path is not a valid URL path", field="path") from None
        except httpx.TimeoutException:
            raise Unavailable(f"the {service} service did not answer in time") from None
        except httpx.TransportError:
            raise Unavailable(f"the {service} service is unavailable; try again shortly") from None
    return Response(
        content=reply.content,
        status_code=reply.status_code,
        headers={name: value for name in FORWARDED_RESPONSE_HEADERS if (value := reply.headers.get(name)) is not None},
    )


def _raw_target(request: Request) -> str:
    """Path and query exactly as the caller encoded them: decoding first would corrupt ids like %2F or %00."""
    path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path
