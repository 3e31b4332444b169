"""A partner system that knows only DESIGN §7: a token from /oauth/token, then /v1 calls through the gateway."""

from __future__ import annotations

import time
from typing import Any

import httpx


class Partner:
    def __init__(self, gateway_url: str, client: dict[str, Any]) -> None:
        self.client = client
        self.http = httpx.Client(base_url=gateway_url, timeout=20)
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            reply = self.http.post(
                "/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.client["client_id"],
                    "client_secret": self.client["client_secret"],
                },
            )
            reply.raise_for_status()
            self._token = reply.json()["access_token"]
        return self._token

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}", **(extra or {})}

    def get(self, path: str, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        return self.http.get(path, headers=self._headers(headers), **kw)

    def post(self, path: str, json: Any = None, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        return self.http.post(path, json=json, headers=self._headers(headers), **kw)

    def put_json(self, path: str, json: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.http.put(path, json=json, headers=self._headers(headers))

    def wait_for(
        self, path: str, until: Any, timeout: float = 20.0, params: dict[str, str] | None = None
    ) -> httpx.Response:
        """GET `path` until `until(response)` holds (events reach other services asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            reply = self.get(path, params=params)
            if until(reply):
                return reply
            if time.monotonic() > deadline:
                raise AssertionError(f"{path}: still {reply.status_code} {reply.text[:300]}")
            time.sleep(0.05)


def referral_body(rms_person_id: str = "P-1001", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "jurisdiction": "seattle-king-county",
        "referral_type": "arrest_diversion",
        "person": {
            "first_name": "Alex",
            # One person per RMS id: the person index links the same name and birth date to one participant.
            "last_name": f"Doe {rms_person_id}",
            "date_of_birth": "1990-04-01",
            "race": "white",
            "ethnicity": "not_hispanic_or_latino",
            "gender": "male",
            "rms_person_id": rms_person_id,
        },
        "incident": {
            "rms_incident_number": "2026-000123",
            "offense_codes": ["35A"],
            "occurred_at": "2026-11-20T14:05:00Z",
            "location": "3rd Ave & Pine St",
        },
        "officer": {"badge_number": "B-4411", "name": "Officer Example"},
    }
    body.update(overrides)
    return body


def consent_body(participant_id: str, recipient: str = "kc-prosecutor", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "participant_id": participant_id,
        "jurisdiction": "seattle-king-county",
        "grants": [{"recipient_agency": recipient, "categories": ["assessment"], "purposes": ["diversion_monitoring"]}],
        "effective_at": "2026-01-01T00:00:00Z",
        "expires_at": "2030-01-01T00:00:00Z",
        "signed_document_sha256": "ab" * 32,
    }
    body.update(overrides)
    return body


def hand_off(police: Partner, provider: Partner, created: dict[str, Any], *, at: str = "2026-11-22T09:00:00Z") -> None:
    """Accept the offer and hand the person to `provider`; returns once that provider holds the records."""
    referral = f"/v1/referrals/{created['referral_id']}"
    assert police.post(f"{referral}/acceptance", json={}).status_code == 200
    handed = police.post(
        f"{referral}/handoff",
        json={
            "case_manager_id": "cm-demo",
            "location": "Day center",
            "at": at,
            "case_management_agency": provider.client["agency_id"],
        },
    )
    assert handed.status_code == 200, handed.text
    provider.wait_for(f"/v1/participants/{created['participant_id']}/intake", lambda r: r.status_code == 200)
    # The consent service hears of the hand-off on its own time: then the provider holds the consents too.
    consents = f"/v1/consents?participant_id={created['participant_id']}&jurisdiction={created.get('jurisdiction', 'seattle-king-county')}"
    provider.wait_for(consents, lambda r: r.status_code == 200)


def roi_naming(
    participant_id: str, recipients: dict[str, list[str]], jurisdiction: str = "seattle-king-county"
) -> dict:
    """A signed ROI body: recipient agency -> its purposes, each for the everyday categories."""
    return {
        "participant_id": participant_id,
        "jurisdiction": jurisdiction,
        "grants": [
            {"recipient_agency": agency, "categories": ["referral", "assessment"], "purposes": purposes}
            for agency, purposes in recipients.items()
        ],
        "effective_at": "2026-01-01T00:00:00Z",
        "expires_at": "2030-01-01T00:00:00Z",
        "signed_document_sha256": "ef" * 32,
    }


def until_created(send: Any, timeout: float = 20.0) -> httpx.Response:
    """Retry a write until the service has heard what it needs (events arrive asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        reply = send()
        if reply.status_code in (200, 201) or time.monotonic() > deadline:
            return reply
        time.sleep(0.05)


def intake_body(completed_at: str = "2026-11-22T10:00:00Z") -> dict[str, Any]:
    """An intake with the participant's written consent to take part (toolkit VII.C)."""
    return {
        "completed_at": completed_at,
        "consent_to_participate": {"signed_at": "2026-11-22T09:30:00Z", "signed_document_sha256": "0d" * 32},
    }


def enrol(provider: Partner, participant_id: str, jurisdiction: str = "seattle-king-county") -> httpx.Response:
    """The two preconditions, then the intake: an ROI naming the provider itself, and consent to take part."""
    roi = roi_naming(participant_id, {provider.client["agency_id"]: ["care_coordination"]}, jurisdiction)
    recorded = until_created(lambda: provider.post("/v1/consents", json=roi))
    assert recorded.status_code == 201, recorded.text
    return until_created(lambda: provider.post(f"/v1/participants/{participant_id}/intake", json=intake_body()))
