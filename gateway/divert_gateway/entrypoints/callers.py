"""The verified caller of a gateway-served route (the gateway holds the keys it signs with)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from joserfc import jwt
from joserfc.errors import JoseError

from divert_kernel.auth import Principal, is_revoked, principal_from_claims
from divert_kernel.errors import Unauthenticated


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def verified_claims(request: Request, token: str) -> dict[str, Any] | None:
    """The claims of an access token this gateway signed, still valid; None for any other token."""
    settings = request.app.state.settings
    try:
        decoded = jwt.decode(token, request.app.state.public_keys, algorithms=["RS256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": settings.issuer},
            aud={"essential": True, "value": settings.audience},
            exp={"essential": True},
            leeway=5,
        ).validate(decoded.claims)
    except (JoseError, ValueError):
        return None
    return dict(decoded.claims)


async def caller(request: Request) -> Principal:
    token = bearer(request)
    if token is None:
        raise Unauthenticated("a bearer access token is required")
    claims = verified_claims(request, token)
    if claims is None:
        raise Unauthenticated("the access token is invalid or expired")
    if is_revoked(claims, request.app.state.revoked):
        raise Unauthenticated("the access token has been revoked")
    return principal_from_claims(claims, token, None)


Caller = Annotated[Principal, Depends(caller)]
