"""What case management does with other services' events: referrals, OWG decisions, hand-offs, lapses and moved
deadlines, person matches and the site's policy. Every participant id is resolved through person matches first."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from casemgmt.adapters import links
from casemgmt.domain.errors import AwaitingOwgApproval, CaseloadFull
from casemgmt.domain.model import ParticipantCase
from casemgmt.service_layer.handlers import CommandHandlers
from divert_contracts import prosecution, referral
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.uow import UnitOfWork

log = logging.getLogger("divert.casemgmt")
Reaction = Callable[[UnitOfWork, ReceivedEvent], Awaitable[None]]


class Reactions:
    def __init__(self, handlers: CommandHandlers) -> None:
        self.handlers = handlers
        self.clock = handlers.clock

    def subscriptions(self) -> dict[str, dict[str, Reaction]]:
        return {
            "referral": {
                "DiversionOffered": self.receive_referral,
                "SocialContactReferralSubmitted": self.receive_referral,
                "DiversionDeclined": self.note("declined"),
                "SocialContactReferralApproved": self.note("owg_approved"),
                "SocialContactReferralReleased": self.note("owg_approved"),
                "SocialContactReferralDenied": self.note("owg_denied"),
                "WarmHandoffCompleted": self.assign_on_handoff,
                "ParticipantsLinked": self.link,
                "EligibilityPolicyAmended": self.keep_site_settings,
            },
            "prosecution": {
                "IntakeDeadlineLapsed": self.note("lapsed"),
                "HeldChargeDeadlineMoved": self.note("deadline_moved"),
            },
        }

    async def _case(self, uow: UnitOfWork, participant_id: str) -> ParticipantCase:
        case = await uow.get(ParticipantCase, await links.survivor(uow.conn, participant_id))
        if case is None:
            raise LookupError("an event about a participant case management has not yet heard of; retried")
        return case

    async def receive_referral(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        event = received.event
        assert isinstance(event, referral.DiversionOffered | referral.SocialContactReferralSubmitted)
        participant_id = await links.survivor(uow.conn, event.participant_id)
        case = await uow.get(ParticipantCase, participant_id)
        if case is None:
            case = ParticipantCase(participant_id, received.jurisdiction)
            uow.add(case)
        site = await self.handlers.settings.of(uow.conn, case.jurisdiction)
        if isinstance(event, referral.DiversionOffered):
            deadline, target = event.intake_deadline, None
        else:
            deadline, target = None, site.intake_target(event.submitted_at)
        case.receive_referral(event.referral_id, event.referral_type, deadline, self.clock.now(), target)
        await self.handlers.report_capacity(uow, case.jurisdiction)

    def note(self, state: str) -> Reaction:
        async def noted(uow: UnitOfWork, received: ReceivedEvent) -> None:
            event = received.event
            if isinstance(event, referral.SocialContactReferralApproved) and event.waitlisted:
                return  # approved while the program was full: cleared only once released
            case = await self._case(uow, event.participant_id)  # type: ignore[attr-defined]
            deadline = event.intake_deadline if isinstance(event, prosecution.HeldChargeDeadlineMoved) else None
            case.note_referral(event.referral_id, state, self.clock.now(), deadline)  # type: ignore[attr-defined]
            await self.handlers.report_capacity(uow, case.jurisdiction)

        noted.__name__ = f"note_{state}"
        return noted

    async def assign_on_handoff(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        handoff = received.event
        assert isinstance(handoff, referral.WarmHandoffCompleted)
        # The projection recorded the provider named in the hand-off as the holder.
        case = await self._case(uow, handoff.participant_id)
        try:
            await self.handlers.assign(uow, case, handoff.case_management_agency, handoff.case_manager_id)
        except (CaseloadFull, AwaitingOwgApproval):
            # Over the cap, or before the OWG approved: unassigned (the caseload view counts them); never lost.
            log.warning("handoff_without_assignment")  # caseload cap or OWG approval pending

    async def link(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        """A person match: the merged id answers for the survivor from now on, and its open referrals move."""
        linked = received.event
        assert isinstance(linked, referral.ParticipantsLinked)
        survivor_id = await links.survivor(uow.conn, linked.survivor_participant_id)
        merged_id = linked.merged_participant_id
        if merged_id == survivor_id:
            return
        merged = await uow.get(ParticipantCase, merged_id)
        if merged is not None:
            survivor = await uow.get(ParticipantCase, survivor_id)
            if survivor is None:
                survivor = ParticipantCase(survivor_id, merged.jurisdiction)
                uow.add(survivor)
            survivor.absorb(merged, self.clock.now())
        # The projections linked the ids and move the read-model rows (CaseMerged); the records move here.
        await links.move_records(uow.conn, merged_id, survivor_id)
        await self.handlers.report_capacity(uow, received.jurisdiction)

    async def keep_site_settings(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        policy = received.event
        assert isinstance(policy, referral.EligibilityPolicyAmended)  # kept by the projection
        await self.handlers.report_capacity(uow, received.jurisdiction)
