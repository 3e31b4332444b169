from datetime import UTC, date, datetime

import pytest

from casemgmt.domain.enrolment import ConsentToParticipate, RoiOnFile
from casemgmt.domain.errors import CaseloadFull, IntakeAlreadyCompleted, InvalidStatus
from casemgmt.domain.model import ExtensionBounds, ParticipantCase
from divert_contracts.casemgmt import (
    CaseOpened,
    EnrolmentChanged,
    IntakeCompleted,
    IntakeDeadlineExtended,
    ParticipantStatusChanged,
)

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
BOUNDS = ExtensionBounds(per_extension_days=30, total_days=90)
CONSENT = ConsentToParticipate(NOW, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
ROI = RoiOnFile(on_file=True, consent_id="c1", holder_known=True)
ENROLLED = EnrolmentChanged(participant_id="p1", enrolment="enrolled", changed_at=NOW)


def given(*history: object) -> ParticipantCase:
    return ParticipantCase.replay("p1", "seattle-king-county", history)  # type: ignore[arg-type,return-value]


def opened(referral_id: str = "r1", deadline: date | None = date(2026, 12, 20)) -> CaseOpened:
    return CaseOpened(
        participant_id="p1", referral_id=referral_id, referral_type="arrest_diversion", intake_deadline=deadline
    )


class TestReferralsOpenTheCase:
    def test_a_referral_opens_the_case_once(self) -> None:
        case = given()
        case.receive_referral("r1", "arrest_diversion", date(2026, 12, 20), NOW, None)
        case.receive_referral("r1", "arrest_diversion", date(2026, 12, 20), NOW, None)
        assert [type(e) for e in case.pending] == [CaseOpened, EnrolmentChanged]

    def test_the_earliest_pending_deadline_is_the_one_that_counts(self) -> None:
        case = given(opened("r1", date(2026, 12, 20)), opened("r2", date(2026, 12, 5)))
        assert case.intake_deadline == date(2026, 12, 5)


class TestIntake:
    def test_intake_covers_every_pending_referral(self) -> None:
        case = given(opened("r1"), opened("r2"))
        case.complete_intake(NOW, NOW, CONSENT, ROI)
        event = case.pending[0]
        assert isinstance(event, IntakeCompleted)
        assert event.referral_ids == ["r1", "r2"]
        assert case.intake_deadline is None

    def test_intake_in_the_future_is_refused(self) -> None:
        case = given(opened())
        with pytest.raises(InvalidStatus):
            case.complete_intake(datetime(2026, 11, 24, tzinfo=UTC), NOW, CONSENT, ROI)
        assert case.pending == []

    def test_intake_with_nothing_pending_is_refused(self) -> None:
        case = given(opened())
        case.complete_intake(NOW, NOW, CONSENT, ROI)
        with pytest.raises(IntakeAlreadyCompleted):
            case.complete_intake(NOW, NOW, CONSENT, ROI)


class TestNoFailureStatuses:
    @pytest.mark.parametrize("status", ["failed", "terminated", "noncompliant"])
    def test_failure_statuses_do_not_exist(self, status: str) -> None:
        case = given(opened(), ENROLLED)
        with pytest.raises(InvalidStatus) as refused:
            case.change_status(status, "missed appointments", NOW)
        assert refused.value.field == "status"
        assert case.pending == []

    def test_the_only_exit_is_a_code_of_conduct_violation(self) -> None:
        case = given(opened(), ENROLLED)
        with pytest.raises(InvalidStatus):
            case.change_status("exited", "noncompliance", NOW)
        case.change_status("exited", "code_of_conduct", NOW)
        assert [type(e) for e in case.pending] == [ParticipantStatusChanged]
        assert case.status == "exited"

    def test_active_and_inactive_are_ordinary(self) -> None:
        case = given(opened(), ENROLLED)
        case.change_status("inactive", "not seen in 90 days", NOW)
        assert case.status == "inactive"


class TestExtensions:
    def test_an_owg_extension_moves_every_pending_deadline_later(self) -> None:
        case = given(opened("r1", date(2026, 12, 20)))
        case.extend_intake(date(2027, 1, 10), "lead-project-manager", "seattle-pd", NOW, BOUNDS)
        [event] = case.pending
        assert isinstance(event, IntakeDeadlineExtended) and event.referral_ids == ["r1"]
        assert case.intake_deadline == date(2027, 1, 10)

    def test_an_extension_cannot_shorten_the_window(self) -> None:
        case = given(opened("r1", date(2026, 12, 20)))
        with pytest.raises(InvalidStatus) as refused:
            case.extend_intake(date(2026, 12, 1), "lead-project-manager", "seattle-pd", NOW, BOUNDS)
        assert refused.value.field == "intake_deadline"

    @pytest.mark.parametrize("deadline", [date(2027, 1, 20), date(9999, 12, 31)])
    def test_one_extension_is_bounded_by_the_site(self, deadline: date) -> None:
        case = given(opened("r1", date(2026, 12, 20)))
        with pytest.raises(InvalidStatus) as refused:
            case.extend_intake(deadline, "lead-project-manager", "seattle-pd", NOW, BOUNDS)
        assert refused.value.field == "intake_deadline" and not case.pending

    def test_extensions_in_all_are_bounded_from_the_original_deadline(self) -> None:
        case = given(
            opened("r1", date(2026, 12, 20)),
            *(
                IntakeDeadlineExtended(
                    participant_id="p1",
                    referral_ids=["r1"],
                    intake_deadline=d,
                    granted_by="lead-project-manager",
                    law_enforcement_agency="seattle-pd",
                    extended_at=NOW,
                )
                for d in (date(2027, 1, 19), date(2027, 2, 18))
            ),
        )
        case.extend_intake(date(2027, 3, 20), "lead-project-manager", "seattle-pd", NOW, BOUNDS)  # 90 days in all
        with pytest.raises(InvalidStatus) as refused:
            case.extend_intake(date(2027, 3, 21), "lead-project-manager", "seattle-pd", NOW, BOUNDS)
        assert refused.value.field == "intake_deadline" and len(case.pending) == 1

    def test_nothing_to_extend_after_intake(self) -> None:
        case = given(opened("r1"))
        case.complete_intake(NOW, NOW, CONSENT, ROI)
        with pytest.raises(InvalidStatus):
            case.extend_intake(date(2027, 1, 10), "lead-project-manager", "seattle-pd", NOW, BOUNDS)


class TestCare:
    def test_assignment_is_refused_at_the_caseload_cap(self) -> None:
        case = given(opened())
        with pytest.raises(CaseloadFull) as refused:
            case.assign("cm-1", caseload=25, cap=25, now=NOW)
        assert refused.value.field == "case_manager_id"
        case.assign("cm-1", caseload=24, cap=25, now=NOW)
        assert case.case_manager_id == "cm-1"

    def test_plans_are_versioned_and_need_a_goal(self) -> None:
        case = given(opened())
        assert case.update_plan(2, NOW) == 1
        assert case.update_plan(3, NOW) == 2
        with pytest.raises(InvalidStatus):
            case.update_plan(0, NOW)

    def test_contacts_and_screenings_are_recorded_once_they_happened(self) -> None:
        case = given(opened())
        with pytest.raises(InvalidStatus):
            case.log_contact("c1", "street", date(2026, 11, 24), NOW)
        with pytest.raises(InvalidStatus):
            case.complete_screening("cm-1", datetime(2026, 11, 24, tzinfo=UTC), NOW)
        case.log_contact("c1", "street", date(2026, 11, 23), NOW)
        assert len(case.pending) == 1
