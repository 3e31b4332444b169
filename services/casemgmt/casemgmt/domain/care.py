"""The care records a case keeps: case-manager assignment, the initial screening, the plan, contacts."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from casemgmt.domain.errors import CaseloadFull, InvalidStatus
from divert_contracts.casemgmt import (
    CaseManagerAssigned,
    ContactLogged,
    InitialScreeningCompleted,
    InterventionPlanUpdated,
)
from divert_kernel.events import Event


class CareRecords:
    """Commands of ParticipantCase about care; the case's `apply` changes the state they read."""

    id: str
    case_manager_id: str | None
    plan_version: int

    if TYPE_CHECKING:  # provided by ParticipantCase; declared here for the type checker only

        def _record(self, event: Event) -> None: ...

        def check_owg_approval(self, action: str) -> None: ...

    def assign(self, case_manager_id: str, caseload: int, cap: int, now: datetime) -> None:
        """Assign a case manager whose caseload is below the site's cap."""
        if case_manager_id == self.case_manager_id:
            return
        self.check_owg_approval("assignment of a case manager")
        if caseload >= cap:
            raise CaseloadFull(case_manager_id, caseload, cap)
        self._record(CaseManagerAssigned(participant_id=self.id, case_manager_id=case_manager_id, assigned_at=now))

    def complete_screening(self, screened_by: str, completed_at: datetime, now: datetime) -> None:
        if completed_at > now:
            raise InvalidStatus("a screening is recorded once it happened", field="screened_at")
        self.check_owg_approval("the initial screening")
        self._record(
            InitialScreeningCompleted(participant_id=self.id, screened_by=screened_by, completed_at=completed_at)
        )

    def update_plan(self, goal_count: int, now: datetime) -> int:
        if goal_count < 1:
            raise InvalidStatus("a plan has at least one participant-identified goal", field="goals")
        self._record(
            InterventionPlanUpdated(
                participant_id=self.id, plan_version=self.plan_version + 1, goal_count=goal_count, updated_at=now
            )
        )
        return self.plan_version

    def log_contact(self, contact_id: str, kind: str, occurred_on: date, now: datetime) -> None:
        if occurred_on > now.date():
            raise InvalidStatus("a contact is logged once it happened", field="occurred_on")
        self._record(ContactLogged(participant_id=self.id, contact_id=contact_id, kind=kind, occurred_on=occurred_on))  # type: ignore[arg-type]
