from divert_kernel.errors import Conflict, Forbidden, NotFound


class HeldChargeNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no held charge for this referral", field="referral_id")


class ClosedByIntake(Conflict):
    """Non-coercion: a charge closed by intake can never be filed, re-opened or held in abeyance."""

    def __init__(self) -> None:
        super().__init__(
            "the participant completed intake, so this diverted charge is closed for good and can never be filed"
        )


class DeadlineNotLapsed(Conflict):
    def __init__(self) -> None:
        super().__init__("the intake window has not lapsed; a held charge can be filed only after it lapses")


class NotHeld(Conflict):
    def __init__(self, status: str) -> None:
        super().__init__(f"the charge is {status}, not held")


class OnlyProsecutorFiles(Forbidden):
    def __init__(self) -> None:
        super().__init__("only the prosecutor may file a held charge")
