from dataclasses import replace
from datetime import UTC, datetime

import pytest

from consent.domain.commands import Grant, RecordConsent
from consent.domain.errors import AlreadyRevoked, InvalidConsent
from consent.domain.model import Consent
from consent.domain.policy import forbidden_whatever_consent_says, obligations
from divert_contracts.consent import ConsentGranted, ConsentRevoked

NOW = datetime(2026, 11, 23, tzinfo=UTC)
ROI = RecordConsent(
    participant_id="p1",
    jurisdiction="seattle-king-county",
    disclosing_agency="lead-case-management",
    grants=(
        Grant("kc-prosecutor", ("assessment",), ("diversion_monitoring",)),
        Grant("seattle-pd", ("referral",), ("care_coordination",)),
    ),
    effective_at=datetime(2026, 11, 1, tzinfo=UTC),
    expires_at=datetime(2027, 11, 1, tzinfo=UTC),
    signed_document_sha256="ab" * 32,
)


def signed() -> Consent:
    return Consent.sign("c1", ROI)


class TestSigning:
    def test_records_the_grants(self) -> None:
        consent = signed()
        [event] = consent.pending
        assert isinstance(event, ConsentGranted)
        assert consent.recipients == {"kc-prosecutor", "seattle-pd"}

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"expires_at": datetime(2026, 10, 1, tzinfo=UTC)}, "expires_at"),
            ({"grants": ()}, "grants"),
            ({"grants": (ROI.grants[0], ROI.grants[0])}, "grants"),
            ({"signed_document_sha256": "not-a-hash"}, "signed_document_sha256"),
        ],
    )
    def test_bad_terms_are_refused_naming_the_field(self, change: dict, field: str) -> None:
        with pytest.raises(InvalidConsent) as refused:
            Consent.sign("c1", replace(ROI, **change))
        assert refused.value.field == field


class TestRevocation:
    def test_whole_revocation(self) -> None:
        consent = Consent.replay("c1", "seattle-king-county", signed().pending)
        consent.revoke(None, NOW)  # type: ignore[attr-defined]
        [event] = consent.pending
        assert isinstance(event, ConsentRevoked) and event.recipient_agency is None
        with pytest.raises(AlreadyRevoked):
            consent.revoke(None, NOW)  # type: ignore[attr-defined]

    def test_revocation_for_one_recipient_leaves_the_others(self) -> None:
        consent = Consent.replay("c1", "seattle-king-county", signed().pending)
        consent.revoke("kc-prosecutor", NOW)  # type: ignore[attr-defined]
        assert consent.revoked_recipients == {"kc-prosecutor"}  # type: ignore[attr-defined]
        assert not consent.revoked  # type: ignore[attr-defined]
        consent.revoke("seattle-pd", NOW)  # type: ignore[attr-defined]

    def test_revoking_an_unnamed_recipient_is_refused(self) -> None:
        consent = Consent.replay("c1", "seattle-king-county", signed().pending)
        with pytest.raises(InvalidConsent):
            consent.revoke("someone-else", NOW)  # type: ignore[attr-defined]


class TestGoldenRule:
    @pytest.mark.parametrize("agency_type", ["police", "prosecutor"])
    def test_substance_use_never_reaches_enforcement(self, agency_type: str) -> None:
        assert forbidden_whatever_consent_says("substance_use", agency_type)

    def test_substance_use_may_reach_care(self) -> None:
        assert not forbidden_whatever_consent_says("substance_use", "case_management")

    def test_part2_disclosures_carry_the_redisclosure_notice(self) -> None:
        kinds = {o["kind"] for o in obligations("substance_use")}
        assert kinds == {"security_labels", "redisclosure_notice"}
        assert obligations("assessment") == []
