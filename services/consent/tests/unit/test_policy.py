from datetime import UTC, datetime, timedelta

import pytest

from consent.domain.policy import AccessRequest, Basis, decide, never_disclosed, obligations

NOW = datetime(2026, 11, 23, tzinfo=UTC)
YEAR = timedelta(days=365)


def request(agency_type: str = "prosecutor", category: str = "assessment", purpose: str = "diversion_monitoring"):
    return AccessRequest("p1", "seattle-king-county", "agency-x", agency_type, category, purpose)


def consent(categories=("assessment", "substance_use"), purposes=("diversion_monitoring",), **kw) -> Basis:
    values = {"starts_at": NOW - YEAR, "ends_at": NOW + YEAR, "void": False} | kw
    return Basis("consent", "c1", frozenset(categories), frozenset(purposes), **values)


class TestDecide:
    def test_a_live_consent_naming_category_and_purpose_permits_and_is_named(self) -> None:
        verdict = decide(request(), [consent()], NOW)
        assert (verdict.decision, verdict.basis_kind, verdict.basis_id) == ("permit", "consent", "c1")

    @pytest.mark.parametrize(
        "basis",
        [
            consent(void=True),
            consent(starts_at=NOW + timedelta(seconds=1)),
            consent(ends_at=NOW),
            consent(categories=("housing",)),
            consent(purposes=("care_coordination",)),
        ],
        ids=["revoked or draft", "not yet effective", "expired", "other category", "other purpose"],
    )
    def test_anything_less_denies(self, basis: Basis) -> None:
        assert decide(request(), [basis], NOW).decision == "deny"

    def test_no_basis_denies(self) -> None:
        assert decide(request(), [], NOW).decision == "deny"

    def test_substance_use_never_reaches_the_prosecutor_whatever_the_consent_says(self) -> None:
        assert decide(request(category="substance_use"), [consent()], NOW).decision == "deny"

    def test_a_site_grant_permits_when_no_consent_does(self) -> None:
        grant = Basis("site_grant", "g1", frozenset({"referral"}), frozenset({"care_coordination"}), NOW - YEAR, None)
        verdict = decide(request("case_management", "referral", "care_coordination"), [grant], NOW)
        assert (verdict.basis_kind, verdict.basis_id) == ("site_grant", "g1")

    def test_break_glass_serves_only_purpose_btg_and_is_flagged(self) -> None:
        glass = Basis(
            "break_glass", "b1", frozenset({"mental_health"}), frozenset({"BTG"}), NOW, NOW + timedelta(hours=1)
        )
        emergency = decide(request("case_management", "mental_health", "BTG"), [glass], NOW)
        assert emergency.permitted and emergency.flags == ["break_glass"]
        assert emergency.obligations  # mental-health data travels with its labels and notice
        assert not decide(request("case_management", "mental_health", "care_coordination"), [glass], NOW).permitted
        later = NOW + timedelta(hours=1)
        assert not decide(request("case_management", "mental_health", "BTG"), [glass], later).permitted

    def test_a_consent_never_serves_break_glass(self) -> None:
        assert not decide(request("case_management", "assessment", "BTG"), [consent(purposes=("BTG",))], NOW).permitted


class TestGoldenRule:
    @pytest.mark.parametrize("agency_type", ["police", "prosecutor"])
    def test_substance_use_never_reaches_enforcement(self, agency_type: str) -> None:
        assert never_disclosed("substance_use", agency_type, "care_coordination")

    def test_substance_use_is_never_read_for_monitoring_by_anyone(self) -> None:
        assert never_disclosed("substance_use", "defender", "diversion_monitoring")

    def test_substance_use_may_reach_care(self) -> None:
        assert not never_disclosed("substance_use", "case_management", "care_coordination")

    def test_evaluators_never_read_a_participants_record(self) -> None:
        assert never_disclosed("referral", "evaluator", "evaluation")

    def test_part2_disclosures_carry_labels_and_the_redisclosure_notice(self) -> None:
        labels, notice = obligations("substance_use")
        assert labels["labels"] == ["42CFRPart2", "NORDSCLCD", "R"]
        assert "42 CFR part 2" in str(notice["text"])
        assert obligations("assessment") == []
