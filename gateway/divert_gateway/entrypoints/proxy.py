"""Forward /v1/... to the owning service; each service verifies the caller's token itself."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request, Response
from opentelemetry.trace import SpanKind

from divert_gateway.domain.routes import owner_of
from divert_kernel import telemetry
from divert_kernel.errors import DivertError, NotFound, Unavailable

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


@router.api_route("/v1/{path:path}", methods=METHODS, include_in_schema=False)
async def forward(path: str, request: Request) -> Response:
    service = owner_of(request.url.path)
    if service is None:
        raise NotFound("no such resource", field="path")
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
