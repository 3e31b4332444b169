"""Which signing key signs, which are published, which have retired: a pure function of the stored keys.

A key is published (in the JWKS) from the moment it is stored, signs from its `active_from`, and is superseded
when a newer key becomes active. It retires once no token it signed can still be valid: superseded for longer
than the token lifetime plus the verifiers' leeway. Every gateway replica computes the same answer from the same
rows, so none needs to coordinate with another.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

# Verifiers accept a token up to 5 s past `exp`; a few seconds more cover clock skew between hosts.
VERIFIER_LEEWAY = timedelta(seconds=10)


@dataclass(frozen=True)
class StoredKey:
    kid: str
    private_jwk: dict[str, Any]
    active_from: datetime


@dataclass(frozen=True)
class Schedule:
    signing: StoredKey
    published: tuple[StoredKey, ...]
    retired: tuple[str, ...]


def schedule(keys: list[StoredKey], now: datetime, token_lifetime: timedelta) -> Schedule:
    """The key that signs now, the keys verifiers must hold, and the kids that may be deleted."""
    if not keys:
        raise ValueError("no signing key is stored")
    ordered = sorted(keys, key=lambda k: (k.active_from, k.kid))
    active = [k for k in ordered if k.active_from <= now]
    signing = active[-1] if active else ordered[0]  # only future keys (a skewed clock): sign with the earliest
    retired = []
    for older, newer in pairwise(active):
        if newer.active_from + token_lifetime + VERIFIER_LEEWAY < now:
            retired.append(older.kid)
    published = tuple(k for k in ordered if k.kid not in retired)
    return Schedule(signing=signing, published=published, retired=tuple(retired))


def revocation_handle(private_jwk: dict[str, Any], client_id: str) -> str:
    """What a token carries (`rvk`) and /oauth/revocations publishes for a disabled client, instead of its id.

    An HMAC of the client id keyed by the signing key's private exponent: only the gateway can compute it, so the
    public list tells no outsider who was disabled, and a service matches it against the token in hand without a
    secret of its own. Keyed per signing key: the list carries a handle for each key still published, which is
    every key that signed a token still valid."""
    secret = hashlib.sha256(str(private_jwk["d"]).encode()).digest()
    return hmac.new(secret, client_id.encode(), hashlib.sha256).hexdigest()[:32]
