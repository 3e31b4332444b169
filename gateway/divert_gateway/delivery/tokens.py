"""Service credentials of the delivery component: the gateway is the token issuer, so it mints, per decision batch,
a one-minute token for exactly one (jurisdiction, agency, agency type), client `divert-delivery`, no scopes.
The consent service then records each decision as that agency's read, like any other."""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import uuid4

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "divert-delivery"
TTL_SECONDS = 60


def minter(key: RSAKey | Callable[[], RSAKey], issuer: str, audience: str):  # type: ignore[no-untyped-def]
    """`key` may be the key ring's current key, so tokens follow a rotation."""

    def mint(jurisdiction: str, agency: str, agency_type: str) -> str:
        signing = key() if callable(key) else key
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience,
            "sub": CLIENT_ID,
            "client_id": CLIENT_ID,
            "iat": now,
            "exp": now + TTL_SECONDS,
            "jti": uuid4().hex,
            "scope": "",
            "agency": agency,
            "agency_type": agency_type,
            "jurisdictions": [jurisdiction],
        }
        return jwt.encode({"alg": "RS256", "kid": signing.kid, "typ": "at+jwt"}, claims, signing)

    return mint
