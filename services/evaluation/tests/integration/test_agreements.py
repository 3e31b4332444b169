"""Data-use agreement ids are each site's own: Santa Fe may record an id Seattle already uses, as its own
agreement, and neither site's extracts touch the other's agreement."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from divert_devstack import demo_site

SEATTLE, SANTA_FE = "seattle-king-county", "santa-fe"
SHARED_ID = "DUA-2026-07"


@pytest.fixture(scope="module")
def sites_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo sites, Santa Fe with an evaluator of its own."""
    sites = demo_site.sites()
    for site in sites["sites"]:
        if site["jurisdiction"] == SANTA_FE:
            site["agencies"].append({"agency_id": "santa-fe-evaluator", "agency_type": "evaluator"})
    path = tmp_path_factory.mktemp("sites-agreements") / "sites.json"
    path.write_text(json.dumps(sites))
    return path


def agreement(jurisdiction: str, recipient: str, digest: str) -> dict[str, str]:
    return {
        "jurisdiction": jurisdiction,
        "agreement_id": SHARED_ID,
        "recipient_agency": recipient,
        "expires_on": "2028-01-01",
        "signed_document_sha256": digest * 32,
    }


async def test_one_id_in_two_jurisdictions_is_two_agreements(service: httpx.AsyncClient, tokens_for: Callable) -> None:
    seattle_pm = tokens_for("project_manager", agency="lead-project-manager", jurisdictions=[SEATTLE])
    santa_fe_pm = tokens_for("project_manager", agency="santa-fe-pm", jurisdictions=[SANTA_FE])
    path = "/v1/evaluation/data-use-agreements"
    first = await service.post(path, json=agreement(SEATTLE, "lead-evaluator", "ab"), headers=seattle_pm)
    second = await service.post(path, json=agreement(SANTA_FE, "santa-fe-evaluator", "cd"), headers=santa_fe_pm)
    assert first.status_code == second.status_code == 201, second.text
    again = await service.post(path, json=agreement(SANTA_FE, "santa-fe-evaluator", "cd"), headers=santa_fe_pm)
    assert again.status_code == 409 and again.json()["field"] == "agreement_id"

    async def extract(jurisdiction: str, agency: str) -> httpx.Response:
        body = {"jurisdiction": jurisdiction, "data_use_agreement_id": SHARED_ID, "year": 2026}
        headers = tokens_for("evaluator", agency=agency, jurisdictions=[jurisdiction])
        return await service.post("/v1/evaluation/extracts", json=body, headers=headers)

    assert (await extract(SANTA_FE, "santa-fe-evaluator")).status_code == 201
    assert (await extract(SEATTLE, "lead-evaluator")).status_code == 201
    # Santa Fe's agreement does not name Seattle's evaluator: refused as though there were none.
    refused = await extract(SANTA_FE, "lead-evaluator")
    assert refused.status_code == 422 and refused.json()["field"] == "data_use_agreement_id"
