from datetime import date

from divert_kernel.errors import Conflict, Forbidden, NotFound, RuleViolated


class HeldChargeNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no held charge for this referral", field="referral_id")


class CaseNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no case with this id", field="case_id")


class ParticipantNotYetKnown(Conflict):
    """Not yet heard of here: the referral's events may still be on their way. Said the same whether or not the
    participant exists anywhere else, so it tells nothing of other jurisdictions."""

    retry_after_seconds = 5

    def __init__(self) -> None:
        super().__init__(
            "this office has not yet heard of this participant: the referral's events may still be on their way, "
            "so retry shortly (a participant never referred in this jurisdiction never becomes known here)",
            field="participant_id",
        )


class ClosedByIntake(Conflict):
    """Non-coercion: a charge closed by intake can never be filed, re-opened or held in abeyance."""

    def __init__(self) -> None:
        super().__init__(
            "the participant completed intake, so this diverted charge is closed for good and can never be filed"
        )


class ClosedParticipantEnrolled(Conflict):
    """Non-coercion, as for intake: the charge of a participant already in the program closed for good at once."""

    def __init__(self) -> None:
        super().__init__(
            "the participant was already enrolled in LEAD when this diversion was offered, so no new intake clock "
            "started: this diverted charge closed at once, for good, and can never be filed"
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
            "closed_participant_enrolled": "the participant was already enrolled in LEAD, so this diverted charge "
            "closed at once and is closed for good",
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


class FollowUpOnlyWhenMonitoring(RuleViolated):
    def __init__(self) -> None:
        super().__init__("a follow-up date goes only with the decision continue_to_monitor", field="follow_up_on")


class FollowUpNotAhead(RuleViolated):
    def __init__(self, max_days: int) -> None:
        super().__init__(
            f"a follow-up date is after the review's day (at the site) and at most {max_days} days on",
            field="follow_up_on",
        )
