"""Issue 10, item 11: the preview's statement per category is the decision's, for the registry's agency type."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from consent.domain.documents import preview
from consent.domain.policy import AccessRequest, Basis, decide
from divert_contracts.vocabulary import AGENCY_TYPES, CATEGORIES, PURPOSES

GRANTED = tuple(p for p in PURPOSES if p != "BTG")  # a consent never grants break-glass
NOW = datetime(2026, 11, 23, tzinfo=UTC)


def draft(agency_type: str, categories: tuple[str, ...] = CATEGORIES, purposes: tuple[str, ...] = GRANTED) -> dict:
    consent = {
        "grants": [{"recipient_agency": "x-agency", "categories": list(categories), "purposes": list(purposes)}],
        "effective_at": datetime(2026, 11, 1, tzinfo=UTC),
        "expires_at": datetime(2027, 11, 1, tzinfo=UTC),
    }
    [recipient] = preview(consent, {"x-agency": agency_type})
    return recipient


def gate(agency_type: str, category: str, purpose: str) -> str:
    """What the decision says for this read when a signed consent in force names it (and nothing else does)."""
    basis = Basis("consent", "c1", frozenset(CATEGORIES), frozenset(GRANTED), datetime(2026, 11, 1, tzinfo=UTC), None)
    request = AccessRequest("p1", "j", "x-agency", agency_type, category, purpose)
    return decide(request, [basis], NOW).decision


class TestPreviewSaysWhatTheGateDecides:
    @pytest.mark.parametrize("agency_type", AGENCY_TYPES)
    def test_every_category_and_purpose_matches_the_decision(self, agency_type: str) -> None:
        statement = {c["category"]: c for c in draft(agency_type)["categories"]}
        for category in CATEGORIES:
            for purpose in GRANTED:
                shared = purpose in statement[category]["shared_for"]
                assert shared == (gate(agency_type, category, purpose) == "permit"), (category, purpose)
                assert shared != (purpose in statement[category]["never_for"])

    @pytest.mark.parametrize("agency_type", ["police", "prosecutor"])
    def test_police_and_prosecutors_are_told_they_never_see_substance_use(self, agency_type: str) -> None:
        recipient = draft(agency_type, ("referral", "substance_use"), ("care_coordination",))
        assert recipient["shares"] == ["referral"] and recipient["never_shared"] == ["substance_use"]
        assert "never shared with police or a prosecutor" in recipient["text"]

    def test_an_evaluator_is_told_it_sees_nothing(self) -> None:
        recipient = draft("evaluator")
        assert recipient["shares"] == [] and recipient["never_shared"] == list(CATEGORIES)
        assert "will never see your records" in recipient["text"]

    def test_a_defender_sees_substance_use_for_the_defense_but_never_for_monitoring(self) -> None:
        recipient = draft("defender", ("substance_use",), ("defense", "diversion_monitoring"))
        [category] = recipient["categories"]
        assert category == {
            "category": "substance_use",
            "shared_for": ["defense"],
            "never_for": ["diversion_monitoring"],
        }
        assert "for monitoring the charge held for LEAD" in recipient["text"]

    def test_a_case_manager_is_told_it_sees_everything_granted(self) -> None:
        recipient = draft("case_management")
        assert recipient["shares"] == list(CATEGORIES) and recipient["never_shared"] == []

    @pytest.mark.parametrize("agency_type", AGENCY_TYPES)
    def test_the_text_reads_as_sentences(self, agency_type: str) -> None:
        text: Any = draft(agency_type)["text"]
        assert "None" not in text and "[" not in text and "{" not in text
