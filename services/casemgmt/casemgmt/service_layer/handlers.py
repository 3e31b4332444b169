"""One handler per command; the event handlers (referrals, OWG decisions, lapses, links, policies) are in
reactions.py. Handlers write no read model: projections.py mirrors each case event into the participant's row in
the same unit of work. What events must not carry (forms, notes, goals, hashes, reasons) goes into records here."""

from __future__ import annotations

from uuid import uuid4

from casemgmt.adapters import care, store
from casemgmt.domain import commands
from casemgmt.domain.errors import ParticipantNotFound
from casemgmt.domain.model import ParticipantCase
from casemgmt.domain.site import ProgramCapacity
from casemgmt.service_layer.site import SettingsSource
from divert_kernel.clock import Clock
from divert_kernel.uow import UnitOfWork


class CommandHandlers:
    def __init__(self, clock: Clock, settings: SettingsSource) -> None:
        self.clock = clock
        self.settings = settings

    def commands(self) -> dict[type, object]:
        return {
            commands.CompleteIntake: self.complete_intake,
            commands.Withdraw: self.withdraw,
            commands.ChangeStatus: self.change_status,
            commands.ExtendIntakeDeadline: self.extend_intake,
            commands.AssignCaseManager: self.assign_case_manager,
            commands.RecordScreening: self.record_screening,
            commands.UpdatePlan: self.update_plan,
            commands.LogContact: self.log_contact,
        }

    async def _case(self, uow: UnitOfWork, participant_id: str) -> ParticipantCase:
        case = await uow.get(ParticipantCase, participant_id)
        if case is None:
            raise ParticipantNotFound()
        return case

    async def report_capacity(self, uow: UnitOfWork, jurisdiction: str) -> None:
        await uow.flush()  # project what this unit of work recorded, so the count below includes it
        capacity = await uow.get(ProgramCapacity, jurisdiction) or ProgramCapacity(jurisdiction)
        uow.add(capacity)
        site = await self.settings.of(uow.conn, jurisdiction)
        capacity.report(await care.carried(uow.conn, jurisdiction), site.program_capacity, self.clock.now())

    async def complete_intake(self, cmd: commands.CompleteIntake, uow: UnitOfWork) -> ParticipantCase:
        case = await self._case(uow, cmd.participant_id)
        now = self.clock.now()
        case.complete_intake(cmd.completed_at, now, cmd.consent_to_participate, cmd.roi)
        assert cmd.consent_to_participate is not None  # complete_intake refuses an intake without it
        await store.keep_consent(
            uow.conn, case.id, cmd.consent_to_participate, cmd.roi.consent_id, cmd.recorded_by, now
        )
        await self.report_capacity(uow, case.jurisdiction)
        return case

    async def withdraw(self, cmd: commands.Withdraw, uow: UnitOfWork) -> ParticipantCase:
        case = await self._case(uow, cmd.participant_id)
        case.withdraw(self.clock.now())
        await self.report_capacity(uow, case.jurisdiction)
        return case

    async def change_status(self, cmd: commands.ChangeStatus, uow: UnitOfWork) -> ParticipantCase:
        case = await self._case(uow, cmd.participant_id)
        case.change_status(cmd.status, cmd.reason, self.clock.now())
        await self.report_capacity(uow, case.jurisdiction)
        return case

    async def extend_intake(self, cmd: commands.ExtendIntakeDeadline, uow: UnitOfWork) -> ParticipantCase:
        case = await self._case(uow, cmd.participant_id)
        current, now = case.intake_deadline, self.clock.now()
        site = await self.settings.of(uow.conn, case.jurisdiction)
        case.extend_intake(cmd.intake_deadline, cmd.granted_by, cmd.law_enforcement_agency, now, site.extension_bounds)
        assert current is not None  # extend_intake refuses a case with nothing pending
        await self.report_capacity(uow, case.jurisdiction)
        fields = {
            "to_deadline": cmd.intake_deadline,
            "granted_by": cmd.granted_by,
            "law_enforcement_agency": cmd.law_enforcement_agency,
            "reason": cmd.reason,
        }
        await store.record_extension(uow.conn, case.id, current, fields, now)
        return case

    async def assign(self, uow: UnitOfWork, case: ParticipantCase, holder: str | None, case_manager_id: str) -> None:
        caseload = await care.lock_and_count_caseload(uow.conn, case.jurisdiction, holder, case_manager_id)
        site = await self.settings.of(uow.conn, case.jurisdiction)
        case.assign(case_manager_id, caseload, site.caseload_cap, self.clock.now())
        await self.report_capacity(uow, case.jurisdiction)

    async def assign_case_manager(self, cmd: commands.AssignCaseManager, uow: UnitOfWork) -> ParticipantCase:
        case = await self._case(uow, cmd.participant_id)
        await self.assign(uow, case, cmd.holder, cmd.case_manager_id)
        return case

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
