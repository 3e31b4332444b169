"""A limited data set extract is a year of rows per call: it counts as an export, not as a write."""

from __future__ import annotations

from divert_gateway.entrypoints.ratelimit import route_class


def test_an_evaluation_extract_counts_in_the_exports_class() -> None:
    assert route_class("POST", "/v1/evaluation/extracts") == "exports"
    assert route_class("POST", "/v1/evaluation/data-use-agreements") == "writes"
    assert route_class("GET", "/v1/evaluation/continuum") == "reads"
