"""The gate's two round trips: what a batch of decisions reads, in one statement, and what they record, in another.

Read: for each (jurisdiction, participant, requester) asked, the participant's survivor (person matches), the
requester's consent and break-glass bases and relations to the survivor, whether the survivor is a participant of
the jurisdiction at all, and each jurisdiction's newest MOU version: all from one snapshot, read fresh, so nothing
cached can outlive a revocation. Record: every decision's event, its outbox row and its decision-log row in one
statement (one transaction, committed before the answer), as the event store's append writes events and outbox.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.adapters.decisions import decision_row
from consent.domain.mou import Mou, Term
from consent.domain.policy import Basis
from divert_contracts.consent import AccessDecided
from divert_kernel.context import Causation

_FACTS = sa.text(
    """
    WITH asked AS (
        SELECT DISTINCT a.jurisdiction, a.participant_id, a.agency
        FROM unnest(CAST(:jurisdictions AS text[]), CAST(:participant_ids AS uuid[]), CAST(:agencies AS text[]))
             AS a(jurisdiction, participant_id, agency)
    ), resolved AS (
        SELECT a.jurisdiction, a.participant_id AS asked, a.agency,
               COALESCE(m.survivor_participant_id, a.participant_id) AS participant_id
        FROM asked a LEFT JOIN participant_aliases m
          ON m.jurisdiction = a.jurisdiction AND m.merged_participant_id = a.participant_id
    )
    SELECT r.jurisdiction, r.asked::text AS asked, r.agency, r.participant_id::text AS survivor,
           b.kind, b.id, b.categories, b.purposes, b.starts_at, b.ends_at, b.void
    FROM resolved r CROSS JOIN LATERAL (
        SELECT 'consent' AS kind, c.consent_id::text AS id, g.categories, g.purposes,
               c.effective_at AS starts_at, c.expires_at AS ends_at,
               (c.state <> 'active' OR g.revoked_at IS NOT NULL) AS void
        FROM consent_grants g JOIN consents c ON c.consent_id = g.consent_id
        WHERE g.participant_id = r.participant_id AND g.recipient_agency = r.agency
          AND c.jurisdiction = r.jurisdiction
        UNION ALL
        SELECT 'break_glass', x.break_glass_id::text, x.categories, ARRAY['BTG'], x.invoked_at, x.expires_at, false
        FROM break_glass x
        WHERE x.participant_id = r.participant_id AND x.requester_agency = r.agency
          AND x.jurisdiction = r.jurisdiction
        UNION ALL
        SELECT 'relation', p.relation, NULL, NULL, NULL, NULL, false
        FROM participant_relations p
        WHERE p.participant_id = r.participant_id AND p.agency = r.agency AND p.jurisdiction = r.jurisdiction
        UNION ALL
        SELECT 'known', NULL, NULL, NULL, NULL, NULL, false
        WHERE EXISTS (SELECT 1 FROM known_participants k
                      WHERE k.jurisdiction = r.jurisdiction AND k.participant_id = r.participant_id)
           OR EXISTS (SELECT 1 FROM participant_relations k
                      WHERE k.jurisdiction = r.jurisdiction AND k.participant_id = r.participant_id)
        UNION ALL
        SELECT 'asked', NULL, NULL, NULL, NULL, NULL, false
    ) b
    UNION ALL
    SELECT j.jurisdiction, NULL, NULL, NULL, 'mou',
           (SELECT max(v.version) FROM site_mou_versions v WHERE v.jurisdiction = j.jurisdiction)::text,
           NULL, NULL, NULL, NULL, false
    FROM (SELECT DISTINCT jurisdiction FROM asked) j
    """
)
_MOU = sa.text(
    "SELECT jurisdiction, version, approved_by, terms, recorded_at FROM site_mou_versions "
    "WHERE jurisdiction = :jurisdiction AND version = :version"
)
# The events (one-event streams, version 1), their outbox rows and the decision log's rows, all in one statement.
_RECORD = sa.text(
    """
    WITH d AS (
        SELECT * FROM unnest(
            CAST(:decision_ids AS uuid[]), CAST(:jurisdictions AS text[]), CAST(:datas AS text[]),
            CAST(:participant_ids AS uuid[]), CAST(:requester_agencies AS text[]),
            CAST(:requester_agency_types AS text[]), CAST(:acting_persons AS text[]), CAST(:categories AS text[]),
            CAST(:purposes AS text[]), CAST(:decisions AS text[]), CAST(:basis_kinds AS text[]),
            CAST(:basis_ids AS text[]), CAST(:flags AS text[])
        ) WITH ORDINALITY AS d(decision_id, jurisdiction, data, participant_id, requester_agency,
                               requester_agency_type, acting_person, category, purpose, decision, basis_kind,
                               basis_id, flags, ord)
    ), appended AS (
        INSERT INTO events (event_id, stream_id, version, type, schema_version, jurisdiction, data, metadata)
        SELECT gen_random_uuid(), :stream_prefix || d.decision_id::text, 1, :type, :schema_version, d.jurisdiction,
               CAST(d.data AS jsonb), CAST(:metadata AS jsonb)
        FROM d ORDER BY d.ord
        RETURNING position
    ), queued AS (
        INSERT INTO outbox (position) SELECT position FROM appended
    ), logged AS (
        INSERT INTO access_decisions (decision_id, participant_id, jurisdiction, requester_agency,
                                      requester_agency_type, requester_client, acting_person, category, purpose,
                                      decision, basis_kind, basis_id, decided_at, flags)
        SELECT d.decision_id, d.participant_id, d.jurisdiction, d.requester_agency, d.requester_agency_type,
               :requester_client, d.acting_person, d.category, d.purpose, d.decision, d.basis_kind, d.basis_id,
               :decided_at, ARRAY(SELECT jsonb_array_elements_text(CAST(d.flags AS jsonb)))
        FROM d
    )
    SELECT count(*) FROM appended
    """
)


@dataclass
class Facts:
    """What one (jurisdiction, participant, requester) asked reads: everything a decision about it needs."""

    survivor: str
    bases: list[Basis] = field(default_factory=list)
    related: set[str] = field(default_factory=set)
    known: bool = False


Key = tuple[str, str, str]  # (jurisdiction, participant id as asked, requester agency)


async def read(conn: AsyncConnection, asked: Iterable[Key]) -> tuple[dict[Key, Facts], dict[str, int | None]]:
    """Each key's facts, and each jurisdiction's newest recorded MOU version (None: none recorded)."""
    keys = list(dict.fromkeys(asked))
    params = {
        "jurisdictions": [k[0] for k in keys],
        "participant_ids": [k[1] for k in keys],
        "agencies": [k[2] for k in keys],
    }
    facts: dict[Key, Facts] = {}
    versions: dict[str, int | None] = {}
    for r in await conn.execute(_FACTS, params):
        if r.kind == "mou":
            versions[r.jurisdiction] = None if r.id is None else int(r.id)
            continue
        found = facts.setdefault((r.jurisdiction, r.asked, r.agency), Facts(r.survivor))
        if r.kind == "relation":
            found.related.add(r.id)
        elif r.kind == "known":
            found.known = True
        elif r.kind != "asked":
            found.bases.append(
                Basis(r.kind, r.id, frozenset(r.categories), frozenset(r.purposes), r.starts_at, r.ends_at, r.void)
            )
    return facts, versions


async def mou(conn: AsyncConnection, jurisdiction: str, version: int) -> Mou:
    """One recorded MOU version: recorded versions never change, so it may be kept once read."""
    row = (await conn.execute(_MOU, {"jurisdiction": jurisdiction, "version": version})).one()
    terms = tuple(Term.from_dict(t) for t in row.terms)
    return Mou(row.jurisdiction, row.version, row.approved_by, row.recorded_at, terms)


def _metadata(causation: Causation, traceparent: str | None) -> str:
    """As divert_kernel.eventstore writes an event's metadata (a test keeps the two alike)."""
    return json.dumps(
        {
            "actor": asdict(causation.actor),
            "correlation_id": causation.correlation_id,
            "causation_id": causation.causation_id,
            "traceparent": traceparent,
        }
    )


async def record(
    conn: AsyncConnection,
    decided: Sequence[tuple[AccessDecided, str]],
    causation: Causation,
    traceparent: str | None,
    stream_prefix: str,
) -> None:
    """Record (event, jurisdiction) pairs decided at one time by one caller: events, outbox and decision log."""
    if not decided:
        return
    rows = [decision_row(event, jurisdiction, causation.actor.client_id) for event, jurisdiction in decided]
    params: dict[str, object] = {
        "decision_ids": [r["decision_id"] for r in rows],
        "jurisdictions": [r["jurisdiction"] for r in rows],
        "participant_ids": [r["participant_id"] for r in rows],
        "requester_agencies": [r["requester_agency"] for r in rows],
        "requester_agency_types": [r["requester_agency_type"] for r in rows],
        "acting_persons": [r["acting_person"] for r in rows],
        "categories": [r["category"] for r in rows],
        "purposes": [r["purpose"] for r in rows],
        "decisions": [r["decision"] for r in rows],
        "datas": [event.model_dump_json() for event, _ in decided],
        "basis_kinds": [r["basis_kind"] for r in rows],
        "basis_ids": [r["basis_id"] for r in rows],
        "flags": [json.dumps(r["flags"]) for r in rows],
        "requester_client": causation.actor.client_id,
        "decided_at": rows[0]["decided_at"],
        "stream_prefix": f"{stream_prefix}-",
        "type": AccessDecided.type_name(),
        "schema_version": AccessDecided.schema_version,
        "metadata": _metadata(causation, traceparent),
    }
    await conn.execute(_RECORD, params)
