from datetime import datetime

from divert_kernel.errors import Conflict, Forbidden, NotFound, RuleViolated


class ConsentNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no consent with this id", field="consent_id")


class NotForThisAgency(Forbidden):
    """Refused by agency type, whatever the participant (so it reveals nothing about one)."""


class InvalidConsent(RuleViolated):
    pass


class AlreadyRevoked(Conflict):
    def __init__(self) -> None:
        super().__init__("this consent is already revoked")


class NotADraft(Conflict):
    def __init__(self) -> None:
        super().__init__("only a draft consent can be signed; a signed consent is immutable")


class ConsentNotActive(Conflict):
    def __init__(self, state: str) -> None:
        super().__init__(f"the consent is {state}; only an active consent can be revoked")


class Irrevocable(Conflict):
    """42 CFR §2.35: the prosecutor's monitoring consent may be irrevocable until a stated date."""

    def __init__(self, recipient_agency: str, until: datetime) -> None:
        super().__init__(
            f"the grant to {recipient_agency} is irrevocable until {until.isoformat()} under 42 CFR §2.35 "
            "(the prosecutor's monitoring of a diverted charge); revoke other recipients separately",
            field="recipient_agency",
        )


class OverlappingConsent(Conflict):
    def __init__(self, index: int, existing_consent_id: str, recipient: str, purposes: list[str]) -> None:
        super().__init__(
            f"consent {existing_consent_id} already lets {recipient} read for {', '.join(sorted(purposes))} in an "
            "overlapping period; revoke it first or change the new consent's period",
            field=f"grants.{index}",
        )


class BreakGlassRefused(RuleViolated):
    pass
