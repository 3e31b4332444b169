"""What the rate limiter reads of a token request before the token endpoint does: its client id and whether a
parameter is repeated. Both read the same form the same way, so the limiter counts the client the endpoint
authenticates (RFC 6749 §3.1: request parameters MUST NOT be included more than once)."""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote

from starlette.types import Message, Receive

PARAMETERS = ("grant_type", "client_id", "client_secret", "scope")
_CLIENT_ID = re.compile(r"^[\x21-\x7e]{1,200}$")


def repeated(names: Iterable[str]) -> str | None:
    """The first token parameter given more than once, if any."""
    counts = Counter(names)
    return next((name for name in PARAMETERS if counts[name] > 1), None)


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return []


def client_id(headers: dict[bytes, bytes], pairs: list[tuple[str, str]]) -> str | None:
    """The client id a token request names (form or HTTP Basic), whatever its secret."""
    named = next((value for name, value in pairs if name == "client_id"), None)
    if named:
        return _as_key(named)
    scheme, _, encoded = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return _as_key(unquote(decoded.partition(":")[0]))


def _as_key(client_id: str) -> str | None:
    """A client id fit to key a count by (the token endpoint itself refuses the others)."""
    return client_id if _CLIENT_ID.match(client_id) else None


async def read_body(receive: Receive) -> bytes:
    # Bounded: BodySizeLimit, outside this middleware, refuses what is too large before it gets here.
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """The body read once, then the connection's own messages (a real disconnect, when it comes)."""
    sent = False

    async def replaying() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replaying
