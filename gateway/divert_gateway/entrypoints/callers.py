"""The verified caller of a gateway-served route (the gateway holds the keys it signs with)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from joserfc import jwt
from joserfc.errors import JoseError

from divert_kernel.auth import Principal, is_revoked, principal_from_claims
from divert_kernel.errors import Unauthenticated


async def caller(request: Request) -> Principal:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("a bearer access token is required")
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
        raise Unauthenticated("the access token is invalid or expired") from None
    if is_revoked(decoded.claims, request.app.state.revoked):
        raise Unauthenticated("the access token has been revoked")
    return principal_from_claims(decoded.claims, token.strip(), None)


Caller = Annotated[Principal, Depends(caller)]
