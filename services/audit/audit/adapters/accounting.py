"""The accounting of disclosures, who holds each participant, and the break-glass uses: projections of the log
(written by audit.service_layer.projections, from each chained entry)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from divert_contracts.consent import AccessDecided

_ADD_DISCLOSURE = sa.text(
    """
    INSERT INTO disclosures (decision_id, participant_id, jurisdiction, requester_agency, requester_agency_type,
                             acting_person, category, purpose, decision, basis_kind, basis_id, flags, decided_at)
    VALUES (CAST(:decision_id AS uuid), CAST(:participant_id AS uuid), :jurisdiction, :requester_agency,
            :requester_agency_type, :acting_person, :category, :purpose, :decision, :basis_kind, :basis_id, :flags,
            :decided_at)
    ON CONFLICT DO NOTHING
    """
)
_PAGE = """
      AND (CAST(:before_at AS timestamptz) IS NULL
           OR (decided_at, decision_id) < (CAST(:before_at AS timestamptz), CAST(:before_id AS uuid)))
    ORDER BY decided_at DESC, decision_id DESC
    LIMIT :limit
"""
_COLUMNS = """
    SELECT decision_id::text, participant_id::text, jurisdiction, requester_agency, requester_agency_type,
           acting_person, category, purpose, decision, basis_kind, basis_id, flags, decided_at
    FROM disclosures
"""
_DISCLOSURES = sa.text(
    _COLUMNS
    + """
    WHERE participant_id = CAST(:participant_id AS uuid) AND jurisdiction = ANY(CAST(:jurisdictions AS text[]))
      AND (:include_denied OR decision = 'permit')
    """
    + _PAGE
)
# Every emergency read and every attempt at one, refused ones too (the auditor reviews both).
_BREAK_GLASS = sa.text(
    _COLUMNS + " WHERE jurisdiction = :jurisdiction AND (purpose = 'BTG' OR 'break_glass' = ANY(flags))" + _PAGE
)
_HANDED_OFF = sa.text(
    """
    INSERT INTO participant_holders (participant_id, jurisdiction, agency, handed_off_at)
    VALUES (:participant_id, :jurisdiction, :agency, :handed_off_at)
    ON CONFLICT (participant_id, jurisdiction) DO UPDATE SET agency = excluded.agency,
                                                             handed_off_at = excluded.handed_off_at
    WHERE participant_holders.handed_off_at <= excluded.handed_off_at
    """
)
_HOLDERS = sa.text(
    "SELECT jurisdiction, agency FROM participant_holders "
    "WHERE participant_id = :participant_id AND jurisdiction = ANY(CAST(:jurisdictions AS text[]))"
)

Cursor = tuple[datetime, str] | None


def _page(before: Cursor, limit: int) -> dict[str, Any]:
    return {"before_at": before[0] if before else None, "before_id": before[1] if before else None, "limit": limit}


async def add_disclosure(conn: AsyncConnection, decided: AccessDecided, jurisdiction: str) -> None:
    await conn.execute(
        _ADD_DISCLOSURE,
        {
            "decision_id": decided.decision_id,
            "participant_id": decided.participant_id,
            "jurisdiction": jurisdiction,
            "requester_agency": decided.requester_agency,
            "requester_agency_type": decided.requester_agency_type,
            "acting_person": decided.acting_person,
            "category": decided.category,
            "purpose": decided.purpose,
            "decision": decided.decision,
            "basis_kind": decided.basis_kind,
            "basis_id": decided.basis_id,
            "flags": list(decided.flags),
            "decided_at": decided.decided_at,
        },
    )


async def handed_off(conn: AsyncConnection, participant_id: str, jurisdiction: str, agency: str, at: datetime) -> None:
    """The provider named in the latest hand-off holds the participant in that jurisdiction."""
    params = {"participant_id": participant_id.lower(), "jurisdiction": jurisdiction, "agency": agency}
    await conn.execute(_HANDED_OFF, params | {"handed_off_at": at})


async def holders(conn: AsyncConnection, participant_id: str, jurisdictions: list[str]) -> dict[str, str]:
    """Per jurisdiction (of those given), the case-management provider holding the participant."""
    rows = await conn.execute(_HOLDERS, {"participant_id": participant_id.lower(), "jurisdictions": jurisdictions})
    return {r.jurisdiction: r.agency for r in rows}


async def disclosures(
    conn: AsyncConnection,
    participant_id: str,
    jurisdictions: list[str],
    *,
    include_denied: bool,
    before: Cursor,
    limit: int,
) -> list[dict[str, Any]]:
    params = {"participant_id": participant_id, "jurisdictions": jurisdictions, "include_denied": include_denied}
    return [dict(r) for r in (await conn.execute(_DISCLOSURES, params | _page(before, limit))).mappings()]


async def break_glass(conn: AsyncConnection, jurisdiction: str, *, before: Cursor, limit: int) -> list[dict[str, Any]]:
    rows = await conn.execute(_BREAK_GLASS, {"jurisdiction": jurisdiction} | _page(before, limit))
    return [dict(r) for r in rows.mappings()]
