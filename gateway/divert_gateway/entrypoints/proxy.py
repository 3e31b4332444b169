"""Forward /v1/... to the owning service; each service verifies the caller's token itself.

POSTs carrying an `Idempotency-Key` are forwarded with it: the owning service records the key in the same
transaction as the effect and answers a retry with the recorded response (divert_kernel.idempotency). Here the
key only keeps two attempts from running at once: the second gets 409 with Retry-After while the first is in
flight.
"""

from __future__ import annotations

import contextlib
import re

import aiohttp
from fastapi import APIRouter, Request, Response
from opentelemetry.trace import SpanKind

from divert_gateway.adapters import idempotency
from divert_gateway.adapters.upstreams import Replicas
from divert_gateway.domain.routes import owner_of
from divert_gateway.entrypoints.callers import bearer, verified_claims
from divert_kernel import problems, telemetry
from divert_kernel.errors import DivertError, InvalidInput, NotFound, Unavailable

router = APIRouter()

FORWARDED_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "Accept",
    "Idempotency-Key",
    "Divert-Acting-Person",
    "Divert-Correlation-Id",
)
FORWARDED_RESPONSE_HEADERS = (
    "content-type",
    "location",
    "www-authenticate",
    "retry-after",
    "link",
    "etag",
    "idempotent-replayed",
)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_VISIBLE_ASCII = re.compile(r"^[\x20-\x7e\t]*$")
RETRY_AFTER_SECONDS = 1


@router.api_route("/v1/{path:path}", methods=METHODS, include_in_schema=False)
async def forward(path: str, request: Request) -> Response:
    service = owner_of(request.url.path)
    if service is None:
        raise NotFound("no such resource", field="path")
    headers = _forwarded_headers(request)
    key = headers.get("idempotency-key")
    client_id = client_of(request) if key is not None and request.method == "POST" else None
    if client_id is None or key is None:
        return await _send(request, service, headers)
    if not _KEY.match(key):
        raise InvalidInput("Idempotency-Key is 1 to 255 visible ASCII characters", field="Idempotency-Key")
    engine = request.app.state.engine
    stale_after = request.app.state.settings.upstream_timeout_seconds + 5
    if not await idempotency.claim(engine, client_id, key, stale_after):
        return _in_flight()
    try:
        return await _send(request, service, headers)
    finally:
        # Whatever the outcome: the service decides whether the key was used; a failed release goes stale.
        with contextlib.suppress(Exception):
            await idempotency.release(engine, client_id, key)


def _forwarded_headers(request: Request) -> dict[str, str]:
    """The headers passed on, each visible ASCII (HTTP field values are bytes; ours are plain text)."""
    headers = {}
    for name in FORWARDED_REQUEST_HEADERS:
        value = request.headers.get(name)
        if value is None:
            continue
        if not _VISIBLE_ASCII.match(value):
            raise InvalidInput(f"the {name} header must be visible ASCII characters", field=name)
        headers[name.lower()] = value
    return headers


def _in_flight() -> Response:
    reply = problems.problem(
        409,
        "Conflict",
        "a request with this Idempotency-Key is still being processed; retry shortly",
        field="Idempotency-Key",
    )
    reply.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return reply


_CHECKED = "divert_client_id"


def client_of(request: Request) -> str | None:
    """The client a valid token of ours names; None lets the owning service refuse the request itself.

    Verified once per request (the rate limiter asks first), remembered in the request's state."""
    state = request.scope.setdefault("state", {})
    if _CHECKED not in state:
        state[_CHECKED] = _verified_client(request)
    return state[_CHECKED]  # type: ignore[no-any-return]


def _verified_client(request: Request) -> str | None:
    token = bearer(request)
    claims = verified_claims(request, token) if token else None
    client = claims and (claims.get("client_id") or claims.get("sub"))
    return str(client) if client else None


async def _send(request: Request, service: str, headers: dict[str, str]) -> Response:
    upstream: Replicas = request.app.state.upstreams[service]  # each request to the next replica in turn
    with telemetry.span_from(None, f"proxy {service}", SpanKind.CLIENT, **{"divert.upstream": service}):
        telemetry.inject_headers(headers)
        try:
            reply = await upstream.forward(request.method, _raw_target(request), await request.body(), headers)
        except ValueError:  # yarl refusing the target (aiohttp.InvalidURL is one)
            raise DivertError("the request path is not a valid URL path", field="path") from None
        except TimeoutError:  # aiohttp's connect and read timeouts are TimeoutErrors too
            raise Unavailable(f"the {service} service did not answer in time") from None
        except aiohttp.ClientError:
            raise Unavailable(f"the {service} service is unavailable; try again shortly") from None
    return Response(
        content=reply.body,
        status_code=reply.status,
        headers={name: value for name in FORWARDED_RESPONSE_HEADERS if (value := reply.headers.get(name)) is not None},
    )


def _raw_target(request: Request) -> str:
    """Path and query exactly as the caller encoded them: decoding first would corrupt ids like %2F or %00."""
    path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path
