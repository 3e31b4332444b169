"""First start of the demo: each demo jurisdiction gets its site policy (the matching preset) through the API."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from divert_devstack import demo_site


def _token(http: httpx.Client, client: dict) -> str:
    reply = http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    )
    reply.raise_for_status()
    return str(reply.json()["access_token"])


def site_policies(gateway_url: str, clients_file: Path, marker: Path) -> None:
    """PUT each jurisdiction's preset as its eligibility policy, once: `marker` records that it was done."""
    if marker.exists():
        return
    clients = json.loads(clients_file.read_text())["clients"]
    with httpx.Client(base_url=gateway_url, timeout=20) as http:
        for jurisdiction, preset_name in demo_site.PRESETS.items():
            manager = next(
                c for c in clients if c["agency_type"] == "project_manager" and jurisdiction in c["jurisdictions"]
            )
            auth = {"Authorization": f"Bearer {_token(http, manager)}"}
            presets = http.get("/v1/eligibility-presets", headers=auth)
            presets.raise_for_status()
            policy = {k: v for k, v in presets.json()[preset_name].items() if k != "description"}
            http.put(
                f"/v1/jurisdictions/{jurisdiction}/eligibility-policy", json=policy, headers=auth
            ).raise_for_status()
    marker.write_text("demo site policies seeded\n")
