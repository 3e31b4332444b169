"""Signing keys and access tokens shaped exactly like the gateway's, for tests and tools."""

from __future__ import annotations

import json
import time
from pathlib import Path
from uuid import uuid4

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

ISSUER = "http://127.0.0.1:8000"
AUDIENCE = "divert-api"


def new_signing_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": uuid4().hex[:16], "use": "sig", "alg": "RS256"})


def write_jwks(key: RSAKey, path: Path) -> None:
    path.write_text(json.dumps(KeySet([key]).as_dict(private=False)))


def mint(
    key: RSAKey,
    *,
    agency: str,
    agency_type: str,
    jurisdictions: list[str],
    scope: str = "",
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
    ttl: int = 600,
) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": f"{agency}-client",
        "client_id": f"{agency}-client",
        "agency": agency,
        "agency_type": agency_type,
        "jurisdictions": jurisdictions,
        "scope": scope,
        "iat": now,
        "exp": now + ttl,
        "jti": uuid4().hex,
    }
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
