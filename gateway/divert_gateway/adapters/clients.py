"""Registered clients in the gateway's own database."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from divert_gateway.domain.clients import RegisteredClient, hash_secret

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
            await conn.execute(
                _UPSERT,
                {
                    "client_id": c["client_id"],
                    "secret_sha256": hash_secret(c["client_secret"]),
                    "agency_id": c["agency_id"],
                    "agency_type": c["agency_type"],
                    "jurisdictions": list(c["jurisdictions"]),
                    "scopes": list(c.get("scopes", [])),
                },
            )


def read_clients_file(path: Path) -> list[dict]:  # type: ignore[type-arg]
    data = json.loads(path.read_text())
    return list(data["clients"] if isinstance(data, dict) else data)
