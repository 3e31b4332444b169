"""The token signing keys, kept in the gateway's database so every replica signs with and publishes the same set.

`divert keys rotate` stores a new key; each replica reloads the set every second (`KeyRing.refresh`), publishes
every key not yet retired, signs with the newest active one, and deletes the private part of retired keys.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy.ext.asyncio import AsyncEngine

from divert_gateway.domain.keys import Schedule, StoredKey, revocation_handle, schedule

_LOAD = sa.text("SELECT kid, private_jwk, active_from FROM signing_keys")
# The database's clock, so every replica and the operator's tooling agree on when a key starts signing.
_INSERT = sa.text(
    "INSERT INTO signing_keys (kid, private_jwk, active_from) "
    "VALUES (:kid, CAST(:jwk AS jsonb), now() + make_interval(secs => :delay)) ON CONFLICT (kid) DO NOTHING"
)
_LIST = sa.text("SELECT kid, active_from, created_at, active_from <= now() AS active FROM signing_keys ORDER BY 2")
_PURGE = sa.text("DELETE FROM signing_keys WHERE kid = ANY(:kids)")


def generate() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": uuid4().hex[:16], "use": "sig", "alg": "RS256"})


async def store(engine: AsyncEngine, key: RSAKey, activate_after: float = 0) -> None:
    """Store a key: it is published at once and signs `activate_after` seconds from now."""
    async with engine.begin() as conn:
        params = {"kid": key.kid, "jwk": json.dumps(key.as_dict(private=True)), "delay": float(activate_after)}
        await conn.execute(_INSERT, params)


async def listing(engine: AsyncEngine) -> list[dict[str, Any]]:
    """Each stored key's id and times, never its private part."""
    async with engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(_LIST)).mappings().all()]


async def load(engine: AsyncEngine) -> list[StoredKey]:
    async with engine.connect() as conn:
        rows = (await conn.execute(_LOAD)).mappings().all()
    return [StoredKey(r["kid"], dict(r["private_jwk"]), r["active_from"]) for r in rows]


async def ensure_one(engine: AsyncEngine, legacy_file: Path | None) -> None:
    """On the first start: the key of the older key file if there is one (its tokens stay valid), else a new one."""
    if await load(engine):
        return
    if legacy_file is not None and legacy_file.exists():
        key = RSAKey.import_key(json.loads(legacy_file.read_text()))
    else:
        key = generate()
    # Two replicas starting at once may each store one: both are published, the newer signs, the other retires.
    await store(engine, key)


def public_jwks(keys: tuple[StoredKey, ...]) -> dict[str, Any]:
    return KeySet([RSAKey.import_key(k.private_jwk) for k in keys]).as_dict(private=False)


class KeyRing:
    """This replica's view of the key set: the key that signs, the published JWKS, refreshed from the database."""

    def __init__(self, engine: AsyncEngine, token_lifetime: timedelta, now: Any) -> None:
        self._engine = engine
        self._lifetime = token_lifetime
        self._now = now
        self.signing_key: RSAKey | None = None
        self.jwks: dict[str, Any] = {"keys": []}
        self.public_keys = KeySet([])
        self.published: tuple[StoredKey, ...] = ()
        self._published: tuple[tuple[str, Any], ...] | None = None

    async def refresh(self) -> Schedule:
        plan = schedule(await load(self._engine), self._now(), self._lifetime)
        if self.signing_key is None or self.signing_key.kid != plan.signing.kid:
            self.signing_key = RSAKey.import_key(plan.signing.private_jwk)
        # Importing every RSA key each second was 16 % of a lightly loaded gateway's time (benchmarks/PROFILE.md):
        # the JWKS is rebuilt only when the published keys (ids and activation times) change.
        published = tuple((k.kid, k.active_from) for k in plan.published)
        self.published = plan.published
        if published != self._published:
            self.jwks = public_jwks(plan.published)
            self.public_keys = KeySet.import_key_set(self.jwks)
            self._published = published
        if plan.retired:
            async with self._engine.begin() as conn:
                await conn.execute(_PURGE, {"kids": list(plan.retired)})
        return plan

    def current(self) -> RSAKey:
        assert self.signing_key is not None, "KeyRing.refresh() runs before the first token is issued"
        return self.signing_key

    def revocation_handles(self, revoked: dict[str, int]) -> dict[str, int]:
        """The published revocation list: each revoked client's handle under every published key -> its bound."""
        return {
            revocation_handle(key.private_jwk, client_id): bound
            for client_id, bound in revoked.items()
            for key in self.published
        }

    @property
    def kids(self) -> list[str]:
        return [str(k["kid"]) for k in self.jwks["keys"]]
