"""The Release of Information: immutable once signed, revocable whole or for one recipient."""

from __future__ import annotations

import re
from datetime import datetime
from functools import singledispatchmethod

from consent.domain.commands import DecideAccess, RecordConsent
from consent.domain.errors import AlreadyRevoked, InvalidConsent
from divert_contracts.consent import AccessDecided, ConsentGranted, ConsentRevoked, GrantTerms
from divert_kernel.aggregate import Aggregate
from divert_kernel.events import Event

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class Consent(Aggregate):
    stream_prefix = "consent"

    def __init__(self, consent_id: str, jurisdiction: str) -> None:
        super().__init__(consent_id, jurisdiction)
        self.participant_id = ""
        self.recipients: set[str] = set()
        self.revoked_recipients: set[str] = set()
        self.revoked = False

    @classmethod
    def sign(cls, consent_id: str, cmd: RecordConsent) -> Consent:
        consent = cls(consent_id, cmd.jurisdiction)
        consent.check_terms(cmd)
        consent._record(
            ConsentGranted(
                consent_id=consent_id,
                participant_id=cmd.participant_id,
                grants=[
                    GrantTerms(
                        recipient_agency=g.recipient_agency, categories=list(g.categories), purposes=list(g.purposes)
                    )  # type: ignore[arg-type]
                    for g in cmd.grants
                ],
                effective_at=cmd.effective_at,
                expires_at=cmd.expires_at,
                signed_document_sha256=cmd.signed_document_sha256,
            )
        )
        return consent

    @staticmethod
    def check_terms(cmd: RecordConsent) -> None:
        if cmd.expires_at <= cmd.effective_at:
            raise InvalidConsent("a consent must expire after it takes effect", field="expires_at")
        if not cmd.grants:
            raise InvalidConsent("a consent names at least one recipient agency", field="grants")
        recipients = [g.recipient_agency for g in cmd.grants]
        if len(set(recipients)) != len(recipients):
            raise InvalidConsent("each recipient agency appears once; list all its categories there", field="grants")
        if not _SHA256.match(cmd.signed_document_sha256):
            raise InvalidConsent(
                "the signed document's SHA-256 is 64 lowercase hex digits", field="signed_document_sha256"
            )

    def revoke(self, recipient_agency: str | None, now: datetime) -> None:
        if self.revoked or (recipient_agency is not None and recipient_agency in self.revoked_recipients):
            raise AlreadyRevoked()
        if recipient_agency is not None and recipient_agency not in self.recipients:
            raise InvalidConsent("this consent names no such recipient agency", field="recipient_agency")
        self._record(
            ConsentRevoked(
                consent_id=self.id,
                participant_id=self.participant_id,
                recipient_agency=recipient_agency,
                revoked_at=now,
            )
        )

    @singledispatchmethod
    def apply(self, event: Event) -> None:
        raise TypeError(f"Consent cannot apply {type(event).__name__}")

    @apply.register
    def _(self, event: ConsentGranted) -> None:
        self.participant_id = event.participant_id
        self.recipients = {g.recipient_agency for g in event.grants}

    @apply.register
    def _(self, event: ConsentRevoked) -> None:
        if event.recipient_agency is None:
            self.revoked = True
        else:
            self.revoked_recipients.add(event.recipient_agency)


class AccessDecision(Aggregate):
    """One decision, recorded so the audit log and the accounting of disclosures see it."""

    stream_prefix = "decision"

    @classmethod
    def decide(
        cls, decision_id: str, cmd: DecideAccess, decision: str, basis_kind: str, basis_id: str | None, now: datetime
    ) -> AccessDecision:
        recorded = cls(decision_id, cmd.jurisdiction)
        recorded._record(
            AccessDecided(
                decision_id=decision_id,
                participant_id=cmd.participant_id,
                requester_agency=cmd.requester_agency,
                requester_agency_type=cmd.requester_agency_type,
                category=cmd.category,  # type: ignore[arg-type]
                purpose=cmd.purpose,  # type: ignore[arg-type]
                decision=decision,  # type: ignore[arg-type]
                basis_kind=basis_kind,  # type: ignore[arg-type]
                basis_id=basis_id,
                decided_at=now,
            )
        )
        return recorded

    @singledispatchmethod
    def apply(self, event: Event) -> None:
        raise TypeError(f"AccessDecision cannot apply {type(event).__name__}")

    @apply.register
    def _(self, event: AccessDecided) -> None:
        self.decision = event.decision
