"""What a partner integrator reads first: one OpenAPI 3.1 document for the whole API, and its docs page."""

from __future__ import annotations

import httpx

from tests.conftest import System

PATHS_BUILT_SO_FAR = [
    "/oauth/token",
    "/.well-known/jwks.json",
    "/v1/referrals",
    "/v1/referrals/{referral_id}",
    "/v1/consents",
    "/v1/consents/{consent_id}/revocation",
    "/v1/access-decisions",
    "/v1/participants/{participant_id}/intake",
    "/v1/participants/{participant_id}/status",
    "/v1/held-charges/{referral_id}",
    "/v1/audit/verification",
    "/v1/webhook-endpoints",
    "/v1/feeds/replay",
]


def test_the_gateway_serves_one_document_for_every_service(system: System) -> None:
    document = httpx.get(f"{system.endpoints['gateway_url']}/openapi.json", timeout=10).json()
    assert document["openapi"].startswith("3.1")
    missing = [p for p in PATHS_BUILT_SO_FAR if p not in document["paths"]]
    assert not missing
    assert "Problem" in document["components"]["schemas"]
    assert "oauth2" in document["components"]["securitySchemes"]


def test_the_docs_page_is_served(system: System) -> None:
    reply = httpx.get(f"{system.endpoints['gateway_url']}/docs", timeout=10)
    assert reply.status_code == 200 and "swagger" in reply.text.lower()
