"""Registered clients in the gateway's own database, and the operator's changes to them (`divert clients`)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from divert_gateway.domain.clients import ClientRecord, RegisteredClient, hash_secret

_GET = sa.text(
    "SELECT client_id, secret_sha256, agency_id, agency_type, jurisdictions, scopes "
    "FROM oauth_clients WHERE client_id = :client_id AND NOT disabled"
)
_UPSERT = sa.text(
    """
    INSERT INTO oauth_clients (client_id, secret_sha256, agency_id, agency_type, jurisdictions, scopes)
    VALUES (:client_id, :secret_sha256, :agency_id, :agency_type, :jurisdictions, :scopes)
    ON CONFLICT (client_id) DO UPDATE SET
        secret_sha256 = EXCLUDED.secret_sha256, agency_id = EXCLUDED.agency_id,
        agency_type = EXCLUDED.agency_type, jurisdictions = EXCLUDED.jurisdictions, scopes = EXCLUDED.scopes
    """
)
_INSERT = sa.text(
    "INSERT INTO oauth_clients (client_id, secret_sha256, agency_id, agency_type, jurisdictions, scopes) "
    "VALUES (:client_id, :secret_sha256, :agency_id, :agency_type, :jurisdictions, :scopes) "
    "ON CONFLICT (client_id) DO NOTHING"
)
_LIST = sa.text(
    "SELECT client_id, agency_id, agency_type, jurisdictions, scopes, disabled, created_at "
    "FROM oauth_clients ORDER BY created_at, client_id"
)
# Disabling also bounds the client's tokens: every one issued so far is refused, wherever it is verified.
_DISABLE = sa.text("UPDATE oauth_clients SET disabled = true, tokens_not_before = now() WHERE client_id = :client_id")
_SET_SECRET = sa.text(
    "UPDATE oauth_clients SET secret_sha256 = :secret_sha256, "
    "tokens_not_before = CASE WHEN :revoke THEN now() ELSE tokens_not_before END "
    "WHERE client_id = :client_id AND NOT disabled"
)
# Only bounds recent enough to matter: a token older than the horizon has expired anyway.
_REVOKED = sa.text(
    "SELECT client_id, tokens_not_before FROM oauth_clients "
    "WHERE tokens_not_before > now() - make_interval(secs => :horizon)"
)


async def find(engine: AsyncEngine, client_id: str) -> RegisteredClient | None:
    async with engine.connect() as conn:
        row = (await conn.execute(_GET, {"client_id": client_id})).mappings().first()
    if row is None:
        return None
    return RegisteredClient(
        client_id=row["client_id"],
        secret_sha256=row["secret_sha256"],
        agency_id=row["agency_id"],
        agency_type=row["agency_type"],
        jurisdictions=tuple(row["jurisdictions"]),
        scopes=tuple(row["scopes"]),
    )


async def register(engine: AsyncEngine, clients: list[dict]) -> None:  # type: ignore[type-arg]
    """Insert or update clients given with plaintext secrets; only the hash is stored."""
    async with engine.begin() as conn:
        for c in clients:
            await conn.execute(_UPSERT, _params(c))


async def add(engine: AsyncEngine, client: dict[str, Any]) -> bool:
    """A new client (its plaintext secret given, only the hash stored); False if the id is taken."""
    async with engine.begin() as conn:
        return bool((await conn.execute(_INSERT, _params(client))).rowcount)


def _params(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "client_id": c["client_id"],
        "secret_sha256": hash_secret(c["client_secret"]),
        "agency_id": c["agency_id"],
        "agency_type": c["agency_type"],
        "jurisdictions": list(c["jurisdictions"]),
        "scopes": list(c.get("scopes", [])),
    }


async def every(engine: AsyncEngine) -> list[ClientRecord]:
    async with engine.connect() as conn:
        rows = (await conn.execute(_LIST)).mappings().all()
    return [
        ClientRecord(
            client_id=r["client_id"],
            agency_id=r["agency_id"],
            agency_type=r["agency_type"],
            jurisdictions=tuple(r["jurisdictions"]),
            scopes=tuple(r["scopes"]),
            disabled=r["disabled"],
            created_at=r["created_at"],
        )
        for r in rows
    ]


async def disable(engine: AsyncEngine, client_id: str) -> bool:
    async with engine.begin() as conn:
        return bool((await conn.execute(_DISABLE, {"client_id": client_id})).rowcount)


async def set_secret(engine: AsyncEngine, client_id: str, secret: str, *, revoke_tokens: bool) -> bool:
    """Replace an enabled client's secret (the old one stops working at once); optionally revoke its tokens."""
    params = {"client_id": client_id, "secret_sha256": hash_secret(secret), "revoke": revoke_tokens}
    async with engine.begin() as conn:
        return bool((await conn.execute(_SET_SECRET, params)).rowcount)


async def revoked(engine: AsyncEngine, horizon_seconds: float) -> dict[str, int]:
    """Client id -> the `iat` at or below which its tokens are refused (whole seconds, as `iat` is)."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_REVOKED, {"horizon": horizon_seconds})).all()
    return {client_id: _whole_seconds(bound) for client_id, bound in rows}


def _whole_seconds(at: datetime) -> int:
    # `iat` is truncated to the second: a token issued earlier in the same second has the same `iat`.
    return int(at.timestamp())


def read_clients_file(path: Path) -> list[dict]:  # type: ignore[type-arg]
    data = json.loads(path.read_text())
    return list(data["clients"] if isinstance(data, dict) else data)
