"""One handler per command."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import uuid4

from divert_contracts.casemgmt import (
    CaseManagerAssigned,
    EnrolmentChanged,
    IntakeCompleted,
    IntakeDeadlineExtended,
    ProgramCapacityChanged,
)
from divert_contracts.prosecution import LegacyCaseReviewed
from divert_kernel.clock import Clock
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.errors import Conflict, NotFound
from divert_kernel.sites import Sites
from divert_kernel.uow import UnitOfWork
from referral.adapters import owg, people, records, store
from referral.domain import commands
from referral.domain.eligibility import EligibilityPolicy, default_policy
from referral.domain.errors import IneligibleReferral, ReferralNotFound, WrongState
from referral.domain.linking import PersonLink
from referral.domain.model import Referral
from referral.domain.records import DiscretionRecord, PolicyBook, Screening, policy_from_document
from referral.service_layer import owg_handlers


@dataclass(frozen=True)
class ReferralAccepted:
    referral_id: str
    participant_id: str
    status: str
    intake_deadline: date | None
    policy_version: int


class Handlers:
    def __init__(self, clock: Clock, default_window_days: int, sites: Sites | None = None) -> None:
        self.clock = clock
        self.default_window_days = default_window_days
        self.sites = sites or Sites()

    def table(self) -> dict[type, object]:
        return {
            commands.SubmitReferral: self.submit_referral,
            commands.AmendPolicy: self.amend_policy,
            commands.Screen: self.screen,
            commands.AcceptDiversion: self.accept,
            commands.DeclineDiversion: self.decline,
            commands.CompleteHandoff: self.hand_off,
            commands.DecideSocialContact: self.owg_decide,
            commands.RecordDiscretion: self.record_discretion,
            commands.LinkParticipants: self.link_participants,
        }

    def subscriptions(self) -> dict[str, dict[str, object]]:
        """What the Operations Work Group agenda needs from case management and the prosecutor."""
        return {
            "casemgmt": {
                "IntakeCompleted": self.note_intake,
                "IntakeDeadlineExtended": owg_handlers.chain(self.note_extension, owg_handlers.intake_extended),
                "CaseManagerAssigned": self.note_case_manager,
                "ProgramCapacityChanged": self.note_capacity,
                "EnrolmentChanged": owg_handlers.chain(self.note_enrolment, owg_handlers.enrolment_changed),
                "InterventionPlanUpdated": owg_handlers.plan_updated,
                "ContactLogged": owg_handlers.contact_logged,
            },
            "prosecution": {
                "LegacyCaseReviewed": owg_handlers.chain(self.note_case_review, owg_handlers.case_reviewed),
                "LegacyCaseRegistered": owg_handlers.case_registered,
                "ChargeHeld": owg_handlers.charge_held,
                "IntakeDeadlineLapsed": owg_handlers.intake_lapsed,
                "HeldChargeFiled": owg_handlers.charge_filed,
                "HeldChargeNotFiled": owg_handlers.charge_not_filed,
                "HeldChargeDeadlineMoved": owg_handlers.deadline_moved,
                "DivertedChargeClosed": owg_handlers.charge_closed,
            },
            # The site's own settings, as the policy amendment published them (the OWG's look-back, time zone).
            "referral": {"EligibilityPolicyAmended": owg_handlers.site_settings},
        }

    async def note_intake(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        intake = received.event
        assert isinstance(intake, IntakeCompleted)
        await owg.intake_completed(uow.conn, intake.referral_ids, intake.completed_at)

    async def note_extension(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        extension = received.event
        assert isinstance(extension, IntakeDeadlineExtended)
        await owg.deadline_moved(uow.conn, extension.referral_ids, extension.intake_deadline)
        detail = {
            "intake_deadline": extension.intake_deadline,
            "granted_by": extension.granted_by,
            "law_enforcement_agency": extension.law_enforcement_agency,
        }
        await owg.add_item(
            uow.conn,
            received.id,
            received.jurisdiction,
            "extension",
            extension.participant_id,
            detail,
            extension.extended_at,
            owner_agency=received.actor.agency,
        )

    async def note_enrolment(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        """Where the person stands, for the officer's field lookup and the caseload."""
        change = received.event
        assert isinstance(change, EnrolmentChanged)
        participant_id = await store.survivor(uow.conn, change.participant_id)
        await people.enrolment(
            uow.conn, participant_id, change.enrolment, change.not_enrolled_reason, change.changed_at
        )

    async def note_case_manager(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        assigned = received.event
        assert isinstance(assigned, CaseManagerAssigned)
        await owg.case_manager(uow.conn, assigned.participant_id, assigned.case_manager_id)

    async def note_capacity(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        """Room in the program releases the longest-waiting approved social-contact referrals, oldest first."""
        change = received.event
        assert isinstance(change, ProgramCapacityChanged)
        await owg.set_capacity(
            uow.conn, received.jurisdiction, change.active_participants, change.capacity, change.changed_at
        )
        room = change.capacity - change.active_participants
        for referral_id in await owg.waitlisted(uow.conn, received.jurisdiction, room):
            referral = await self._referral(uow, referral_id)
            referral.release(self.clock.now())
            await records.update_referral(uow.conn, "status", referral_id=referral.id, status=referral.status)

    async def note_case_review(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        review = received.event
        assert isinstance(review, LegacyCaseReviewed)
        await owg.add_item(
            uow.conn,
            received.id,
            received.jurisdiction,
            "case_review",
            review.participant_id,
            {"case_id": review.case_id, "decision": review.decision},
            review.reviewed_at,
            owner_agency=received.actor.agency,
        )

    async def current_policy(self, uow: UnitOfWork, jurisdiction: str) -> EligibilityPolicy:
        stored = await records.policy(uow.conn, jurisdiction)
        site = self.sites.get(jurisdiction)
        time_zone = site.time_zone if site else None
        if stored:
            return policy_from_document(stored["document"], time_zone)
        return default_policy(self.default_window_days, time_zone)

    async def submit_referral(self, cmd: commands.SubmitReferral, uow: UnitOfWork) -> ReferralAccepted:
        now: datetime = self.clock.now()
        policy = await self.current_policy(uow, cmd.jurisdiction)
        referral_id = str(uuid4())
        participant_id = await store.participant_for(uow.conn, cmd)
        referral = Referral.submit(referral_id, participant_id, cmd, policy, now)
        uow.add(referral)
        await store.add_referral(
            uow.conn,
            referral_id,
            participant_id,
            cmd,
            status=referral.status,
            intake_deadline=referral.intake_deadline,
            policy_version=policy.version,
            created_at=now,
            exclusions_present=list(cmd.exclusions_present),
        )
        return ReferralAccepted(referral_id, participant_id, referral.status, referral.intake_deadline, policy.version)

    async def amend_policy(self, cmd: commands.AmendPolicy, uow: UnitOfWork) -> dict[str, Any]:
        book = await uow.get(PolicyBook, cmd.jurisdiction) or PolicyBook(cmd.jurisdiction)
        uow.add(book)
        now = self.clock.now()
        amended = book.amend(cmd, now)
        document = {
            "policy_version": amended.policy_version,
            "divertible_offenses": [{"code": c, "statute": s, "description": d} for c, s, d in cmd.divertible_offenses],
            "exclusions": amended.exclusions,
            "intake_window_days": amended.intake_window_days,
            "social_contact_referrers": amended.social_contact_referrers,
            "victim_must_decline": amended.victim_must_decline,
            **cmd.settings.as_document(),
        }
        await records.add_policy(uow.conn, cmd.jurisdiction, document, cmd.amended_by, now)
        return document

    async def screen(self, cmd: commands.Screen, uow: UnitOfWork) -> dict[str, Any]:
        now = self.clock.now()
        policy = await self.current_policy(uow, cmd.jurisdiction)
        screening_id = str(uuid4())
        screening = Screening.record(screening_id, cmd, policy, now)
        uow.add(screening)
        [event] = screening.pending
        outcome = {
            "eligible": event.eligible,
            "reasons": event.reasons,
            "policy_version": policy.version,  # type: ignore[attr-defined]
            "screened_by": cmd.screened_by or "unknown",
            "screened_at": now,
        }
        await records.add_screening(uow.conn, screening_id, cmd, outcome)
        return {
            "screening_id": screening_id,
            **outcome,
            "drug_quantity_threshold": policy.settings.drug_quantity_threshold,
        }

    async def _referral(self, uow: UnitOfWork, referral_id: str) -> Referral:
        referral = await uow.get(Referral, referral_id)
        if referral is None:
            raise ReferralNotFound()
        return referral

    async def accept(self, cmd: commands.AcceptDiversion, uow: UnitOfWork) -> str:
        referral = await self._referral(uow, cmd.referral_id)
        referral.accept(self.clock.now())
        await records.update_referral(uow.conn, "status", referral_id=referral.id, status=referral.status)
        return referral.status

    async def decline(self, cmd: commands.DeclineDiversion, uow: UnitOfWork) -> str:
        referral = await self._referral(uow, cmd.referral_id)
        referral.decline(self.clock.now())
        await records.update_referral(
            uow.conn, "decline", referral_id=referral.id, status=referral.status, reason=cmd.reason
        )
        return referral.status

    async def hand_off(self, cmd: commands.CompleteHandoff, uow: UnitOfWork) -> str:
        referral = await self._referral(uow, cmd.referral_id)
        holder = await records.current_provider(uow.conn, await store.survivor(uow.conn, referral.participant_id))
        if holder is not None and holder != cmd.case_management_agency:
            # The records follow the person: a new referral cannot move them to another provider.
            raise WrongState(
                "the person is already held by another case-management provider; hand off to that provider",
                field="case_management_agency",
            )
        referral.hand_off(cmd.case_manager_id, cmd.case_management_agency, cmd.at, self.clock.now())
        await records.update_referral(
            uow.conn,
            "handoff",
            referral_id=referral.id,
            status=referral.status,
            case_manager_id=cmd.case_manager_id,
            case_management_agency=cmd.case_management_agency,
            location=cmd.location,
            at=cmd.at,
        )
        return referral.status

    async def owg_decide(self, cmd: commands.DecideSocialContact, uow: UnitOfWork) -> str:
        referral = await self._referral(uow, cmd.referral_id)
        now = self.clock.now()
        full = await owg.program_full(uow.conn, referral.jurisdiction)
        referral.owg_decide(cmd.approved, cmd.decided_by, now, program_full=full, referred_to=cmd.referred_to)
        await records.update_referral(
            uow.conn,
            "owg",
            referral_id=referral.id,
            status=referral.status,
            decided_by=cmd.decided_by,
            reason=cmd.reason,
            at=now,
            referred_to=cmd.referred_to,
        )
        return referral.status

    async def record_discretion(self, cmd: commands.RecordDiscretion, uow: UnitOfWork) -> str:
        record_id = str(uuid4())
        now = self.clock.now()
        uow.add(DiscretionRecord.record(record_id, cmd, now))
        await records.add_discretion(uow.conn, record_id, cmd, cmd.recorded_by or cmd.officer_badge, now)
        return record_id

    async def link_participants(self, cmd: commands.LinkParticipants, uow: UnitOfWork) -> str:
        """Resolve a review as one person (ParticipantsLinked); the earlier-indexed participant survives."""
        review = await people.review(uow.conn, cmd.review_id, sorted(cmd.jurisdictions))
        if review is None:
            raise NotFound("no such review", field="review_id")
        same_as = cmd.same_as or (review["candidates"][0] if len(review["candidates"]) == 1 else None)
        if same_as not in review["candidates"]:
            raise IneligibleReferral("name which of the review's candidates this person is", field="same_as")
        now = self.clock.now()
        if not await people.resolve_review(uow.conn, cmd.review_id, "same_person", cmd.resolved_by, now):
            raise Conflict("this review was already resolved", field="review_id")
        first, second = [await store.survivor(uow.conn, p) for p in (review["participant_id"], same_as)]
        providers = {await records.current_provider(uow.conn, p) for p in (first, second)} - {None}
        if len(providers) > 1:
            # Each provider's case records are its own: linking would hand one provider's notes to the other.
            # The person moves between providers only by a transfer between them, never by a match.
            raise WrongState(
                "the two records are held by different case-management providers; they cannot be linked",
                field="review_id",
            )
        link = await uow.get(PersonLink, cmd.review_id) or PersonLink(cmd.review_id, review["jurisdiction"])
        uow.add(link)
        linked = link.link(await people.indexed(uow.conn, first), await people.indexed(uow.conn, second), now)
        await people.link(uow.conn, review["jurisdiction"], linked)
        return linked.survivor_participant_id
