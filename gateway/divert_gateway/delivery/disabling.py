"""Disabling a webhook endpoint that answered `410 Gone` or failed for five days, and saying so.

The disable and its WebhookEndpointDisabled event commit in one transaction: the event goes into the gateway's
event store and outbox (the kernel's tables, migration 0003), the relay publishes it on `lead.<j>.gateway.…`, and
the delivery component hands it to the endpoint's own agency like any event about its own records (its NATS feed,
and its other endpoints subscribed to the type). Only the attempt that finds the endpoint still enabled disables
it (the row lock orders concurrent attempts), so one disable publishes exactly one event.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from divert_contracts.gateway import WebhookEndpointDisabled
from divert_gateway.delivery.tokens import CLIENT_ID
from divert_kernel import eventstore
from divert_kernel.context import Actor, Causation

STREAM_PREFIX = "WebhookEndpoint"
_DISABLE = sa.text(
    "UPDATE webhook_endpoints SET enabled = false, disabled_reason = :reason, updated_at = :now "
    "WHERE endpoint_id = CAST(:endpoint_id AS uuid) AND enabled RETURNING agency"
)
_VERSION = sa.text("SELECT coalesce(max(version), 0) FROM events WHERE stream_id = :stream_id")
_ACTOR = Actor(client_id=CLIENT_ID, agency="divert", agency_type="system")


async def disable(conn: AsyncConnection, endpoint_id: str, jurisdiction: str, reason: str, now: datetime) -> bool:
    """Disable the endpoint if it is still enabled and record the event; False if it was already disabled."""
    agency = (await conn.execute(_DISABLE, {"endpoint_id": endpoint_id, "reason": reason, "now": now})).scalar()
    if agency is None:
        return False
    stream_id = f"{STREAM_PREFIX}-{endpoint_id}"
    version = int((await conn.execute(_VERSION, {"stream_id": stream_id})).scalar() or 0)
    event = WebhookEndpointDisabled(
        endpoint_id=endpoint_id, jurisdiction=jurisdiction, agency=agency, reason=reason, disabled_at=now
    )
    await eventstore.append(
        conn,
        stream_id=stream_id,
        jurisdiction=jurisdiction,
        expected_version=version,
        events=[event],
        causation=Causation(actor=_ACTOR),
        traceparent=None,
    )
    return True
