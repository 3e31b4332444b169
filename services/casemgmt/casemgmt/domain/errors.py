from divert_kernel.errors import Conflict, NotFound, RuleViolated


class ParticipantNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no participant with this id", field="participant_id")


class IntakeAlreadyCompleted(Conflict):
    def __init__(self) -> None:
        super().__init__("intake is already completed for every referral of this participant")


class InvalidStatus(RuleViolated):
    pass


class CaseloadFull(Conflict):
    def __init__(self, case_manager_id: str, caseload: int, cap: int) -> None:
        super().__init__(
            f"case manager {case_manager_id} already carries {caseload} participants; the site's cap is {cap}",
            field="case_manager_id",
        )
