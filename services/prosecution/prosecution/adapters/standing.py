"""Where participants stand (from case management), which records are one person, and each site's time zone."""

from __future__ import annotations

from datetime import datetime, tzinfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from divert_kernel.sites import Sites
from prosecution.domain.standing import Standing, zone_named

_STANDINGS = sa.text(
    "SELECT enrolled, enrolment_at, exited, status_at FROM participant_standing "
    "WHERE jurisdiction = :jurisdiction AND participant_id = ANY(CAST(:ids AS uuid[]))"
)
_STANDING = sa.text(
    "SELECT enrolled, enrolment_at, exited, status_at FROM participant_standing "
    "WHERE jurisdiction = :jurisdiction AND participant_id = CAST(:participant_id AS uuid)"
)
_PUT_STANDING = sa.text(
    """
    INSERT INTO participant_standing (jurisdiction, participant_id, enrolled, enrolment_at, exited, status_at)
    VALUES (:jurisdiction, CAST(:participant_id AS uuid), :enrolled, :enrolment_at, :exited, :status_at)
    ON CONFLICT (jurisdiction, participant_id) DO UPDATE
    SET enrolled = EXCLUDED.enrolled, enrolment_at = EXCLUDED.enrolment_at,
        exited = EXCLUDED.exited, status_at = EXCLUDED.status_at
    """
)
_STANDINGS_OF = sa.text(
    "SELECT s.jurisdiction, s.participant_id::text, s.enrolled, s.enrolment_at, s.exited, s.status_at "
    "FROM participant_standing s JOIN unnest(CAST(:jurisdictions AS text[]), CAST(:ids AS uuid[])) AS k(j, p) "
    "ON s.jurisdiction = k.j AND s.participant_id = k.p"
)
_PUT_STANDINGS = sa.text(
    """
    INSERT INTO participant_standing (jurisdiction, participant_id, enrolled, enrolment_at, exited, status_at)
    SELECT * FROM unnest(CAST(:jurisdictions AS text[]), CAST(:ids AS uuid[]), CAST(:enrolled AS boolean[]),
                         CAST(:enrolment_ats AS timestamptz[]), CAST(:exited AS boolean[]), CAST(:status_ats AS timestamptz[]))
    ON CONFLICT (jurisdiction, participant_id) DO UPDATE
    SET enrolled = EXCLUDED.enrolled, enrolment_at = EXCLUDED.enrolment_at,
        exited = EXCLUDED.exited, status_at = EXCLUDED.status_at
    """
)
_SURVIVOR = sa.text(
    "SELECT survivor_participant_id::text FROM participant_links "
    "WHERE jurisdiction = :jurisdiction AND merged_participant_id = CAST(:participant_id AS uuid)"
)
_MERGED_INTO = sa.text(
    "SELECT merged_participant_id::text FROM participant_links "
    "WHERE jurisdiction = :jurisdiction AND survivor_participant_id = CAST(:participant_id AS uuid)"
)
# Kept flat: whatever read as the merged record now reads as the survivor.
_REPOINT = sa.text(
    "UPDATE participant_links SET survivor_participant_id = CAST(:survivor AS uuid) "
    "WHERE jurisdiction = :jurisdiction AND survivor_participant_id = CAST(:merged AS uuid)"
)
_LINK = sa.text(
    """
    INSERT INTO participant_links (jurisdiction, merged_participant_id, survivor_participant_id, review_id, linked_at)
    VALUES (:jurisdiction, CAST(:merged AS uuid), CAST(:survivor AS uuid), :review_id, :linked_at)
    ON CONFLICT (jurisdiction, merged_participant_id) DO NOTHING
    """
)
_PUT_ZONE = sa.text(
    """
    INSERT INTO site_time_zones (jurisdiction, policy_version, time_zone) VALUES (:jurisdiction, :version, :zone)
    ON CONFLICT (jurisdiction) DO UPDATE SET policy_version = EXCLUDED.policy_version, time_zone = EXCLUDED.time_zone
    WHERE site_time_zones.policy_version <= EXCLUDED.policy_version
    """
)
_ZONE = sa.text("SELECT time_zone FROM site_time_zones WHERE jurisdiction = :jurisdiction")
# Offers, intakes, enrolment changes and links of one site are decided one at a time: each sees what the
# others committed, so a charge can never stay held for a participant already in the program.
_LOCK_SITE = sa.text("SELECT pg_advisory_xact_lock(hashtextextended('standing:' || :jurisdiction, 0))")


async def lock_site(conn: AsyncConnection, jurisdiction: str) -> None:
    await conn.execute(_LOCK_SITE, {"jurisdiction": jurisdiction})


async def survivor(conn: AsyncConnection, jurisdiction: str, participant_id: str) -> str:
    """The id a participant's record reads as: its survivor if it was merged, else itself."""
    row = (await conn.execute(_SURVIVOR, {"jurisdiction": jurisdiction, "participant_id": participant_id})).first()
    return row[0] if row else participant_id


async def person(conn: AsyncConnection, jurisdiction: str, participant_id: str) -> tuple[str, list[str]]:
    """(the survivor, every record id that is this one person)."""
    root = await survivor(conn, jurisdiction, participant_id)
    merged = await conn.execute(_MERGED_INTO, {"jurisdiction": jurisdiction, "participant_id": root})
    return root, [root, *sorted(r[0] for r in merged)]


async def link(
    conn: AsyncConnection, jurisdiction: str, survivor_id: str, merged_id: str, review_id: str, at: datetime
) -> bool:
    """Link two records as one person; False when they already were one."""
    root_survivor = await survivor(conn, jurisdiction, survivor_id)
    root_merged = await survivor(conn, jurisdiction, merged_id)
    if root_survivor == root_merged:
        return False
    params = {"jurisdiction": jurisdiction, "survivor": root_survivor, "merged": root_merged}
    await conn.execute(_REPOINT, params)
    await conn.execute(_LINK, params | {"review_id": review_id, "linked_at": at})
    return True


async def standings(conn: AsyncConnection, jurisdiction: str, ids: list[str]) -> list[Standing]:
    rows = await conn.execute(_STANDINGS, {"jurisdiction": jurisdiction, "ids": ids})
    return [Standing(**r) for r in rows.mappings()]


async def standing(conn: AsyncConnection, jurisdiction: str, participant_id: str) -> Standing:
    row = (await conn.execute(_STANDING, {"jurisdiction": jurisdiction, "participant_id": participant_id})).first()
    return Standing(**row._mapping) if row else Standing()


async def put_standing(conn: AsyncConnection, jurisdiction: str, participant_id: str, standing: Standing) -> None:
    params = {
        "jurisdiction": jurisdiction,
        "participant_id": participant_id,
        "enrolled": standing.enrolled,
        "enrolment_at": standing.enrolment_at,
        "exited": standing.exited,
        "status_at": standing.status_at,
    }
    await conn.execute(_PUT_STANDING, params)


async def standings_of(conn: AsyncConnection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Standing]:
    """The standing of each (jurisdiction, participant_id), in one statement (absent: the default)."""
    params = {"jurisdictions": [j for j, _ in keys], "ids": [p for _, p in keys]}
    rows = await conn.execute(_STANDINGS_OF, params) if keys else []
    found = {(r[0], r[1]): Standing(enrolled=r[2], enrolment_at=r[3], exited=r[4], status_at=r[5]) for r in rows}
    return {key: found.get(key, Standing()) for key in keys}


async def put_standings(conn: AsyncConnection, changed: dict[tuple[str, str], Standing]) -> None:
    """`put_standing` for each (at most one per key), in one statement."""
    if changed:
        rows = list(changed.items())
        params = {
            "jurisdictions": [j for (j, _), _ in rows],
            "ids": [p for (_, p), _ in rows],
            "enrolled": [s.enrolled for _, s in rows],
            "enrolment_ats": [s.enrolment_at for _, s in rows],
            "exited": [s.exited for _, s in rows],
            "status_ats": [s.status_at for _, s in rows],
        }
        await conn.execute(_PUT_STANDINGS, params)


async def put_time_zone(conn: AsyncConnection, jurisdiction: str, policy_version: int, zone: str) -> None:
    await conn.execute(_PUT_ZONE, {"jurisdiction": jurisdiction, "version": policy_version, "zone": zone})


async def time_zone(conn: AsyncConnection, jurisdiction: str) -> str | None:
    row = (await conn.execute(_ZONE, {"jurisdiction": jurisdiction})).first()
    return row[0] if row else None


async def site_zone(conn: AsyncConnection, jurisdiction: str, sites: Sites) -> tzinfo | None:
    """The site's time zone: its newest eligibility policy's, else the site directory's (None: unknown, UTC)."""
    site = sites.get(jurisdiction)
    return zone_named(await time_zone(conn, jurisdiction)) or zone_named(site.time_zone if site else None)
