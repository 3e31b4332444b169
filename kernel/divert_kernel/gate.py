"""The consent-gate client: every cross-agency read asks the consent service, and fails closed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from divert_kernel import telemetry
from divert_kernel.auth import Principal
from divert_kernel.errors import Forbidden, Unavailable

BATCH_LIMIT = 1000


def not_permitted() -> Forbidden:
    """The one refusal for a cross-agency read: a deny reads exactly like data that does not exist."""
    return Forbidden("no such record, or no consent or site policy permits this read")


@dataclass(frozen=True)
class Decision:
    decision: str
    basis: dict[str, Any] | None = None
    obligations: list[dict[str, Any]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def permitted(self) -> bool:
        return self.decision == "permit"


@dataclass(frozen=True)
class Scope:
    """Who a list may even consider: everyone (a site grant) or these participants."""

    everyone: bool
    participant_ids: frozenset[str]


def _decision(answer: Any) -> Decision:
    if not isinstance(answer, dict) or answer.get("decision") not in ("permit", "deny"):
        raise Unavailable("the consent service gave no clear decision; the read is refused")
    return Decision(answer["decision"], answer.get("basis"), answer.get("obligations") or [], answer.get("flags") or [])


class ConsentGate:
    """Asks the consent service as the caller; anything but a clear permit refuses the read."""

    def __init__(self, consent_url: str, *, timeout: float = 1.5) -> None:
        self._client = httpx.AsyncClient(base_url=consent_url, timeout=timeout)

    async def close(self) -> None:
        await self._client.aclose()

    async def _ask(self, principal: Principal, path: str, body: dict[str, Any]) -> Any:
        headers = telemetry.inject_headers({"authorization": f"Bearer {principal.token}"})
        if principal.person:
            headers["divert-acting-person"] = principal.person
        try:
            response = await self._client.post(path, json=body, headers=headers)
            if response.status_code == 200:
                return response.json()
        except (httpx.HTTPError, ValueError):
            pass
        raise Unavailable("the consent service did not answer; the read is refused")

    async def require(
        self, principal: Principal, *, participant_id: str, jurisdiction: str, category: str, purpose: str
    ) -> Decision:
        """The permit, or Forbidden (denied) / Unavailable (no answer): never a silent serve."""
        body = {
            "participant_id": participant_id,
            "jurisdiction": jurisdiction,
            "requester_agency": principal.agency,
            "category": category,
            "purpose": purpose,
        }
        decision = _decision(await self._ask(principal, "/v1/access-decisions", body))
        if not decision.permitted:
            raise not_permitted()
        return decision

    async def decide_each(
        self, principal: Principal, participant_ids: Sequence[str], *, jurisdiction: str, category: str, purpose: str
    ) -> dict[str, Decision]:
        """One recorded decision per participant (a list page or an export chunk)."""
        answers = await self.decide_requests(
            principal, [(p, jurisdiction, category) for p in participant_ids], purpose=purpose
        )
        return dict(zip(participant_ids, answers, strict=True))

    async def decide_requests(
        self, principal: Principal, requests: Sequence[tuple[str, str, str]], *, purpose: str
    ) -> list[Decision]:
        """One recorded decision per (participant, jurisdiction, category), in order, in batches."""
        decided: list[Decision] = []
        for start in range(0, len(requests), BATCH_LIMIT):
            chunk = requests[start : start + BATCH_LIMIT]
            body = [
                {
                    "participant_id": participant_id,
                    "jurisdiction": jurisdiction,
                    "requester_agency": principal.agency,
                    "category": category,
                    "purpose": purpose,
                }
                for participant_id, jurisdiction, category in chunk
            ]
            answer = await self._ask(principal, "/v1/access-decisions/batch", {"requests": body})
            decisions = answer.get("decisions") if isinstance(answer, dict) else None
            if not isinstance(decisions, list) or len(decisions) != len(chunk):
                raise Unavailable("the consent service gave no clear decisions; the read is refused")
            decided.extend(_decision(d) for d in decisions)
        return decided

    async def scope(self, principal: Principal, *, jurisdiction: str, category: str, purpose: str) -> Scope:
        """The participants a list may consider; each row served is still decided by `decide_each`."""
        body = {
            "jurisdiction": jurisdiction,
            "requester_agency": principal.agency,
            "category": category,
            "purpose": purpose,
        }
        answer = await self._ask(principal, "/v1/access-decisions/scope", body)
        if not isinstance(answer, dict) or not isinstance(answer.get("participant_ids"), list):
            raise Unavailable("the consent service gave no clear scope; the read is refused")
        return Scope(bool(answer.get("everyone")), frozenset(map(str, answer["participant_ids"])))
