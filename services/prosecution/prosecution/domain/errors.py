from datetime import date

from divert_kernel.errors import Conflict, Forbidden, NotFound, RuleViolated


class HeldChargeNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no held charge for this referral", field="referral_id")


class CaseNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no case with this id", field="case_id")


class UnknownParticipant(RuleViolated):
    def __init__(self) -> None:
        super().__init__("the prosecutor's office knows no participant with this id", field="participant_id")


class ClosedByIntake(Conflict):
    """Non-coercion: a charge closed by intake can never be filed, re-opened or held in abeyance."""

    def __init__(self) -> None:
        super().__init__(
            "the participant completed intake, so this diverted charge is closed for good and can never be filed"
        )


class NeverInAbeyance(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "a LEAD diverted charge is never held in abeyance: it is held until intake (then closed for good) or "
            "until the intake window lapses"
        )


class CannotReopen(Conflict):
    def __init__(self, status: str) -> None:
        reasons = {
            "closed_by_intake": "the participant completed intake, so this diverted charge is closed for good",
            "held": "the charge is still held; there is nothing to re-open",
            "lapsed": "the charge's window lapsed and awaits the prosecutor's decision; there is nothing to re-open",
        }
        reason = reasons.get(status, f"the charge is {status}; a decided charge is not re-opened")
        super().__init__(reason)


class DeadlineNotLapsed(Conflict):
    def __init__(self, deadline: date) -> None:
        super().__init__(
            f"the intake window runs to {deadline.isoformat()}; the prosecutor decides on filing only after it lapses"
        )


class NotHeld(Conflict):
    def __init__(self, status: str) -> None:
        super().__init__(f"the charge is {status}, not held")


class OnlyProsecutorDecides(Forbidden):
    def __init__(self) -> None:
        super().__init__("only the prosecutor decides whether to file a held charge")


class DecidedOnlyByTheHoldingOffice(Conflict):
    """The rule, told to an agency that is not a prosecutor whatever the record (so nothing of it is revealed)."""

    def __init__(self) -> None:
        super().__init__(
            "only the prosecutor's office holding a diverted charge decides whether to file it, and only after the "
            "intake window lapsed without intake: a charge closed by intake is never filed"
        )


class NeverReopened(Conflict):
    """The rule, told to an agency that is not a prosecutor whatever the record."""

    def __init__(self) -> None:
        super().__init__(
            "a diverted charge is never re-opened: closed by intake is final, and a decided charge stays decided"
        )


class CourtDateInPast(RuleViolated):
    def __init__(self) -> None:
        super().__init__("a new hearing is scheduled in the future", field="scheduled_for")
