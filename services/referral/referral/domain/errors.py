from divert_kernel.errors import Conflict, Forbidden, NotFound, RuleViolated


class ReferralNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no referral with this id", field="referral_id")


class IneligibleReferral(RuleViolated):
    pass


class WrongState(Conflict):
    pass


class NotAReferrer(Forbidden):
    def __init__(self, agency_type: str) -> None:
        super().__init__(f"this site's policy does not let {agency_type} agencies make social-contact referrals")
