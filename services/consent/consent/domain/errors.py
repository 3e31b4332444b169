from divert_kernel.errors import Conflict, NotFound, RuleViolated


class ConsentNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no consent with this id", field="consent_id")


class InvalidConsent(RuleViolated):
    pass


class AlreadyRevoked(Conflict):
    def __init__(self) -> None:
        super().__init__("this consent is already revoked")
