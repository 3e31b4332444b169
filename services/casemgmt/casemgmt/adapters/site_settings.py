"""Each jurisdiction's settings as its newest eligibility policy set them (the fallbacks until one arrives)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from casemgmt.domain.site import SiteSettings
from divert_contracts.referral import EligibilityPolicyAmended

FIELDS = (
    "caseload_cap",
    "caseload_preferred",
    "program_capacity",
    "intake_extension_max_days",
    "intake_extensions_total_max_days",
    "social_contact_intake_target_days",
    "time_zone",
)
_KEEP_NEWEST = sa.text(
    f"""
    INSERT INTO site_settings (jurisdiction, policy_version, {", ".join(FIELDS)}, amended_at)
    VALUES (:jurisdiction, :policy_version, {", ".join(":" + f for f in FIELDS)}, :amended_at)
    ON CONFLICT (jurisdiction) DO UPDATE SET policy_version = EXCLUDED.policy_version,
        {", ".join(f"{f} = EXCLUDED.{f}" for f in FIELDS)}, amended_at = EXCLUDED.amended_at
    WHERE site_settings.policy_version < EXCLUDED.policy_version
    """
)
_GET = sa.text(f"SELECT policy_version, {', '.join(FIELDS)} FROM site_settings WHERE jurisdiction = :jurisdiction")


async def keep(conn: AsyncConnection, jurisdiction: str, policy: EligibilityPolicyAmended) -> None:
    """Keep the policy's settings if they are newer than what is kept (events may arrive again)."""
    values = {f: getattr(policy, f) for f in FIELDS}
    params = {"jurisdiction": jurisdiction, "policy_version": policy.policy_version, "amended_at": policy.amended_at}
    await conn.execute(_KEEP_NEWEST, params | values)


async def get(conn: AsyncConnection, jurisdiction: str, fallback: SiteSettings) -> SiteSettings:
    """The jurisdiction's newest policy settings, or `fallback` when no policy has arrived."""
    row = (await conn.execute(_GET, {"jurisdiction": jurisdiction})).mappings().first()
    return fallback if row is None else SiteSettings(**dict(row))
