"""The consent-gate client: every cross-agency read asks the consent service, and fails closed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from divert_kernel import telemetry
from divert_kernel.auth import Principal
from divert_kernel.errors import Forbidden, Unavailable


def not_permitted() -> Forbidden:
    """The one refusal for a cross-agency read: a deny reads exactly like data that does not exist."""
    return Forbidden("no such record, or no consent or site policy permits this read")


@dataclass(frozen=True)
class Decision:
    decision: str
    basis: dict[str, Any] | None = None
    obligations: list[dict[str, Any]] = field(default_factory=list)


class ConsentGate:
    """Asks `POST /v1/access-decisions` as the caller; anything but a clear permit refuses the read."""

    def __init__(self, consent_url: str, *, timeout: float = 1.5) -> None:
        self._client = httpx.AsyncClient(base_url=consent_url, timeout=timeout)

    async def close(self) -> None:
        await self._client.aclose()

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
        headers = telemetry.inject_headers({"authorization": f"Bearer {principal.token}"})
        if principal.person:
            headers["divert-acting-person"] = principal.person
        try:
            response = await self._client.post("/v1/access-decisions", json=body, headers=headers)
            answer = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            answer = None
        if not isinstance(answer, dict) or answer.get("decision") not in ("permit", "deny"):
            raise Unavailable("the consent service did not answer; the read is refused")
        if answer["decision"] != "permit":
            raise not_permitted()
        return Decision("permit", answer.get("basis"), answer.get("obligations") or [])

    async def permits(self, principal: Principal, **request: str) -> bool:
        """Like `require`, but a deny is False (for optional parts of a response); no answer still raises."""
        try:
            await self.require(principal, **request)
        except Forbidden:
            return False
        return True
