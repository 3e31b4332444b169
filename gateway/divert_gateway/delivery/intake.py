"""From the bus to the delivery queue: learn the relations, then queue one message per subscribed, entitled endpoint.

The consent gate is asked later, at each attempt (dispatch.py), so a retry after a revocation is decided again.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from divert_contracts import entitlements
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
# Learn the event's relation (if it names one) and read every relation of its referrals (or participant), in one
# round trip. The SELECT cannot see the CTE's row (one snapshot), so the newly learned one is added from RETURNING,
# filtered as the stored ones are.
_RELATED = """
    WITH learned AS (
        INSERT INTO delivery_relations (jurisdiction, referral_id, relation, agency, participant_id)
        SELECT :j, :learn_referral, :learn_relation, :learn_agency, :learn_participant
        WHERE CAST(:learn_relation AS text) IS NOT NULL
        ON CONFLICT DO NOTHING RETURNING referral_id, participant_id, relation, agency)
    SELECT relation, agency FROM delivery_relations WHERE jurisdiction = :j AND {where}
    UNION SELECT relation, agency FROM learned WHERE {where}
"""
# Every queued message of one event in one statement: the NATS feeds' rows, and one webhook message per enabled
# endpoint subscribed to the event whose agency receives it (joined here, so no endpoint list is read first).
_QUEUE = sa.text(
    """
    WITH feed AS (
        INSERT INTO feed_messages (jurisdiction, agency, agency_type, event_id, event_type, participant_id, category,
            reason, envelope, status, next_attempt_at)
        SELECT :jurisdiction, f.agency, f.agency_type, CAST(:event_id AS uuid), :event_type, :participant_id,
            :category, f.reason, CAST(:envelope AS jsonb), 'pending', :now
        FROM unnest(CAST(:feed_agencies AS text[]), CAST(:feed_types AS text[]), CAST(:feed_reasons AS text[]))
            AS f(agency, agency_type, reason)
        ON CONFLICT DO NOTHING)
    INSERT INTO webhook_messages (endpoint_id, event_id, event_type, jurisdiction, participant_id, category, reason,
        envelope, event_time, status, next_attempt_at)
    SELECT e.endpoint_id, CAST(:event_id AS uuid), :event_type, :jurisdiction, :participant_id, :category, r.reason,
        CAST(:envelope AS jsonb), :event_time, 'pending', :now
    FROM webhook_endpoints e
    JOIN unnest(CAST(:agencies AS text[]), CAST(:reasons AS text[])) AS r(agency, reason) ON r.agency = e.agency
    WHERE e.enabled AND :jurisdiction = ANY(e.jurisdictions) AND :event_type = ANY(e.event_types)
    ON CONFLICT DO NOTHING
    RETURNING 1
    """
)


def _data(received: ReceivedEvent) -> dict[str, Any]:
    data = received.envelope.get("data")
    return data if isinstance(data, dict) else {}


def _referral_ids(data: dict[str, Any]) -> list[str]:
    ids = data.get("referral_ids")
    if isinstance(ids, list):
        return [str(i) for i in ids]
    return [str(data["referral_id"])] if data.get("referral_id") else []


def _learned(received: ReceivedEvent) -> dict[str, Any]:
    """The relation this event teaches (its agency and participant for its referral), as _RELATED's parameters."""
    none = {"learn_referral": None, "learn_relation": None, "learn_agency": None, "learn_participant": None}
    learned = _LEARNS.get(received.type)
    data = _data(received)
    if learned is None or not data.get("referral_id") or not data.get("participant_id"):
        return none
    relation, field = learned
    agency = data.get(field)
    if not agency and received.type == "WarmHandoffCompleted" and received.actor.agency_type == "case_management":
        agency = received.actor.agency  # a single-provider site names no provider: the recorder is it
    if not agency:
        return none
    return {
        "learn_referral": str(data["referral_id"]),
        "learn_relation": relation,
        "learn_agency": agency,
        "learn_participant": str(data["participant_id"]),
    }


async def related(conn: AsyncConnection, received: ReceivedEvent) -> dict[str, set[str]]:
    """Learn the event's relation, then relation -> agencies for the event's referrals (or, for a
    participant-level event, all of theirs)."""
    data = _data(received)
    referral_ids = _referral_ids(data)
    if referral_ids:
        where, params = "referral_id = ANY(:ids)", {"ids": referral_ids}
    elif data.get("participant_id"):
        where, params = "participant_id = :participant", {"participant": str(data["participant_id"])}
    else:
        return {}  # nothing to learn either: a relation needs a referral id and a participant
    rows = await conn.execute(
        sa.text(_RELATED.format(where=where)), {"j": received.jurisdiction, **params, **_learned(received)}
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
    feed of every entitled agency of the site directory; returns how many webhook messages were queued."""
    found = entitlements.entitlement(received.service, received.type)
    if found is None:
        return 0
    owner = entitlements.owner(received.service, received.type, received.envelope)
    receiving = entitlements.recipients(received.service, received.type, owner, await related(conn, received))
    participant = _data(received).get("participant_id")
    # Another agency's record with no participant to decide for is never disclosed, by feed or webhook.
    allowed = {agency: reason for agency, reason in receiving.items() if reason == "own" or participant}
    if not allowed:
        return 0
    site = sites.get(received.jurisdiction) if sites is not None else None
    types = {a.agency_id: a.agency_type for a in site.agencies} if site is not None else {}
    feeds = [(agency, types[agency], reason) for agency, reason in allowed.items() if agency in types]
    params = {
        "jurisdiction": received.jurisdiction,
        "event_id": received.id,
        "event_type": received.type,
        "participant_id": str(participant) if participant else None,
        "category": found.category or NO_CATEGORY,
        "envelope": json.dumps(received.envelope),
        "event_time": received.time,
        "now": clock.now(),
        "feed_agencies": [f[0] for f in feeds],
        "feed_types": [f[1] for f in feeds],
        "feed_reasons": [f[2] for f in feeds],
        "agencies": list(allowed),
        "reasons": list(allowed.values()),
    }
    return len((await conn.execute(_QUEUE, params)).all())
