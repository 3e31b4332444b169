from divert_kernel.errors import NotFound, RuleViolated


class ReferralNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no referral with this id", field="referral_id")


class IneligibleReferral(RuleViolated):
    pass
