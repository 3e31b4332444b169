from divert_kernel.errors import Conflict, NotFound, RuleViolated


class ParticipantNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no participant with this id", field="participant_id")


class RuleConflict(Conflict):
    """A command the participant's state does not allow yet; `rule` names the rule, `retry_after` (seconds)
    says when the same request may succeed without anyone changing it."""

    rule = "state"
    retry_after: int | None = None


class IntakeAlreadyCompleted(RuleConflict):
    rule = "already_enrolled"

    def __init__(self) -> None:
        super().__init__("intake is already completed: the participant is enrolled")


class NoOpenReferral(RuleConflict):
    rule = "open_referral_required"

    def __init__(self) -> None:
        super().__init__("no referral of this participant is open (declined or denied); a new offer is needed")


class AwaitingOwgApproval(RuleConflict):
    rule = "owg_approval_required"

    def __init__(self, action: str) -> None:
        super().__init__(
            f"owg_approval_required: a social-contact referral needs the Operations Work Group's approval "
            f"before {action}"
        )


class NotEnrolled(RuleConflict):
    rule = "enrolment_required"

    def __init__(self) -> None:
        super().__init__(
            "enrolment_required: active, inactive and exited describe enrolled participants; intake comes first",
            field="status",
        )


class CannotWithdraw(RuleConflict):
    rule = "withdrawal_before_intake"

    def __init__(self, enrolment: str | None) -> None:
        why = "after intake, use status" if enrolment == "enrolled" else "the person is not referred"
        super().__init__(f"withdrawal_before_intake: a withdrawal is recorded before intake only ({why})")


class RoiNotYetSeen(RuleConflict):
    """The consent service has not yet seen the hand-off that names the holding provider."""

    rule = "roi_on_file"
    retry_after = 5

    def __init__(self) -> None:
        super().__init__(
            "the consent service has not yet seen this participant's hand-off to the provider; retry shortly",
            field="roi",
        )


class InvalidStatus(RuleViolated):
    pass


class CaseloadFull(Conflict):
    def __init__(self, case_manager_id: str, caseload: int, cap: int) -> None:
        super().__init__(
            f"case manager {case_manager_id} already carries {caseload} participants; the site's cap is {cap}",
            field="case_manager_id",
        )
