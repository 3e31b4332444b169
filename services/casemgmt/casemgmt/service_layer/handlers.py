"""One handler per command; event handlers for referrals arriving from police."""

from __future__ import annotations

import logging
from uuid import uuid4

from casemgmt.adapters import care, store
from casemgmt.domain import commands
from casemgmt.domain.commands import ChangeStatus, CompleteIntake, ExtendIntakeDeadline
from casemgmt.domain.errors import CaseloadFull, ParticipantNotFound
from casemgmt.domain.model import ParticipantCase, ProgramCapacity
from divert_contracts.referral import DiversionOffered, SocialContactReferralSubmitted, WarmHandoffCompleted
from divert_kernel.clock import Clock
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.uow import UnitOfWork

log = logging.getLogger("divert.casemgmt")


class Handlers:
    def __init__(self, clock: Clock, caseload_cap: int = 25, program_capacity: int = 200) -> None:
        self.clock = clock
        self.caseload_cap = caseload_cap
        self.program_capacity = program_capacity

    async def _report_capacity(self, uow: UnitOfWork, jurisdiction: str) -> None:
        capacity = await uow.get(ProgramCapacity, jurisdiction) or ProgramCapacity(jurisdiction)
        uow.add(capacity)
        capacity.report(await care.carried(uow.conn, jurisdiction), self.program_capacity, self.clock.now())

    def commands(self) -> dict[type, object]:
        return {
            CompleteIntake: self.complete_intake,
            ChangeStatus: self.change_status,
            ExtendIntakeDeadline: self.extend_intake,
            commands.AssignCaseManager: self.assign_case_manager,
            commands.RecordScreening: self.record_screening,
            commands.UpdatePlan: self.update_plan,
            commands.LogContact: self.log_contact,
        }

    def subscriptions(self) -> dict[str, dict[str, object]]:
        return {
            "referral": {
                "DiversionOffered": self.receive_referral,
                "SocialContactReferralSubmitted": self.receive_referral,
                "WarmHandoffCompleted": self.assign_on_handoff,
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
        await self._report_capacity(uow, case.jurisdiction)
        return case

    async def extend_intake(self, cmd: ExtendIntakeDeadline, uow: UnitOfWork) -> ParticipantCase:
        case = await self._case(uow, cmd.participant_id)
        current, now = case.intake_deadline, self.clock.now()
        case.extend_intake(cmd.intake_deadline, cmd.granted_by, cmd.law_enforcement_agency, now, cmd.bounds)
        assert current is not None  # extend_intake refuses a case with nothing pending
        await store.record_deadline(uow.conn, case.id, case.intake_deadline, now)
        fields = {
            "to_deadline": cmd.intake_deadline,
            "granted_by": cmd.granted_by,
            "law_enforcement_agency": cmd.law_enforcement_agency,
            "reason": cmd.reason,
        }
        await store.record_extension(uow.conn, case.id, current, fields, now)
        return case

    async def _assign(self, uow: UnitOfWork, case: ParticipantCase, holder: str | None, case_manager_id: str) -> None:
        caseload = await care.lock_and_count_caseload(uow.conn, case.jurisdiction, holder, case_manager_id)
        now = self.clock.now()
        case.assign(case_manager_id, caseload, self.caseload_cap, now)
        await care.assign(uow.conn, case.id, case_manager_id, now)
        await self._report_capacity(uow, case.jurisdiction)

    async def assign_case_manager(self, cmd: commands.AssignCaseManager, uow: UnitOfWork) -> ParticipantCase:
        case = await self._case(uow, cmd.participant_id)
        await self._assign(uow, case, cmd.holder, cmd.case_manager_id)
        return case

    async def assign_on_handoff(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        handoff = received.event
        assert isinstance(handoff, WarmHandoffCompleted)
        case = await uow.get(ParticipantCase, handoff.participant_id)
        if case is None:
            raise LookupError("hand-off before the referral reached case management; retried")
        # The provider named in the latest hand-off holds the records from now on (None: no provider yet).
        await store.record_holder(uow.conn, case.id, handoff.case_management_agency, self.clock.now())
        try:
            await self._assign(uow, case, handoff.case_management_agency, handoff.case_manager_id)
        except CaseloadFull:
            # Over the cap the participant stays unassigned (the caseload view counts them); never lost.
            log.warning("hand-off to a case manager at the caseload cap; participant left unassigned")

    async def record_screening(self, cmd: commands.RecordScreening, uow: UnitOfWork) -> ParticipantCase:
        case = await self._case(uow, cmd.participant_id)
        case.complete_screening(cmd.screened_by, cmd.completed_at, self.clock.now())
        await care.save_screening(uow.conn, cmd)
        return case

    async def update_plan(self, cmd: commands.UpdatePlan, uow: UnitOfWork) -> int:
        case = await self._case(uow, cmd.participant_id)
        version = case.update_plan(len(cmd.goals), self.clock.now())
        await care.add_plan(uow.conn, cmd, version, self.clock.now())
        return version

    async def log_contact(self, cmd: commands.LogContact, uow: UnitOfWork) -> str:
        case = await self._case(uow, cmd.participant_id)
        contact_id = str(uuid4())
        case.log_contact(contact_id, cmd.kind, cmd.occurred_on, self.clock.now())
        await care.add_contact(uow.conn, contact_id, cmd, self.clock.now())
        return contact_id

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
