"""The site's MOU as the decision reads it: recorded versions, and the site grants each term gives one requester."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consent.domain.policy import ROI_ONLY_CATEGORIES, Basis

HANDOFF_PROVIDER = "handoff_provider"
CHARGE_HOLDER = "charge_holder"


@dataclass(frozen=True)
class Term:
    """Bound to a relation to the participant, or to named agencies; never to an agency type."""

    relation: str | None
    agencies: frozenset[str]
    categories: frozenset[str]
    purposes: frozenset[str]

    @classmethod
    def from_dict(cls, term: dict[str, Any]) -> Term:
        return cls(
            term.get("relation"),
            frozenset(term.get("agencies") or ()),
            frozenset(term["categories"]),
            frozenset(term["purposes"]),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "relation": self.relation,
            "agencies": sorted(self.agencies),
            "categories": sorted(self.categories),
            "purposes": sorted(self.purposes),
        }

    def covers(self, category: str, purpose: str) -> bool:
        return category not in ROI_ONLY_CATEGORIES and category in self.categories and purpose in self.purposes

    def binds(self, requester_agency: str, relations: Collection[str]) -> bool:
        """True when this term is the requester's: it holds the relation, or the term names it."""
        if self.relation is not None:
            return self.relation in relations
        return requester_agency in self.agencies


@dataclass(frozen=True)
class Mou:
    """One recorded version of a site's MOU (in force from `recorded_at`, approved by `approved_by`)."""

    jurisdiction: str
    version: int
    approved_by: str
    recorded_at: datetime
    terms: tuple[Term, ...]

    def term_id(self, index: int) -> str:
        """Names jurisdiction, version and term (1-based): the basis of a site-grant permit."""
        return f"mou:{self.jurisdiction}:v{self.version}:term-{index + 1}"

    def bases(self, requester_agency: str, relations: Collection[str]) -> list[Basis]:
        """The site grants this requester holds for one participant (given its relations to that participant)."""
        return [
            Basis(
                "site_grant",
                self.term_id(i),
                term.categories - ROI_ONLY_CATEGORIES,
                term.purposes,
                self.recorded_at,
                None,
            )
            for i, term in enumerate(self.terms)
            if term.binds(requester_agency, relations)
        ]

    def covers_everyone(self, requester_agency: str, category: str, purpose: str) -> bool:
        """A named-agency term covers every participant of the site."""
        return any(
            t.relation is None and requester_agency in t.agencies and t.covers(category, purpose) for t in self.terms
        )

    def relations_covering(self, category: str, purpose: str) -> list[str]:
        """The relations whose holders a term lets read this category for this purpose."""
        return sorted({t.relation for t in self.terms if t.relation is not None and t.covers(category, purpose)})
