"""Minimum necessary inside the screening form: each field belongs to data categories, and another agency is
served a field only when it may read every category the field belongs to."""

from __future__ import annotations

from typing import Any

from casemgmt.entrypoints.care_schemas import MENTAL_HEALTH_AREAS, SUBSTANCE_AREAS

SCREENING = "screening"
# Top-level fields that are not plain `screening`. Drug court tells of substance use as much as of a legal case.
FIELD_CATEGORIES: dict[str, tuple[str, ...]] = {
    "address": ("identity",),
    "phone": ("identity",),
    "where_to_find": ("identity",),
    "nicknames": ("identity",),
    "homeless": ("housing",),
    "slept_last_night": ("housing",),
    "public_assistance": ("benefits",),
    "probation": ("legal_case",),
    "probation_explain": ("legal_case",),
    "probation_officer": ("legal_case",),
    "drug_court": ("legal_case", "substance_use"),
    "drug_court_explain": ("legal_case", "substance_use"),
}
# The contributing factors; the free-text explanation may speak of either, so it needs both.
FACTOR_CATEGORIES: dict[str, tuple[str, ...]] = {
    "alcohol": ("substance_use",),
    "drugs": ("substance_use",),
    "mental_health": ("mental_health",),
    "explain": ("substance_use", "mental_health"),
}
ASSISTANCE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "emergency_housing": ("housing",),
    "public_benefits": ("benefits",),
    **{area: ("substance_use",) for area in SUBSTANCE_AREAS},
    **{area: ("mental_health",) for area in MENTAL_HEALTH_AREAS},
}
CATEGORIES: tuple[str, ...] = tuple(
    sorted(
        {
            c
            for table in (FIELD_CATEGORIES, FACTOR_CATEGORIES, ASSISTANCE_CATEGORIES)
            for cs in table.values()
            for c in cs
        }
    )
)


def _keep(value: dict[str, Any], table: dict[str, tuple[str, ...]], permitted: set[str]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if set(table.get(k, (SCREENING,))) <= permitted}


def minimum_necessary(form: dict[str, Any], permitted: set[str]) -> tuple[dict[str, Any], list[str]]:
    """The form with only the fields whose categories are all permitted, and the categories withheld."""
    permitted = permitted | {SCREENING}
    served = _keep(form, FIELD_CATEGORIES, permitted)
    if isinstance(form.get("contributing_factors"), dict):
        served["contributing_factors"] = _keep(form["contributing_factors"], FACTOR_CATEGORIES, permitted)
    if isinstance(form.get("assistance"), dict):
        served["assistance"] = _keep(form["assistance"], ASSISTANCE_CATEGORIES, permitted)
    return served, [c for c in CATEGORIES if c not in permitted]
