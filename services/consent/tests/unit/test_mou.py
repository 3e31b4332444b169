"""The MOU's terms as site grants: bound to a relation or named agencies, never to a type, never ROI-only data."""

from datetime import UTC, datetime

from consent.domain.mou import Mou, Term
from consent.domain.policy import AccessRequest, decide

NOW = datetime(2026, 11, 23, tzinfo=UTC)
MOU = Mou(
    "seattle-king-county",
    3,
    "PCG minutes 2026-10-14",
    NOW,
    (
        Term("handoff_provider", frozenset(), frozenset({"identity", "referral"}), frozenset({"care_coordination"})),
        Term(None, frozenset({"lead-project-manager"}), frozenset({"referral"}), frozenset({"program_operations"})),
    ),
)


def permitted(agency: str, agency_type: str, relations: set[str], category: str, purpose: str) -> bool:
    request = AccessRequest("p1", "seattle-king-county", agency, agency_type, category, purpose)
    return decide(request, MOU.bases(agency, relations), NOW).permitted


class TestBinding:
    def test_a_relation_term_permits_the_agency_holding_the_relation(self) -> None:
        assert permitted(
            "lead-case-management", "case_management", {"handoff_provider"}, "referral", "care_coordination"
        )

    def test_a_relation_term_permits_no_other_agency_of_the_same_type(self) -> None:
        assert not permitted("evergreen-cm", "case_management", set(), "referral", "care_coordination")
        assert not permitted("evergreen-cm", "case_management", {"charge_holder"}, "referral", "care_coordination")

    def test_a_named_agency_term_permits_only_that_agency(self) -> None:
        assert permitted("lead-project-manager", "project_manager", set(), "referral", "program_operations")
        assert not permitted("other-pm", "project_manager", set(), "referral", "program_operations")

    def test_the_basis_names_jurisdiction_version_and_term(self) -> None:
        [basis] = MOU.bases("lead-project-manager", set())
        assert basis.id == "mou:seattle-king-county:v3:term-2"


class TestScope:
    def test_named_terms_cover_everyone_relation_terms_name_their_relation(self) -> None:
        assert MOU.covers_everyone("lead-project-manager", "referral", "program_operations")
        assert not MOU.covers_everyone("lead-case-management", "referral", "care_coordination")
        assert MOU.relations_covering("referral", "care_coordination") == ["handoff_provider"]
        assert MOU.relations_covering("plan", "care_coordination") == []
