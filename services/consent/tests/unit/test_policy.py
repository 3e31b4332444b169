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

    def test_part2_disclosures_carry_labels_and_the_2024_redisclosure_notice(self) -> None:
        labels, notice = obligations("substance_use")
        assert labels == {"kind": "security_labels", "labels": ["R", "ETH", "42CFRPart2", "NORDSCLCD"]}
        assert notice["kind"] == "redisclosure_notice"
        assert notice["text"] == NOTICE_2024

    def test_mental_health_is_labelled_but_is_not_part2(self) -> None:
        assert obligations("mental_health") == [{"kind": "security_labels", "labels": ["R", "MH"]}]

    def test_ordinary_categories_carry_nothing(self) -> None:
        assert obligations("assessment") == []


# 42 CFR §2.32(a)(1), February 2024 final rule, copied from the Federal Register text (not from the code).
NOTICE_2024 = (
    "This record which has been disclosed to you is protected by Federal confidentiality rules (42 CFR part 2). "
    "These rules prohibit you from using or disclosing this record, or testimony that describes the information "
    "contained in this record, in any civil, criminal, administrative, or legislative proceedings by any Federal, "
    "State, or local authority, against the patient, unless authorized by the consent of the patient, except as "
    "provided at 42 CFR 2.12(c)(5) or as authorized by a court in accordance with 42 CFR 2.64 or 2.65. In addition, "
    "the Federal rules prohibit you from making any other use or disclosure of this record unless at least one of "
    "the following applies: (i) Further use or disclosure is expressly permitted by the written consent of the "
    "individual whose information is being disclosed in this record or as otherwise permitted by 42 CFR part 2. "
    "(ii) You are a covered entity or business associate and have received the record for treatment, payment, or "
    "health care operations, or (iii) You have received the record from a covered entity or business associate as "
    "permitted by 45 CFR part 164, subparts A and E. A general authorization for the release of medical or other "
    "information is NOT sufficient to meet the required elements of written consent to further use or redisclose "
    "the record (see 42 CFR 2.31)."
)


class TestBreakGlassRules:
    @pytest.mark.parametrize("agency_type", ["police", "prosecutor", "defender", "project_manager", "community"])
    def test_only_case_management_may_read_for_btg(self, agency_type: str) -> None:
        glass = Basis("break_glass", "b1", frozenset({"plan"}), frozenset({"BTG"}), NOW, NOW + timedelta(hours=1))
        assert not decide(request(agency_type, "plan", "BTG"), [glass], NOW).permitted

    def test_break_glass_never_opens_substance_use(self) -> None:
        glass = Basis(
            "break_glass", "b1", frozenset({"substance_use"}), frozenset({"BTG"}), NOW, NOW + timedelta(hours=1)
        )
        assert not decide(request("case_management", "substance_use", "BTG"), [glass], NOW).permitted


class TestSiteGrantsNeverOpenRoiOnlyCategories:
    @pytest.mark.parametrize("category", ["substance_use", "mental_health"])
    def test_a_stored_term_naming_them_still_denies(self, category: str) -> None:
        grant = Basis("site_grant", "g1", frozenset({category}), frozenset({"care_coordination"}), NOW - YEAR, None)
        assert not decide(request("case_management", category, "care_coordination"), [grant], NOW).permitted
