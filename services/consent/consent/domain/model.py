"""The Release of Information, the site's MOU versions and break-glass: immutable once recorded, every version kept."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import singledispatchmethod
from typing import Any

from consent.domain import commands
from consent.domain.errors import (
    AlreadyRevoked,
    BreakGlassRefused,
    ConsentNotActive,
    InvalidConsent,
    Irrevocable,
    NotADraft,
    NotForThisAgency,
)
from consent.domain.policy import (
    BREAK_GLASS,
    BREAK_GLASS_AGENCY_TYPE,
    ENFORCEMENT_PURPOSES,
    PART2_CATEGORY,
    ROI_ONLY_CATEGORIES,
    Verdict,
)
from divert_contracts.consent import (
    AccessDecided,
    BreakGlassInvoked,
    ConsentDrafted,
    ConsentExpired,
    ConsentGranted,
    ConsentRevoked,
    GrantTerms,
    MouTermRecorded,
    SiteMouRecorded,
)
from divert_kernel.aggregate import Aggregate
from divert_kernel.events import Event

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
BREAK_GLASS_MAX_MINUTES = 60


class Consent(Aggregate):
    stream_prefix = "consent"

    def __init__(self, consent_id: str, jurisdiction: str) -> None:
        super().__init__(consent_id, jurisdiction)
        self.state = "new"
        self.participant_id = ""
        self.grants: dict[str, GrantTerms] = {}
        self.revoked_recipients: set[str] = set()
        self.terms: ConsentDrafted | None = None

    @classmethod
    def record(cls, consent_id: str, cmd: commands.RecordConsent) -> Consent:
        consent = cls(consent_id, cmd.jurisdiction)
        consent.check_terms(cmd)
        grants = [
            GrantTerms(
                recipient_agency=g.recipient_agency,
                categories=list(g.categories),  # type: ignore[arg-type]
                purposes=list(g.purposes),  # type: ignore[arg-type]
                irrevocable_until=g.irrevocable_until,
            )
            for g in cmd.grants
        ]
        # Any: the events' fields are checked by pydantic when they are built, one value type per key.
        terms: dict[str, Any] = {
            "consent_id": consent_id,
            "participant_id": cmd.participant_id,
            "grants": grants,
            "effective_at": cmd.effective_at,
            "expires_at": cmd.expires_at,
            "expires_on_event": cmd.expires_on_event,
            "wording_version": cmd.wording_version,
        }
        if cmd.draft:
            consent._record(ConsentDrafted(**terms))
        else:
            assert cmd.signed_document_sha256 is not None  # check_terms refuses a grant without its document
            consent._record(ConsentGranted(**terms, signed_document_sha256=cmd.signed_document_sha256))
        return consent

    @staticmethod
    def check_terms(cmd: commands.RecordConsent) -> None:
        if cmd.expires_at <= cmd.effective_at:
            raise InvalidConsent("a consent must expire after it takes effect", field="expires_at")
        recipients = [g.recipient_agency for g in cmd.grants]
        if len(set(recipients)) != len(recipients):
            raise InvalidConsent("each recipient agency appears once; list all its categories there", field="grants")
        if not cmd.draft and not _SHA256.match(cmd.signed_document_sha256 or ""):
            raise InvalidConsent(
                "a signed consent carries the signed document's SHA-256 (64 lowercase hex digits)",
                field="signed_document_sha256",
            )
        for i, grant in enumerate(cmd.grants):
            Consent.check_grant(i, grant, cmd)

    @staticmethod
    def check_grant(index: int, grant: commands.Grant, cmd: commands.RecordConsent) -> None:
        if BREAK_GLASS in grant.purposes:
            raise InvalidConsent("break-glass is not something a consent grants", field=f"grants.{index}.purposes")
        if grant.irrevocable_until is None:
            return
        if set(grant.purposes) != ENFORCEMENT_PURPOSES:
            raise InvalidConsent(
                "only a 42 CFR §2.35 monitoring grant (purpose diversion_monitoring alone) may be irrevocable",
                field=f"grants.{index}.irrevocable_until",
            )
        if not cmd.effective_at < grant.irrevocable_until <= cmd.expires_at:
            raise InvalidConsent(
                "irrevocability ends after the consent takes effect and no later than it expires",
                field=f"grants.{index}.irrevocable_until",
            )

    def sign(self, signed_document_sha256: str) -> None:
        if self.state != "draft" or self.terms is None:
            raise NotADraft()
        if not _SHA256.match(signed_document_sha256):
            raise InvalidConsent(
                "the signed document's SHA-256 is 64 lowercase hex digits", field="signed_document_sha256"
            )
        draft = self.terms.model_dump()
        draft["grants"] = self.terms.grants
        self._record(ConsentGranted(**draft, signed_document_sha256=signed_document_sha256))

    def revoke(self, recipient_agency: str | None, now: datetime) -> None:
        if self.state == "revoked" or (recipient_agency is not None and recipient_agency in self.revoked_recipients):
            raise AlreadyRevoked()
        if self.state != "active":
            raise ConsentNotActive(self.state)
        if recipient_agency is not None and recipient_agency not in self.grants:
            raise InvalidConsent("this consent names no such recipient agency", field="recipient_agency")
        affected = [recipient_agency] if recipient_agency else sorted(set(self.grants) - self.revoked_recipients)
        for recipient in affected:
            until = self.grants[recipient].irrevocable_until
            if until is not None and now < until:
                raise Irrevocable(recipient, until)
        self._record(
            ConsentRevoked(
                consent_id=self.id,
                participant_id=self.participant_id,
                recipient_agency=recipient_agency,
                revoked_at=now,
            )
        )

    def expire_on_exit(self, now: datetime) -> None:
        if self.state == "active" and self.terms is not None and self.terms.expires_on_event == "program_exit":
            self._record(
                ConsentExpired(
                    consent_id=self.id, participant_id=self.participant_id, reason="program_exit", expired_at=now
                )
            )

    @singledispatchmethod
    def apply(self, event: Event) -> None:
        raise TypeError(f"Consent cannot apply {type(event).__name__}")

    @apply.register
    def _(self, event: ConsentDrafted) -> None:
        self.state = "draft"
        self.terms = event
        self.participant_id = event.participant_id
        self.grants = {g.recipient_agency: g for g in event.grants}

    @apply.register
    def _(self, event: ConsentGranted) -> None:
        self.state = "active"
        self.terms = ConsentDrafted(**event.model_dump(exclude={"signed_document_sha256"}))
        self.participant_id = event.participant_id
        self.grants = {g.recipient_agency: g for g in event.grants}

    @apply.register
    def _(self, event: ConsentRevoked) -> None:
        if event.recipient_agency is None:
            self.state = "revoked"
        else:
            self.revoked_recipients.add(event.recipient_agency)

    @apply.register
    def _(self, event: ConsentExpired) -> None:
        self.state = "expired"


class SiteMou(Aggregate):
    """A site's MOU, one recorded version after another (the stream id is the jurisdiction)."""

    stream_prefix = "sitemou"

    def __init__(self, jurisdiction: str, _: str | None = None) -> None:
        super().__init__(jurisdiction, jurisdiction)
        self.recorded: dict[int, SiteMouRecorded] = {}

    def record_version(self, version: int, approved_by: str, terms: list[MouTermRecorded], now: datetime) -> bool:
        """Record a version unless it already is; True when recorded now. A recorded version never changes."""
        if version in self.recorded:
            return False
        for i, term in enumerate(terms):
            if ROI_ONLY_CATEGORIES & set(term.categories):
                raise InvalidConsent("a site grant never covers substance_use or mental_health", field=f"mou.{i}")
            if (term.relation is None) == (not term.agencies):
                raise InvalidConsent("a term names exactly one of: a relation, or agencies", field=f"mou.{i}")
        self._record(SiteMouRecorded(version=version, approved_by=approved_by, terms=terms, recorded_at=now))
        return True

    def differs_from(self, version: int, terms: list[MouTermRecorded]) -> bool:
        recorded = self.recorded.get(version)
        return recorded is not None and recorded.terms != terms

    @singledispatchmethod
    def apply(self, event: Event) -> None:
        raise TypeError(f"SiteMou cannot apply {type(event).__name__}")

    @apply.register
    def _(self, event: SiteMouRecorded) -> None:
        self.recorded[event.version] = event


class BreakGlassAccess(Aggregate):
    stream_prefix = "breakglass"

    @classmethod
    def invoke(cls, break_glass_id: str, cmd: commands.BreakGlass, now: datetime) -> BreakGlassAccess:
        if cmd.requester_agency_type != BREAK_GLASS_AGENCY_TYPE:
            raise NotForThisAgency("break-glass is for case-management staff only")
        if PART2_CATEGORY in cmd.categories:
            raise BreakGlassRefused("break-glass never opens substance_use (42 CFR part 2)", field="categories")
        if len(cmd.reason.strip()) < 20:
            raise BreakGlassRefused("break-glass needs a written reason of at least 20 characters", field="reason")
        if not 1 <= cmd.minutes <= BREAK_GLASS_MAX_MINUTES:
            raise BreakGlassRefused(f"break-glass lasts 1 to {BREAK_GLASS_MAX_MINUTES} minutes", field="minutes")
        access = cls(break_glass_id, cmd.jurisdiction)
        access._record(
            BreakGlassInvoked(
                break_glass_id=break_glass_id,
                participant_id=cmd.participant_id,
                requester_agency=cmd.requester_agency,
                requester_agency_type=cmd.requester_agency_type,
                acting_person=cmd.acting_person,
                categories=list(cmd.categories),  # type: ignore[arg-type]
                invoked_at=now,
                expires_at=now + timedelta(minutes=cmd.minutes),
            )
        )
        return access

    @singledispatchmethod
    def apply(self, event: Event) -> None:
        raise TypeError(f"BreakGlassAccess cannot apply {type(event).__name__}")

    @apply.register
    def _(self, event: BreakGlassInvoked) -> None:
        self.expires_at = event.expires_at


class AccessDecision(Aggregate):
    """One decision, recorded so the audit log and the accounting of disclosures see it."""

    stream_prefix = "decision"

    @classmethod
    def record(cls, decision_id: str, cmd: commands.DecideAccess, verdict: Verdict, now: datetime) -> AccessDecision:
        recorded = cls(decision_id, cmd.jurisdiction)
        recorded._record(cls.decided(decision_id, cmd, verdict, now))
        return recorded

    @staticmethod
    def decided(decision_id: str, cmd: commands.DecideAccess, verdict: Verdict, now: datetime) -> AccessDecided:
        """The decision's one event (its stream holds nothing else: the gate records many in one statement)."""
        return AccessDecided(
            decision_id=decision_id,
            participant_id=cmd.participant_id,
            requester_agency=cmd.requester_agency,
            requester_agency_type=cmd.requester_agency_type,
            category=cmd.category,  # type: ignore[arg-type]
            purpose=cmd.purpose,  # type: ignore[arg-type]
            decision=verdict.decision,  # type: ignore[arg-type]
            basis_kind=verdict.basis_kind,  # type: ignore[arg-type]
            basis_id=verdict.basis_id,
            decided_at=now,
            acting_person=cmd.acting_person,
            flags=[*verdict.flags, *(["what_if"] if cmd.what_if else [])],
        )

    @singledispatchmethod
    def apply(self, event: Event) -> None:
        raise TypeError(f"AccessDecision cannot apply {type(event).__name__}")

    @apply.register
    def _(self, event: AccessDecided) -> None:
        self.decision = event.decision
