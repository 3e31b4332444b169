"""Refuse text PostgreSQL cannot store (NUL, lone surrogates) before anything reads it, naming the field.

One request-level check shared by every service instead of a validator on each string field: PostgreSQL rejects
such text with an error (and logs the statement's parameters), which would be a 500 and a leak of the value.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from divert_kernel.problems import PROBLEM_JSON

REASON = "must not contain NUL or unpaired surrogate characters"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Only bodies with a raw NUL or a \u escape can decode to unstorable text; the rest pass unparsed.
_MAY_HOLD = re.compile(rb"\x00|\\u", re.IGNORECASE)


def unstorable(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def first_bad_field(value: Any, path: tuple[str, ...] = ()) -> str | None:
    """The dotted path of the first string (or object key) holding unstorable text, if any."""
    if isinstance(value, str):
        return (".".join(path) or "body") if unstorable(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if unstorable(key):
                return ".".join(path) or "body"
            found = first_bad_field(item, (*path, key))
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = first_bad_field(item, (*path, str(index)))
            if found:
                return found
    return None


def bad_query_param(query_string: bytes) -> str | None:
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if unstorable(name) or unstorable(value):
            return "query" if unstorable(name) else name
    return None


def refusal(field: str) -> tuple[dict[str, Any], bytes]:
    body = {
        "type": "about:blank",
        "title": "Invalid request",
        "status": 422,
        "detail": f"{field}: {REASON}",
        "field": field,
        "invalid_params": [{"name": field, "reason": REASON}],
    }
    payload = json.dumps(body).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(payload)).encode())]
    return {"type": "http.response.start", "status": 422, "headers": headers}, payload


class TextGuard:
    """422 problem+json for unstorable text in the path, the query or a JSON body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        field = "path" if unstorable(scope.get("path", "")) else bad_query_param(scope.get("query_string", b""))
        if field is None and scope["method"] in ("POST", "PUT", "PATCH"):
            body, receive = await buffered_body(receive)
            field = _bad_body_field(body)
        if field is None:
            await self.app(scope, receive, send)
            return
        start, payload = refusal(field)
        await send(start)
        await send({"type": "http.response.body", "body": payload})


def _bad_body_field(body: bytes) -> str | None:
    if not _MAY_HOLD.search(body):
        return None
    try:
        return first_bad_field(json.loads(body))
    except (ValueError, RecursionError):
        return None  # not JSON: the route's own parsing refuses it


async def buffered_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a receive that hands it on as one message."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", receive
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
