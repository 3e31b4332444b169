"""One handler per command; event handlers for referrals arriving from police."""

from __future__ import annotations

from casemgmt.adapters import store
from casemgmt.domain.commands import ChangeStatus, CompleteIntake, ExtendIntakeDeadline
from casemgmt.domain.errors import ParticipantNotFound
from casemgmt.domain.model import ParticipantCase
from divert_contracts.referral import DiversionOffered, SocialContactReferralSubmitted
from divert_kernel.clock import Clock
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.uow import UnitOfWork


class Handlers:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def commands(self) -> dict[type, object]:
        return {
            CompleteIntake: self.complete_intake,
            ChangeStatus: self.change_status,
            ExtendIntakeDeadline: self.extend_intake,
        }

    def subscriptions(self) -> dict[str, dict[str, object]]:
        return {
            "referral": {
                "DiversionOffered": self.receive_referral,
                "SocialContactReferralSubmitted": self.receive_referral,
            }
        }

    async def _case(self, uow: UnitOfWork, participant_id: str) -> ParticipantCase:
        case = await uow.get(ParticipantCase, participant_id)
        if case is None:
            raise ParticipantNotFound()
        return case

    async def complete_intake(self, cmd: CompleteIntake, uow: UnitOfWork) -> ParticipantCase:
        case = await self._case(uow, cmd.participant_id)
        referral_ids = sorted(case.pending_referrals)
        now = self.clock.now()
        case.complete_intake(cmd.completed_at, now)
        await store.record_intake(uow.conn, case.id, referral_ids, cmd.completed_at, now)
        return case

    async def change_status(self, cmd: ChangeStatus, uow: UnitOfWork) -> ParticipantCase:
        case = await self._case(uow, cmd.participant_id)
        now = self.clock.now()
        case.change_status(cmd.status, cmd.reason, now)
        await store.record_status(uow.conn, case.id, cmd.status, cmd.reason, now)
        return case

    async def extend_intake(self, cmd: ExtendIntakeDeadline, uow: UnitOfWork) -> ParticipantCase:
        case = await self._case(uow, cmd.participant_id)
        case.extend_intake(cmd.intake_deadline, cmd.granted_by, cmd.law_enforcement_agency, self.clock.now())
        await store.record_deadline(uow.conn, case.id, case.intake_deadline, self.clock.now())
        return case

    async def receive_referral(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        referral = received.event
        assert isinstance(referral, DiversionOffered | SocialContactReferralSubmitted)
        deadline = referral.intake_deadline if isinstance(referral, DiversionOffered) else None
        case = await uow.get(ParticipantCase, referral.participant_id)
        if case is None:
            case = ParticipantCase(referral.participant_id, received.jurisdiction)
            uow.add(case)
        case.receive_referral(referral.referral_id, referral.referral_type, deadline)
        await store.record_referral(
            uow.conn,
            participant_id=case.id,
            jurisdiction=case.jurisdiction,
            referral_id=referral.referral_id,
            referral_type=referral.referral_type,
            intake_deadline=deadline,
            participant_deadline=case.intake_deadline,
            now=self.clock.now(),
        )
