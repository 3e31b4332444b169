"""The consent decision of each delivery to another agency: asked in batch per receiving (jurisdiction, agency),
as that agency, with a token good only for it. Recorded by the consent service like any read."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from divert_contracts.vocabulary import DEFAULT_PURPOSE
from divert_kernel.auth import Principal
from divert_kernel.errors import Unavailable
from divert_kernel.gate import ConsentGate

log = logging.getLogger("divert.gateway.delivery")

Mint = Callable[[str, str, str], str]  # (jurisdiction, agency, agency_type) -> a short-lived access token


async def split(
    gate: ConsentGate, mint: Mint, messages: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(permitted, denied). Own records pass undecided; a group the consent service cannot answer is in neither
    list: it waits (never sent undecided)."""
    permitted = [m for m in messages if m["reason"] == "own"]
    denied: list[dict[str, Any]] = []
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for m in messages:
        if m["reason"] != "own":
            groups.setdefault((m["jurisdiction"], m["agency"], m["agency_type"]), []).append(m)
    for (jurisdiction, agency, agency_type), group in groups.items():
        principal = Principal(
            client_id="divert-delivery",
            agency=agency,
            agency_type=agency_type,
            jurisdictions=frozenset({jurisdiction}),
            scopes=frozenset(),
            token=mint(jurisdiction, agency, agency_type),
        )
        asks = [(m["participant_id"], jurisdiction, m["category"]) for m in group]
        try:
            decisions = await gate.decide_requests(
                principal, asks, purpose=DEFAULT_PURPOSE.get(agency_type, "care_coordination")
            )
        except Unavailable:
            log.warning("consent_unavailable_deliveries_wait", extra={"deliveries": len(group)})
            continue
        for m, decision in zip(group, decisions, strict=True):
            (permitted if decision.permitted else denied).append(m)
    return permitted, denied
