"""One handler per command; the consent service also learns from events who holds a participant, and when one
leaves the program. Handlers decide and record events; the read models are projected from them (projections.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from uuid import uuid4

from consent.adapters import aliases, decisions, store
from consent.domain import commands
from consent.domain.errors import OverlappingConsent
from consent.domain.model import BreakGlassAccess, Consent
from consent.domain.mou import Mou
from consent.service_layer.deciding import Decided, Decider
from consent.service_layer.site import SiteTerms
from divert_contracts.casemgmt import ParticipantStatusChanged
from divert_contracts.consent import ConsentDrafted, GrantTerms
from divert_kernel.clock import Clock
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.gate import not_permitted
from divert_kernel.sites import Sites
from divert_kernel.uow import UnitOfWork


class Handlers:
    def __init__(self, clock: Clock, sites: Sites | None = None) -> None:
        self.clock = clock
        self.site = SiteTerms(clock, sites or Sites())
        self.decider = Decider(clock, self.site)

    def commands(self) -> dict[type, object]:
        return {
            commands.RecordConsent: self.record_consent,
            commands.SignConsent: self.sign_consent,
            commands.RevokeConsent: self.revoke_consent,
            commands.SiteMouInForce: self.mou_in_force,
            commands.BreakGlass: self.break_glass,
            commands.DecideMany: self.decide_many,
        }

    def subscriptions(self) -> dict[str, dict[str, object]]:
        return {
            "casemgmt": {"ParticipantStatusChanged": self.expire_on_exit},
            "referral": {
                "DiversionOffered": self.projected_only,
                "SocialContactReferralSubmitted": self.projected_only,
                "WarmHandoffCompleted": self.site.note_handoff,
                "ParticipantsLinked": self.projected_only,
            },
            "prosecution": {"ChargeHeld": self.site.note_charge},
        }

    async def record_consent(self, cmd: commands.RecordConsent, uow: UnitOfWork) -> str:
        """Only the provider holding the participant records its consents, naming agencies of the site."""
        consent_id = str(uuid4())
        cmd = replace(cmd, participant_id=await aliases.resolve(uow.conn, cmd.jurisdiction, cmd.participant_id))
        consent = Consent.record(consent_id, cmd)
        self.site.check_recipients(cmd.jurisdiction, [g.recipient_agency for g in cmd.grants])
        await store.lock_participant(uow.conn, cmd.participant_id)
        await self.site.check_holder(uow, cmd.jurisdiction, cmd.participant_id, cmd.disclosing_agency)
        if not cmd.draft:
            await self._check_no_overlap(uow, consent_id, cmd.participant_id, cmd.jurisdiction, cmd.grants, cmd)
        uow.add(consent)  # the consent and its grants are projected from its event (projections.py)
        return consent_id

    async def _check_no_overlap(
        self,
        uow: UnitOfWork,
        consent_id: str,
        participant_id: str,
        jurisdiction: str,
        grants: Sequence[commands.Grant | GrantTerms],
        period: commands.RecordConsent | ConsentDrafted,
    ) -> None:
        """A new consent may not let a recipient read for a purpose another live consent already covers."""
        live = await store.live_grants_overlapping(
            uow.conn,
            consent_id,
            participant_id,
            jurisdiction,
            [g.recipient_agency for g in grants],
            period.effective_at,
            period.expires_at,
            self.clock.now(),
        )
        for index, grant in enumerate(grants):
            for existing_id, recipient, purposes in live:
                shared = set(purposes) & set(grant.purposes)
                if recipient == grant.recipient_agency and shared:
                    raise OverlappingConsent(index, existing_id, recipient, sorted(shared))

    async def sign_consent(self, cmd: commands.SignConsent, uow: UnitOfWork) -> None:
        consent = await self._held_consent(uow, cmd.consent_id, cmd.requester)
        consent.sign(cmd.signed_document_sha256)
        terms = consent.terms
        assert terms is not None
        participant_id = await aliases.resolve(uow.conn, consent.jurisdiction, terms.participant_id)
        await store.lock_participant(uow.conn, participant_id)
        await self._check_no_overlap(uow, consent.id, participant_id, consent.jurisdiction, terms.grants, terms)

    async def revoke_consent(self, cmd: commands.RevokeConsent, uow: UnitOfWork) -> None:
        consent = await self._held_consent(uow, cmd.consent_id, cmd.requester)
        now = self.clock.now()
        consent.revoke(cmd.recipient_agency, now)

    async def expire_on_exit(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        change = received.event
        assert isinstance(change, ParticipantStatusChanged)
        if change.status != "exited":
            return
        now = self.clock.now()
        participant_id = await aliases.resolve(uow.conn, received.jurisdiction, change.participant_id)
        for consent_id in await store.expiring_on_exit(uow.conn, participant_id):
            consent = await self._consent(uow, consent_id)
            consent.expire_on_exit(now)

    async def mou_in_force(self, cmd: commands.SiteMouInForce, uow: UnitOfWork) -> Mou | None:
        return await self.site.mou_in_force(uow, cmd.jurisdiction)

    async def break_glass(self, cmd: commands.BreakGlass, uow: UnitOfWork) -> dict[str, object]:
        access_id = str(uuid4())
        now = self.clock.now()
        cmd = replace(cmd, participant_id=await aliases.resolve(uow.conn, cmd.jurisdiction, cmd.participant_id))
        access = BreakGlassAccess.invoke(access_id, cmd, now)
        await self.site.check_holder(uow, cmd.jurisdiction, cmd.participant_id, cmd.requester_agency)
        uow.add(access)
        await decisions.keep_reason(uow.conn, access_id, cmd.reason)  # a record: never in the event
        return {"break_glass_id": access_id, "expires_at": access.expires_at}

    async def decide_many(self, cmd: commands.DecideMany, uow: UnitOfWork) -> list[Decided]:
        """The gate inside a unit of work (a keyed request, or the first after a new MOU version): the MOU
        recorded first if need be, the reads ordered after any person match under way."""
        for jurisdiction in sorted({r.jurisdiction for r in cmd.requests}):
            await self.site.mou_in_force(uow, jurisdiction)
        return await self.decider.decide(uow.conn, cmd.requests, lock=True)

    async def projected_only(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        """Nothing to decide: the event only feeds read models (projections, run by the consumer)."""

    async def _consent(self, uow: UnitOfWork, consent_id: str) -> Consent:
        consent = await uow.get(Consent, consent_id)
        if consent is None:
            raise not_permitted()
        return consent

    async def _held_consent(self, uow: UnitOfWork, consent_id: str, requester: commands.Requester) -> Consent:
        """The consent, if the requester holds its participant; else refused exactly as an unknown consent is."""
        consent = await self._consent(uow, consent_id)
        if consent.jurisdiction not in requester.jurisdictions:
            raise not_permitted()
        participant_id = await aliases.resolve(uow.conn, consent.jurisdiction, consent.participant_id)
        await self.site.check_holder(uow, consent.jurisdiction, participant_id, requester.agency)
        return consent
