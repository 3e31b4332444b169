from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

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
from consent.domain.model import BreakGlassAccess, Consent
from divert_contracts.consent import ConsentDrafted, ConsentGranted, ConsentRevoked

NOW = datetime(2026, 11, 23, tzinfo=UTC)
MONITORING = commands.Grant("kc-prosecutor", ("assessment",), ("diversion_monitoring",))
ROI = commands.RecordConsent(
    participant_id="p1",
    jurisdiction="seattle-king-county",
    disclosing_agency="lead-case-management",
    grants=(MONITORING, commands.Grant("seattle-pd", ("referral",), ("care_coordination",))),
    effective_at=datetime(2026, 11, 1, tzinfo=UTC),
    expires_at=datetime(2027, 11, 1, tzinfo=UTC),
    signed_document_sha256="ab" * 32,
    wording_version="kc-roi-2026.1",
)


def given(*history: object) -> Consent:
    return Consent.replay("c1", "seattle-king-county", history)  # type: ignore[arg-type,return-value]


def signed(cmd: commands.RecordConsent = ROI) -> Consent:
    return given(*Consent.record("c1", cmd).pending)


class TestSigning:
    def test_records_the_grants_and_the_wording_version(self) -> None:
        [event] = Consent.record("c1", ROI).pending
        assert isinstance(event, ConsentGranted)
        assert event.wording_version == "kc-roi-2026.1"
        assert {g.recipient_agency for g in event.grants} == {"kc-prosecutor", "seattle-pd"}

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"expires_at": datetime(2026, 10, 1, tzinfo=UTC)}, "expires_at"),
            ({"grants": (MONITORING, MONITORING)}, "grants"),
            ({"signed_document_sha256": "not-a-hash"}, "signed_document_sha256"),
            ({"signed_document_sha256": None}, "signed_document_sha256"),
            ({"grants": (replace(MONITORING, purposes=("BTG",)),)}, "grants.0.purposes"),
        ],
    )
    def test_bad_terms_are_refused_naming_the_field(self, change: dict, field: str) -> None:
        with pytest.raises(InvalidConsent) as refused:
            Consent.record("c1", replace(ROI, **change))
        assert refused.value.field == field


class TestDrafts:
    def test_a_draft_needs_no_signature_and_becomes_active_when_signed(self) -> None:
        draft = replace(ROI, draft=True, signed_document_sha256=None)
        [event] = Consent.record("c1", draft).pending
        assert isinstance(event, ConsentDrafted)
        consent = given(event)
        assert consent.state == "draft"
        consent.sign("cd" * 32)
        [granted] = consent.pending
        assert isinstance(granted, ConsentGranted) and granted.signed_document_sha256 == "cd" * 32
        assert consent.state == "active"

    def test_a_signed_consent_is_immutable(self) -> None:
        with pytest.raises(NotADraft):
            signed().sign("cd" * 32)

    def test_a_draft_cannot_be_revoked(self) -> None:
        draft = given(*Consent.record("c1", replace(ROI, draft=True)).pending)
        with pytest.raises(ConsentNotActive):
            draft.revoke(None, NOW)


class TestRevocation:
    def test_whole_revocation(self) -> None:
        consent = signed()
        consent.revoke(None, NOW)
        [event] = consent.pending
        assert isinstance(event, ConsentRevoked) and event.recipient_agency is None
        with pytest.raises(AlreadyRevoked):
            consent.revoke(None, NOW)

    def test_revocation_for_one_recipient_leaves_the_others(self) -> None:
        consent = signed()
        consent.revoke("kc-prosecutor", NOW)
        assert consent.revoked_recipients == {"kc-prosecutor"}
        assert consent.state == "active"
        consent.revoke("seattle-pd", NOW)

    def test_revoking_an_unnamed_recipient_is_refused(self) -> None:
        with pytest.raises(InvalidConsent):
            signed().revoke("someone-else", NOW)


class TestSection235:
    IRREVOCABLE = replace(MONITORING, irrevocable_until=datetime(2027, 2, 1, tzinfo=UTC))

    def test_the_monitoring_grant_cannot_be_revoked_before_its_date(self) -> None:
        consent = signed(replace(ROI, grants=(self.IRREVOCABLE, ROI.grants[1])))
        with pytest.raises(Irrevocable) as refused:
            consent.revoke("kc-prosecutor", NOW)
        assert "42 CFR §2.35" in refused.value.detail
        with pytest.raises(Irrevocable):
            consent.revoke(None, NOW)
        consent.revoke("seattle-pd", NOW)  # the other recipient stays revocable
        consent.revoke("kc-prosecutor", datetime(2027, 2, 1, tzinfo=UTC))

    def test_only_a_monitoring_grant_may_be_irrevocable(self) -> None:
        care = replace(ROI.grants[1], irrevocable_until=datetime(2027, 2, 1, tzinfo=UTC))
        with pytest.raises(InvalidConsent) as refused:
            Consent.record("c1", replace(ROI, grants=(care,)))
        assert refused.value.field == "grants.0.irrevocable_until"

    def test_irrevocability_cannot_outlast_the_consent(self) -> None:
        late = replace(MONITORING, irrevocable_until=datetime(2028, 1, 1, tzinfo=UTC))
        with pytest.raises(InvalidConsent):
            Consent.record("c1", replace(ROI, grants=(late,)))


class TestExpiryOnExit:
    def test_a_consent_tied_to_program_exit_expires_then(self) -> None:
        consent = signed(replace(ROI, expires_on_event="program_exit"))
        consent.expire_on_exit(NOW)
        assert consent.state == "expired"

    def test_other_consents_do_not(self) -> None:
        consent = signed()
        consent.expire_on_exit(NOW)
        assert consent.pending == [] and consent.state == "active"


class TestBreakGlass:
    REQUEST = commands.BreakGlass(
        participant_id="p1",
        jurisdiction="seattle-king-county",
        requester_agency="lead-case-management",
        requester_agency_type="case_management",
        acting_person="cm-17",
        categories=("mental_health",),
        reason="Participant unresponsive at the shelter; EMS needs current medications.",
        minutes=30,
    )

    def test_lasts_at_most_an_hour(self) -> None:
        access = BreakGlassAccess.invoke("b1", self.REQUEST, NOW)
        assert access.expires_at == NOW + timedelta(minutes=30)
        with pytest.raises(BreakGlassRefused):
            BreakGlassAccess.invoke("b1", replace(self.REQUEST, minutes=61), NOW)

    def test_needs_a_written_reason(self) -> None:
        with pytest.raises(BreakGlassRefused) as refused:
            BreakGlassAccess.invoke("b1", replace(self.REQUEST, reason="urgent"), NOW)
        assert refused.value.field == "reason"

    @pytest.mark.parametrize("agency_type", ["police", "prosecutor", "defender", "project_manager"])
    def test_is_for_case_management_only(self, agency_type: str) -> None:
        with pytest.raises(NotForThisAgency):
            BreakGlassAccess.invoke("b1", replace(self.REQUEST, requester_agency_type=agency_type), NOW)

    def test_never_opens_substance_use(self) -> None:
        with pytest.raises(BreakGlassRefused) as refused:
            BreakGlassAccess.invoke("b1", replace(self.REQUEST, categories=("mental_health", "substance_use")), NOW)
        assert refused.value.field == "categories"
