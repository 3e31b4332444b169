"""The gateway's Idempotency-Key claims: they only serialise concurrent attempts with one (client, key).

Deduplication itself is each service's (divert_kernel.idempotency): it records the key in the same transaction
as the effect, so a retry forwarded after a timeout, or after this gateway died, acts at most once. Here a claim
lives only while one attempt is in flight; a claim left by a gateway that died is taken over once it is older
than the upstream timeout.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

_CLAIM = sa.text(
    "INSERT INTO idempotency_keys (client_id, key, request_sha256, state) "
    "VALUES (:client_id, :key, '', 'in_progress') "
    "ON CONFLICT (client_id, key) DO UPDATE SET created_at = now(), state = 'in_progress' "
    "WHERE idempotency_keys.created_at < now() - make_interval(secs => :stale_after) "
    "RETURNING 1"
)
_RELEASE = sa.text("DELETE FROM idempotency_keys WHERE client_id = :client_id AND key = :key")


async def claim(engine: AsyncEngine, client_id: str, key: str, stale_after: float) -> bool:
    """True if this attempt may go ahead; False while another attempt with the key is in flight."""
    params = {"client_id": client_id, "key": key, "stale_after": stale_after}
    async with engine.begin() as conn:
        return (await conn.execute(_CLAIM, params)).first() is not None


async def release(engine: AsyncEngine, client_id: str, key: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(_RELEASE, {"client_id": client_id, "key": key})
