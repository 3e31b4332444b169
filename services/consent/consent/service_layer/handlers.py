"""One handler per command."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import uuid4

from consent.adapters import store
from consent.domain import policy
from consent.domain.commands import DecideAccess, RecordConsent, RevokeConsent
from consent.domain.errors import ConsentNotFound
from consent.domain.model import AccessDecision, Consent
from divert_kernel.clock import Clock
from divert_kernel.uow import UnitOfWork


@dataclass(frozen=True)
class DecisionOut:
    decision_id: str
    decision: str
    basis: dict[str, str] | None
    obligations: list[dict[str, object]] = field(default_factory=list)


class Handlers:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def commands(self) -> dict[type, object]:
        return {
            RecordConsent: self.record_consent,
            RevokeConsent: self.revoke_consent,
            DecideAccess: self.decide_access,
        }

    async def record_consent(self, cmd: RecordConsent, uow: UnitOfWork) -> str:
        consent_id = str(uuid4())
        uow.add(Consent.sign(consent_id, cmd))
        await store.add_consent(uow.conn, consent_id, cmd, self.clock.now())
        return consent_id

    async def revoke_consent(self, cmd: RevokeConsent, uow: UnitOfWork) -> None:
        consent = await uow.get(Consent, cmd.consent_id)
        if consent is None:
            raise ConsentNotFound()
        now = self.clock.now()
        consent.revoke(cmd.recipient_agency, now)
        await store.revoke(uow.conn, cmd.consent_id, cmd.recipient_agency, now)

    async def decide_access(self, cmd: DecideAccess, uow: UnitOfWork) -> DecisionOut:
        """Fail closed: permit only on an unexpired, unrevoked consent naming recipient, category and purpose."""
        now = self.clock.now()
        consent_id = None
        if not policy.forbidden_whatever_consent_says(cmd.category, cmd.requester_agency_type):
            consent_id = await store.permitting_consent(uow.conn, cmd, now)
        decision, basis_kind = ("permit", "consent") if consent_id else ("deny", "none")
        decision_id = str(uuid4())
        uow.add(AccessDecision.decide(decision_id, cmd, decision, basis_kind, consent_id, now))
        await store.add_decision(
            uow.conn, decision_id, cmd, decision=decision, basis_kind=basis_kind, basis_id=consent_id, decided_at=now
        )
        basis = {"kind": basis_kind, "id": consent_id} if consent_id else None
        return DecisionOut(decision_id, decision, basis, policy.obligations(cmd.category) if consent_id else [])
