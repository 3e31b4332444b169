"""The token endpoint, the published signing keys and the revoked clients, and the job that keeps them current.

Every gateway replica reloads the key set and the revoked clients from the gateway database every second
(`keep_current`), so `divert keys rotate` and `divert clients disable` reach every replica within seconds.
Services fetch `/oauth/revocations` at most once a second (divert_kernel.auth.Revocations): it lists the
clients whose tokens issued up to a moment are refused, and the published key ids, so a service fetches a
rotated key's JWKS before that key signs anything.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from typing import Any
from urllib.parse import unquote

from authlib.oauth2.rfc6749.errors import InsecureTransportError
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from divert_gateway.adapters import clients
from divert_gateway.domain.keys import VERIFIER_LEEWAY
from divert_gateway.entrypoints import token_form
from divert_gateway.service_layer import TokenRequest
from divert_kernel.text_guard import unstorable as unstorable_text

router = APIRouter(tags=["auth"])
log = logging.getLogger("divert.gateway.keys")
REFRESH_SECONDS = 1.0

TOKEN_FORM = {
    "application/x-www-form-urlencoded": {
        "schema": {
            "type": "object",
            "required": ["grant_type"],
            "properties": {
                "grant_type": {"type": "string", "enum": ["client_credentials"]},
                "client_id": {"type": "string"},
                "client_secret": {"type": "string"},
                "scope": {"type": "string"},
            },
        },
        "example": {
            "grant_type": "client_credentials",
            "client_id": "spd-rms",
            "client_secret": "the-secret-shown-once",
        },
    }
}


def _basic_client_id(authorization: str) -> str | None:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return unquote(decoded.partition(":")[0]) or None


def _printable(name: str) -> str:
    """A parameter name safe to echo: a known one as is, anything else not at all."""
    return name if name in TOKEN_FORM["application/x-www-form-urlencoded"]["schema"]["properties"] else "form"


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


@router.post(
    "/oauth/token",
    openapi_extra={"requestBody": {"required": True, "content": TOKEN_FORM}},
    responses={400: {"description": "RFC 6749 §5.2 error"}, 401: {"description": "client authentication failed"}},
)
async def issue_token(request: Request) -> JSONResponse:
    """Client-credentials grant: a short-lived signed JWT naming the client's agency, type and jurisdictions."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return _oauth_error(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
    try:
        items = (await request.form()).multi_items()
    except Exception:  # noqa: BLE001 - a malformed form body is the caller's error, never ours
        return _oauth_error(400, "invalid_request", "the form body could not be parsed")
    twice = token_form.repeated(name for name, _ in items)
    if twice is not None:  # RFC 6749 §3.1; the rate limiter refuses it first, by the same rule
        return _oauth_error(400, "invalid_request", f"the {twice} parameter is repeated")
    form = {k: v for k, v in items if isinstance(v, str)}
    unstorable = next((name for name, value in form.items() if unstorable_text(name) or unstorable_text(value)), None)
    if unstorable is not None:
        return _oauth_error(400, "invalid_request", f"the {_printable(unstorable)} parameter has invalid characters")
    client_id = form.get("client_id") or _basic_client_id(request.headers.get("authorization", ""))
    if client_id is not None and unstorable_text(client_id):
        return _oauth_error(400, "invalid_request", "the client_id has invalid characters")
    client = await clients.find(request.app.state.engine, client_id) if client_id and len(client_id) <= 200 else None
    # The endpoint as clients address it (TLS usually ends before the gateway): authlib refuses plain http there.
    public_uri = f"{request.app.state.settings.issuer}/oauth/token"
    try:
        token_request = TokenRequest(public_uri, request.headers, form)
    except InsecureTransportError:
        return _oauth_error(400, "invalid_request", "tokens are issued only over https (or on loopback)")
    return request.app.state.token_server.issue(client, token_request)  # type: ignore[no-any-return]


@router.get("/.well-known/jwks.json")
async def jwks(request: Request) -> dict[str, Any]:
    """The public keys access tokens are signed with."""
    return request.app.state.jwks  # type: ignore[no-any-return]


@router.get("/oauth/revocations")
async def revocations(request: Request) -> dict[str, Any]:
    """Revoked clients, each by its handle (a token's `rvk`), with the time (`iat`, seconds) at or before which
    its tokens are refused; the published key ids. Services fetch this about once a second."""
    return {
        "revoked": request.app.state.keyring.revocation_handles(request.app.state.revoked),
        "kids": request.app.state.keyring.kids,
        "refresh_seconds": REFRESH_SECONDS,
    }


async def refresh(app: Any) -> None:
    """Reload the key set and the revoked clients from the gateway database into this replica."""
    await app.state.keyring.refresh()
    app.state.jwks = app.state.keyring.jwks
    app.state.public_keys = app.state.keyring.public_keys
    horizon = app.state.settings.token_ttl_seconds + VERIFIER_LEEWAY.total_seconds()
    app.state.revoked = await clients.revoked(app.state.engine, horizon)


async def keep_current(app: Any) -> None:
    """For the app's life: refresh every second; a failed refresh keeps the last state and tries again."""
    while True:
        await asyncio.sleep(REFRESH_SECONDS)
        try:
            await refresh(app)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the database may come and go; never let the loop die
            log.warning("signing_keys_not_refreshed", extra={"error": type(exc).__name__})


@router.get("/.well-known/oauth-authorization-server")
async def metadata(request: Request) -> dict[str, Any]:
    """RFC 8414 authorization-server metadata."""
    issuer = request.app.state.settings.issuer
    return {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }
