"""Which settings apply to a jurisdiction: its newest eligibility policy's, else the service's and the site
directory's (the fallbacks until a policy event has arrived)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncConnection

from casemgmt.adapters import site_settings
from casemgmt.domain.site import SiteSettings
from divert_kernel.sites import Sites


@dataclass(frozen=True)
class SettingsSource:
    defaults: SiteSettings
    sites: Sites

    def fallback(self, jurisdiction: str) -> SiteSettings:
        site = self.sites.get(jurisdiction)
        if site is None:
            return self.defaults
        return replace(
            self.defaults,
            intake_extension_max_days=site.intake_extension_max_days,
            intake_extensions_total_max_days=site.intake_extensions_total_max_days,
            time_zone=site.time_zone,
        )

    async def of(self, conn: AsyncConnection, jurisdiction: str) -> SiteSettings:
        return await site_settings.get(conn, jurisdiction, self.fallback(jurisdiction))
