"""`Idempotency-Key` on the gateway's own POSTs, with the proxied routes' contract (DESIGN §7).

A route class: a keyed POST runs inside one transaction that claims the key, holds the command's effect
(adapters/tx.py) and records the answer; a retry with the same key and request gets that answer again
(`Idempotent-Replayed: true`) and acts no more; the same key with another request is refused with 422 naming
`Idempotency-Key`. An error answer (raised, so rolled back) records nothing: the key stays free.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from divert_gateway.adapters import answers, tx
from divert_gateway.entrypoints.callers import caller
from divert_kernel.errors import InvalidInput

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


_DECLARED = {
    "name": answers.HEADER,
    "in": "header",
    "required": False,
    "description": "A retry with the same key and request gets the first answer again and acts no more.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": _KEY.pattern},
}


class KeyedRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if "POST" in {m.upper() for m in kwargs.get("methods") or ()}:
            extra = dict(kwargs.get("openapi_extra") or {})
            extra["parameters"] = [*extra.get("parameters", []), _DECLARED]  # honoured: declared in OpenAPI
            kwargs["openapi_extra"] = extra
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def keyed(request: Request) -> Response:
            key = request.headers.get(answers.HEADER)
            if request.method != "POST" or key is None:
                return await handler(request)
            if not _KEY.match(key):
                raise InvalidInput(f"{answers.HEADER} is 1 to 255 visible ASCII characters", field=answers.HEADER)
            client_id = (await caller(request)).client_id
            sha = _fingerprint(request, await request.body())
            async with tx.command(request.app.state.engine) as conn:
                found = await answers.claim(conn, client_id, key, sha)
                if found is not None:
                    return _replayed(found)
                response = await handler(request)
                if response.status_code < 500:
                    answer = answers.Answer(response.status_code, bytes(response.body), response.media_type)
                    await answers.record(conn, client_id, key, answer)
                    await conn.commit()
                return response

        return keyed


def _fingerprint(request: Request, body: bytes) -> str:
    target = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    return hashlib.sha256(b"POST " + target + (b"?" + query if query else b"") + b"\n" + body).hexdigest()


def _replayed(found: answers.Answer) -> Response:
    return Response(
        content=found.body,
        status_code=found.status,
        media_type=found.content_type,
        headers={"Idempotent-Replayed": "true"},
    )
