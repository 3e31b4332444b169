"""One handler per command, and the one reaction to another service's event (room in the program releases
waitlisted referrals). Handlers write no read model: projections.py does, from the events; what events must
not carry goes into records here (the person index, policies, screenings, referral_records)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import uuid4

from divert_contracts.casemgmt import (
    ProgramCapacityChanged,
)
from divert_kernel.clock import Clock
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.errors import Conflict, NotFound
from divert_kernel.sites import Sites
from divert_kernel.uow import UnitOfWork
from referral.adapters import owg, people, records, referral_rows, store
from referral.domain import commands
from referral.domain.eligibility import EligibilityPolicy, default_policy
from referral.domain.errors import IneligibleReferral, ReferralNotFound, WrongState
from referral.domain.linking import PersonLink
from referral.domain.model import Referral
from referral.domain.records import DiscretionRecord, PolicyBook, Screening, policy_from_document


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
        """What the Operations Work Group agenda and the daily views need from case management and the prosecutor:
        each event is kept and projected by the consumer (projections.py); only capacity has a reaction too."""
        return {
            "casemgmt": {
                **dict.fromkeys(
                    (
                        "IntakeCompleted",
                        "IntakeDeadlineExtended",
                        "CaseManagerAssigned",
                        "EnrolmentChanged",
                        "InterventionPlanUpdated",
                        "ContactLogged",
                    ),
                    self.projected_only,
                ),
                "ProgramCapacityChanged": self.release_waitlisted,
            },
            "prosecution": dict.fromkeys(
                (
                    "LegacyCaseReviewed",
                    "LegacyCaseRegistered",
                    "ChargeHeld",
                    "IntakeDeadlineLapsed",
                    "HeldChargeFiled",
                    "HeldChargeNotFiled",
                    "HeldChargeDeadlineMoved",
                    "DivertedChargeClosed",
                ),
                self.projected_only,
            ),
            # Its own policy amendments, as published: the projection of the append already kept them (it keeps
            # the newest policy version, so taking the same event in twice changes nothing).
            "referral": {"EligibilityPolicyAmended": self.projected_only},
        }

    async def projected_only(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        """Nothing to decide: the event only feeds read models (projections, run by the consumer)."""

    async def release_waitlisted(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        """Room in the program releases the longest-waiting approved social-contact referrals, oldest first."""
        change = received.event
        assert isinstance(change, ProgramCapacityChanged)
        room = change.capacity - change.active_participants
        for referral_id in await owg.waitlisted(uow.conn, received.jurisdiction, room):
            referral = await self._referral(uow, referral_id)
            referral.release(self.clock.now())

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
        await referral_rows.keep(uow.conn, referral_id, cmd)
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
        return referral.status

    async def decline(self, cmd: commands.DeclineDiversion, uow: UnitOfWork) -> str:
        referral = await self._referral(uow, cmd.referral_id)
        referral.decline(self.clock.now())
        await referral_rows.note(uow.conn, "decline", referral_id=referral.id, reason=cmd.reason)
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
        await referral_rows.note(uow.conn, "handoff", referral_id=referral.id, location=cmd.location)
        return referral.status

    async def owg_decide(self, cmd: commands.DecideSocialContact, uow: UnitOfWork) -> str:
        referral = await self._referral(uow, cmd.referral_id)
        now = self.clock.now()
        full = await owg.program_full(uow.conn, referral.jurisdiction)
        referral.owg_decide(cmd.approved, cmd.decided_by, now, program_full=full, referred_to=cmd.referred_to)
        await referral_rows.note(
            uow.conn, "owg", referral_id=referral.id, reason=cmd.reason, referred_to=cmd.referred_to
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
        return linked.survivor_participant_id
