"""From the bus to the delivery queue: learn the relations, then queue one message per subscribed, entitled endpoint.

The consent gate is asked later, at each attempt (dispatch.py), so a retry after a revocation is decided again.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from divert_contracts import entitlements
from divert_gateway.adapters import webhooks as store
from divert_kernel.clock import Clock
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.sites import Sites
from divert_kernel.uow import UnitOfWork

# Which event names which relation, and in which field.
_LEARNS: dict[str, tuple[str, str]] = {
    "DiversionOffered": ("referrer", "referring_agency"),
    "SocialContactReferralSubmitted": ("referrer", "referring_agency"),
    "ChargeHeld": ("charge_holder", "prosecutor_agency"),
    "WarmHandoffCompleted": ("handoff_provider", "case_management_agency"),
}
# An event about no participant (e.g. WebhookEndpointDisabled) goes to its owner only: nothing is decided for it.
NO_CATEGORY = "none"
_FEED = sa.text(
    "INSERT INTO feed_messages (jurisdiction, agency, agency_type, event_id, event_type, participant_id, category, "
    "reason, envelope, status, next_attempt_at) VALUES (:jurisdiction, :agency, :agency_type, CAST(:event_id AS uuid), "
    ":event_type, :participant_id, :category, :reason, CAST(:envelope AS jsonb), 'pending', :now) ON CONFLICT DO NOTHING"
)
_LEARN = sa.text(
    "INSERT INTO delivery_relations (jurisdiction, referral_id, relation, agency, participant_id) "
    "VALUES (:jurisdiction, :referral_id, :relation, :agency, :participant_id) ON CONFLICT DO NOTHING"
)


def _data(received: ReceivedEvent) -> dict[str, Any]:
    data = received.envelope.get("data")
    return data if isinstance(data, dict) else {}


def _referral_ids(data: dict[str, Any]) -> list[str]:
    ids = data.get("referral_ids")
    if isinstance(ids, list):
        return [str(i) for i in ids]
    return [str(data["referral_id"])] if data.get("referral_id") else []


async def learn(conn: AsyncConnection, received: ReceivedEvent) -> None:
    learned = _LEARNS.get(received.type)
    data = _data(received)
    if learned is None or not data.get("referral_id") or not data.get("participant_id"):
        return
    relation, field = learned
    agency = data.get(field)
    if not agency and received.type == "WarmHandoffCompleted" and received.actor.agency_type == "case_management":
        agency = received.actor.agency  # a single-provider site names no provider: the recorder is it
    if agency:
        await conn.execute(
            _LEARN,
            {
                "jurisdiction": received.jurisdiction,
                "referral_id": data["referral_id"],
                "relation": relation,
                "agency": agency,
                "participant_id": data["participant_id"],
            },
        )


async def related(conn: AsyncConnection, received: ReceivedEvent) -> dict[str, set[str]]:
    """Relation -> agencies, for the event's referrals (or, for a participant-level event, all of theirs)."""
    data = _data(received)
    referral_ids = _referral_ids(data)
    if referral_ids:
        where, params = "referral_id = ANY(:ids)", {"ids": referral_ids}
    elif data.get("participant_id"):
        where, params = "participant_id = :participant", {"participant": str(data["participant_id"])}
    else:
        return {}
    rows = await conn.execute(
        sa.text(f"SELECT relation, agency FROM delivery_relations WHERE jurisdiction = :j AND {where}"),
        {"j": received.jurisdiction, **params},
    )
    out: dict[str, set[str]] = {}
    for relation, agency in rows:
        out.setdefault(relation, set()).add(agency)
    return out


def handler(clock: Clock, sites: Sites | None = None):  # type: ignore[no-untyped-def]
    async def record(uow: UnitOfWork, received: ReceivedEvent) -> None:
        await queue(uow.conn, received, clock, sites)

    return record


async def queue(conn: AsyncConnection, received: ReceivedEvent, clock: Clock, sites: Sites | None = None) -> int:
    """Queue the event for every endpoint that subscribed to it and whose agency is entitled, and for the NATS
    feed of every entitled agency of the site directory; returns how many webhook messages."""
    found = entitlements.entitlement(received.service, received.type)
    if found is None:
        return 0
    await learn(conn, received)
    owner = entitlements.owner(received.service, received.type, received.envelope)
    receiving = entitlements.recipients(received.service, received.type, owner, await related(conn, received))
    category = found.category or NO_CATEGORY
    participant = _data(received).get("participant_id")
    site = sites.get(received.jurisdiction) if sites is not None else None
    if site is not None:
        types = {a.agency_id: a.agency_type for a in site.agencies}
        for agency, reason in receiving.items():
            if agency in types and (reason == "own" or participant):
                await conn.execute(
                    _FEED,
                    {
                        "jurisdiction": received.jurisdiction,
                        "agency": agency,
                        "agency_type": types[agency],
                        "event_id": received.id,
                        "event_type": received.type,
                        "participant_id": str(participant) if participant else None,
                        "category": category,
                        "reason": reason,
                        "envelope": json.dumps(received.envelope),
                        "now": clock.now(),
                    },
                )
    subscribed = await store.subscribers(conn, received.jurisdiction, received.type)
    queued = 0
    for endpoint in subscribed:
        reason = receiving.get(endpoint["agency"])
        if reason is None:
            continue
        if reason != "own" and not participant:
            continue  # another agency's record with no participant to decide for: never disclosed
        await store.enqueue(
            conn,
            {
                "endpoint_id": endpoint["endpoint_id"],
                "event_id": received.id,
                "event_type": received.type,
                "jurisdiction": received.jurisdiction,
                "participant_id": str(participant) if participant else None,
                "category": category,
                "reason": reason,
                "envelope": received.envelope,
                "event_time": received.time,
                "now": clock.now(),
            },
        )
        queued += 1
    return queued
