"""RFC 9457 problem+json responses and the one place errors become HTTP statuses."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from divert_kernel import errors

log = logging.getLogger("divert.problems")

PROBLEM_JSON = "application/problem+json"

STATUS_BY_ERROR: list[tuple[type[errors.DivertError], int]] = [
    (errors.NotFound, 404),
    (errors.ConcurrencyError, 409),
    (errors.Conflict, 409),
    (errors.RuleViolated, 422),
    (errors.InvalidInput, 422),
    (errors.Forbidden, 403),
    (errors.Unauthenticated, 401),
    (errors.Unavailable, 503),
    (errors.DivertError, 400),
]


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": 'Bearer realm="divert"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def status_of(error: errors.DivertError) -> int:
    return next(status for cls, status in STATUS_BY_ERROR if isinstance(error, cls))


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "body")


def _invalid_params(exc: RequestValidationError) -> list[dict[str, str]]:
    # The offending input value is deliberately left out: it may be personal data.
    return [
        {
            "name": "body" if e.get("type") == "json_invalid" else _field_path(tuple(e.get("loc", ()))),
            "reason": e.get("msg", "invalid"),
        }
        for e in exc.errors()
    ]


def install(app: FastAPI) -> None:
    """Map every error to problem+json; nothing becomes a bare 500."""

    @app.exception_handler(errors.DivertError)
    async def _divert(_: Request, exc: errors.DivertError) -> JSONResponse:
        return problem(status_of(exc), exc.title, exc.detail, field=exc.field)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        params = _invalid_params(exc)
        first = params[0]["name"] if params else None
        detail = "; ".join(f"{p['name']}: {p['reason']}" for p in params) or "invalid request"
        return problem(422, "Invalid request", detail, field=first, invalid_params=params)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, "Request refused", str(exc.detail))

    async def _storage(request: Request, exc: Exception) -> JSONResponse:
        if _is_database_unavailable(exc):
            # Nothing was committed; the pool has dropped the dead connection, so a retry will reconnect.
            log.warning("database_unavailable", extra={"method": request.method, "error": type(exc).__name__})
            return problem(503, "Unavailable", "the service's database is unavailable; retry shortly")
        return await _unexpected(request, exc)

    for storage_error in (sa_exc.DBAPIError, sa_exc.TimeoutError, OSError):
        app.add_exception_handler(storage_error, _storage)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The stack but not the message: a database error's message can quote the values it choked on.
        route = getattr(request.scope.get("route"), "path", "?")
        stack = "".join(traceback.format_tb(exc.__traceback__))
        log.error(
            "unexpected_error",
            extra={"error": type(exc).__name__, "method": request.method, "route": route, "stack": stack},
        )
        return problem(500, "Internal error", "An unexpected error occurred; it has been logged.")


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": title, "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for status, title in [
        (400, "Bad request"),
        (401, "Missing or invalid token"),
        (403, "Not permitted"),
        (404, "Not found"),
        (409, "Conflict with current state"),
        (413, "Body too large"),
        (422, "Invalid input or rule violated"),
        (503, "A dependency is unavailable; nothing was served"),
    ]
}


def _is_database_unavailable(exc: Exception) -> bool:
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, (sa_exc.TimeoutError, ConnectionError, OSError, sa_exc.InterfaceError))
