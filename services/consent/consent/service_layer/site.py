"""The site the consent service decides for: who holds a participant (from events) and the MOU in force."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from consent.adapters import relations
from consent.domain.errors import InvalidConsent
from consent.domain.model import SiteMou
from consent.domain.mou import Mou
from divert_contracts.consent import MouTermRecorded
from divert_contracts.prosecution import ChargeHeld
from divert_contracts.referral import WarmHandoffCompleted
from divert_kernel.clock import Clock
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.gate import not_permitted
from divert_kernel.sites import Site, Sites
from divert_kernel.uow import UnitOfWork

log = logging.getLogger("divert.consent.site")


class UnknownAgency(ValueError):
    """An event names an agency the site directory does not list with that role: never a relation."""


def check_recipients(sites: Sites, jurisdiction: str, recipients: Sequence[str]) -> None:
    """A consent names agencies of its site (when the site is known)."""
    site = sites.get(jurisdiction)
    if site is None:
        return
    known = {a.agency_id for a in site.agencies}
    for i, recipient in enumerate(recipients):
        if recipient not in known:
            raise InvalidConsent(
                f"{recipient} is not an agency of {jurisdiction}", field=f"grants.{i}.recipient_agency"
            )


def agency_types(sites: Sites, jurisdiction: str, recipients: Sequence[str]) -> dict[str, str]:
    """Each recipient's agency type from the site's registry; an agency the site does not list is refused."""
    site = sites.get(jurisdiction)
    registry = {a.agency_id: a.agency_type for a in site.agencies} if site else {}
    for i, recipient in enumerate(recipients):
        if recipient not in registry:
            raise InvalidConsent(
                f"{recipient} is not an agency of {jurisdiction}", field=f"grants.{i}.recipient_agency"
            )
    return {r: registry[r] for r in recipients}


class SiteTerms:
    def __init__(self, clock: Clock, sites: Sites) -> None:
        self.clock = clock
        self.sites = sites
        # (jurisdiction, version) seen committed in the store: skips a lookup per decision, never a recording.
        self._recorded: set[tuple[str, int]] = set()

    # -- relations, from other services' events (projected by projections.py; checked here) ------------

    async def note_handoff(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        """A hand-off to an agency the site does not list as a provider is refused: its relation, projected in this
        transaction, is rolled back with it and the event dead-lettered."""
        handoff = received.event
        assert isinstance(handoff, WarmHandoffCompleted)
        if handoff.case_management_agency is not None:
            self._check_role(received.jurisdiction, handoff.case_management_agency, "case_management")

    async def note_charge(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        held = received.event
        assert isinstance(held, ChargeHeld)
        if held.prosecutor_agency is not None:
            self._check_role(received.jurisdiction, held.prosecutor_agency, "prosecutor")

    def _check_role(self, jurisdiction: str, agency: str, agency_type: str) -> None:
        site = self.sites.get(jurisdiction)
        if site is not None and agency not in site.of_type(agency_type):
            # Dead-lettered by the consumer, for an operator to see; the message names no person.
            raise UnknownAgency(f"{jurisdiction} lists no {agency_type} agency {agency}")

    # -- who may act for a participant ---------------------------------------------------------------

    async def check_holder(self, uow: UnitOfWork, jurisdiction: str, participant_id: str, agency: str) -> None:
        """Only the provider holding the participant acts for it; anyone else is refused as for an unknown one."""
        if await relations.holder(uow.conn, jurisdiction, participant_id) != agency:
            raise not_permitted()

    def check_recipients(self, jurisdiction: str, recipients: Sequence[str]) -> None:
        check_recipients(self.sites, jurisdiction, recipients)

    # -- the MOU ---------------------------------------------------------------------------------------

    def mou_recorded(self, jurisdiction: str) -> bool:
        """Whether the directory's MOU version for the site is known to be recorded (no site: nothing to record)."""
        site = self.sites.get(jurisdiction)
        return site is None or (jurisdiction, site.version) in self._recorded

    async def mou_in_force(self, uow: UnitOfWork, jurisdiction: str) -> Mou | None:
        """The newest recorded MOU, after recording the directory's version if it is not recorded yet."""
        site = self.sites.get(jurisdiction)
        if site is not None and (jurisdiction, site.version) not in self._recorded:
            await self._record(uow, site)
        return await relations.newest_mou(uow.conn, jurisdiction)

    async def _record(self, uow: UnitOfWork, site: Site) -> None:
        mou = await uow.get(SiteMou, site.jurisdiction)
        if mou is None:
            mou = SiteMou(site.jurisdiction)
            uow.add(mou)
        terms = [MouTermRecorded.model_validate(t.model_dump()) for t in site.mou]
        if site.version in mou.recorded:
            self._recorded.add((site.jurisdiction, site.version))
            if mou.differs_from(site.version, terms):
                # Changed terms need a new version number; the recorded terms stay in force.
                extra = {"jurisdiction": site.jurisdiction, "mou_version": site.version}
                log.warning("mou_version_differs_from_recorded", extra=extra)
            return
        mou.record_version(site.version, site.approved_by, terms, self.clock.now())
        await uow.flush()  # projects the version (projections.py), which the caller reads next
