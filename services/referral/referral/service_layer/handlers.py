"""One handler per command."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import uuid4

from divert_kernel.clock import Clock
from divert_kernel.uow import UnitOfWork
from referral.adapters import store
from referral.domain.commands import SubmitReferral
from referral.domain.model import Referral, SitePolicy


@dataclass(frozen=True)
class ReferralAccepted:
    referral_id: str
    participant_id: str
    status: str
    intake_deadline: date | None
    policy_version: int


class Handlers:
    def __init__(self, clock: Clock, default_policy: SitePolicy) -> None:
        self.clock = clock
        self.default_policy = default_policy

    def table(self) -> dict[type, object]:
        return {SubmitReferral: self.submit_referral}

    async def submit_referral(self, cmd: SubmitReferral, uow: UnitOfWork) -> ReferralAccepted:
        now: datetime = self.clock.now()
        referral_id = str(uuid4())
        participant_id = await store.participant_for(uow.conn, cmd)
        referral = Referral.submit(referral_id, participant_id, cmd, self.default_policy, now)
        uow.add(referral)
        await store.add_referral(
            uow.conn,
            referral_id,
            participant_id,
            cmd,
            status=referral.status,
            intake_deadline=referral.intake_deadline,
            policy_version=self.default_policy.version,
            created_at=now,
        )
        return ReferralAccepted(
            referral_id, participant_id, referral.status, referral.intake_deadline, self.default_policy.version
        )
