"""Bad input through the gateway: a 4xx problem+json naming the field or reason, nothing stored, never a 500."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest

from tests.conftest import System
from tests.partner import referral_body

PROBLEM = "application/problem+json"


def _without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(body))
    target = copy
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return copy


def _with(body: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(body))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


BASE = referral_body("P-BAD-1")
BAD_REFERRALS = [
    ("missing person", _without(BASE, "person"), 422, "person"),
    ("missing date of birth", _without(BASE, "person", "date_of_birth"), 422, "person.date_of_birth"),
    ("unknown referral type", _with(BASE, "arrest_and_book", "referral_type"), 422, "referral_type"),
    ("unknown race code", _with(BASE, "purple", "person", "race"), 422, "person.race"),
    ("wrong type for offense codes", _with(BASE, "35A", "incident", "offense_codes"), 422, "incident.offense_codes"),
    ("date of birth not a date", _with(BASE, "yesterday", "person", "date_of_birth"), 422, "person.date_of_birth"),
    ("naive timestamp", _with(BASE, "2026-11-20T14:05:00", "incident", "occurred_at"), 422, "incident.occurred_at"),
    ("unexpected field", _with(BASE, "free text", "notes"), 422, "notes"),
    ("other jurisdiction", _with(BASE, "santa-fe", "jurisdiction"), 403, "jurisdiction"),
]


async def _stored_counts(system: System) -> tuple[int, int, int]:
    conn = await asyncpg.connect(system.database_url("referral"))
    try:
        return (
            await conn.fetchval("SELECT count(*) FROM referrals"),
            await conn.fetchval("SELECT count(*) FROM persons"),
            await conn.fetchval("SELECT count(*) FROM events"),
        )
    finally:
        await conn.close()


def _assert_problem(reply: Any, status: int, field: str | None) -> None:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith(PROBLEM)
    problem = reply.json()
    assert problem["status"] == status and problem["detail"]
    if field is not None:
        named = {problem.get("field")} | {p["name"] for p in problem.get("invalid_params", [])}
        assert field in named, problem


class TestBadReferrals:
    @pytest.mark.parametrize(("case", "body", "status", "field"), BAD_REFERRALS, ids=[c[0] for c in BAD_REFERRALS])
    async def test_is_refused_naming_the_field_and_stores_nothing(
        self, system: System, case: str, body: dict[str, Any], status: int, field: str
    ) -> None:
        before = await _stored_counts(system)
        _assert_problem(system.partner("police").post("/v1/referrals", json=body), status, field)
        assert await _stored_counts(system) == before

    async def test_malformed_json_is_refused(self, system: System) -> None:
        before = await _stored_counts(system)
        reply = system.partner("police").post(
            "/v1/referrals", content=b'{"jurisdiction": "seattle-', headers={"content-type": "application/json"}
        )
        _assert_problem(reply, 422, "body")
        assert await _stored_counts(system) == before

    async def test_oversized_body_is_refused(self, system: System) -> None:
        before = await _stored_counts(system)
        huge = _with(BASE, "x" * 400_000, "incident", "location")
        _assert_problem(system.partner("police").post("/v1/referrals", json=huge), 413, "body")
        assert await _stored_counts(system) == before

    async def test_wrong_agency_type_is_refused(self, system: System) -> None:
        before = await _stored_counts(system)
        _assert_problem(system.partner("case_management").post("/v1/referrals", json=BASE), 403, None)
        assert await _stored_counts(system) == before


class TestBadCalls:
    @pytest.mark.parametrize(
        ("agency_type", "path", "status"),
        [
            # The held charge is the prosecutor's own record: never read through a decision, so plainly not found.
            ("prosecutor", "/v1/held-charges/6f1c2a52-0000-4000-8000-000000000000", 404),
            # Records another agency may read through a decision: unknown reads exactly like withheld (403).
            ("case_management", "/v1/participants/6f1c2a52-0000-4000-8000-000000000000/intake", 403),
            ("case_management", "/v1/consents/6f1c2a52-0000-4000-8000-000000000000", 403),
        ],
    )
    def test_unknown_ids_are_problems(self, system: System, agency_type: str, path: str, status: int) -> None:
        _assert_problem(system.partner(agency_type).get(path), status, None)

    def test_unknown_referral_looks_exactly_like_a_denied_one(self, system: System) -> None:
        # DESIGN §5: a deny is indistinguishable from "no such data", so neither reveals whether a referral exists.
        created = system.partner("police").post("/v1/referrals", json=referral_body("P-DENY-1")).json()
        # The prosecutor holding the charge reads the referral under the MOU; a second provider has no basis.
        other = system.agency("evergreen-cm")
        denied = other.get(f"/v1/referrals/{created['referral_id']}")
        unknown = other.get("/v1/referrals/6f1c2a52-0000-4000-8000-000000000000")
        _assert_problem(denied, 403, None)
        assert (unknown.status_code, unknown.json()) == (denied.status_code, denied.json())

    @pytest.mark.parametrize("path", ["/v1/referrals/not-a-uuid", "/v1/held-charges/%00"])
    def test_malformed_ids_are_4xx(self, system: System, path: str) -> None:
        reply = system.partner("prosecutor" if "held" in path else "police").get(path)
        assert 400 <= reply.status_code < 500, reply.text

    def test_no_token_is_401(self, system: System) -> None:
        reply = system.partner("police").http.post("/v1/referrals", json=BASE)
        _assert_problem(reply, 401, None)

    def test_forged_token_is_401(self, system: System) -> None:
        reply = system.partner("police").http.get(
            "/v1/referrals/6f1c2a52-0000-4000-8000-000000000000", headers={"Authorization": "Bearer a.b.c"}
        )
        _assert_problem(reply, 401, None)

    def test_a_service_called_directly_without_a_token_refuses(self, system: System) -> None:
        import httpx

        for service, url in system.endpoints["services"].items():
            reply = httpx.get(f"{url}/v1/referrals/6f1c2a52-0000-4000-8000-000000000000", timeout=5)
            assert reply.status_code in (401, 404), (service, reply.text)
        reply = httpx.post(f"{system.endpoints['services']['referral']}/v1/referrals", json=BASE, timeout=5)
        _assert_problem(reply, 401, None)

    def test_wrong_client_secret_gets_no_token(self, system: System) -> None:
        client = system.clients["police"]
        reply = system.partner("police").http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": "wrong"},
        )
        assert reply.status_code in (400, 401)
        assert reply.json()["error"] == "invalid_client"

    def test_unknown_path_is_a_404_problem(self, system: System) -> None:
        _assert_problem(system.partner("police").get("/v1/no-such-thing"), 404, None)

    def test_consent_for_bad_category_names_it(self, system: System) -> None:
        body = {
            "participant_id": "6f1c2a52-0000-4000-8000-000000000000",
            "jurisdiction": "seattle-king-county",
            "grants": [
                {"recipient_agency": "kc-prosecutor", "categories": ["diary"], "purposes": ["diversion_monitoring"]}
            ],
            "effective_at": "2026-01-01T00:00:00Z",
            "expires_at": "2030-01-01T00:00:00Z",
            "signed_document_sha256": "ab" * 32,
        }
        reply = system.partner("case_management").post("/v1/consents", json=body)
        _assert_problem(reply, 422, "grants.0.categories.0")


# Finding 8: text PostgreSQL cannot store, refused before the database with the field named, and the value
# (marked so it can be searched for) in no log, trace or database log under the system's home.
NUL = "\u0000"


def _marker() -> str:
    from uuid import uuid4

    return f"NULMARK{uuid4().hex[:12]}"


def _logged_anywhere(system: System, marker: str) -> list[str]:
    places = [
        *system.home.rglob("*.log"),
        *system.home.rglob("*.jsonl"),
        system.postgres.data_dir.parent / "postgres.log",
    ]
    return [str(p) for p in places if p.is_file() and marker.encode() in p.read_bytes()]


def _nul_bodies(marker: str) -> list[tuple[str, str, dict[str, Any], str]]:
    bad = f"x{NUL}{marker}"
    pid = "6f1c2a52-0000-4000-8000-000000000000"
    contact = {"occurred_on": "2026-11-20", "kind": "phone", "staff_id": "cm-1"}
    return [
        ("police", "/v1/referrals", _with(BASE, bad, "person", "first_name"), "person.first_name"),
        ("police", "/v1/referrals", _with(BASE, bad, "person", "rms_person_id"), "person.rms_person_id"),
        ("police", "/v1/referrals", _with(BASE, bad, "incident", "location"), "incident.location"),
        ("police", "/v1/referrals", _with(BASE, bad, "officer", "name"), "officer.name"),
        ("police", "/v1/referrals", _with(BASE, f"\ud800{marker}", "person", "last_name"), "person.last_name"),
        ("case_management", f"/v1/participants/{pid}/contacts", {**contact, "notes": bad}, "notes"),
        ("case_management", f"/v1/participants/{pid}/contacts", {**contact, "staff_id": bad}, "staff_id"),
        (
            "case_management",
            f"/v1/participants/{pid}/plan",
            {"goals": [{"goal": "ok", "action_steps": ["a", bad]}]},
            "goals.0.action_steps.1",
        ),
    ]


class TestUnstorableText:
    @pytest.mark.parametrize("case", range(8))
    async def test_nul_in_a_body_field_is_a_422_naming_it(self, system: System, case: int) -> None:
        marker = _marker()
        agency_type, path, body, field = _nul_bodies(marker)[case]
        before = await _stored_counts(system)
        partner = system.partner(agency_type)
        content = json.dumps(body).encode()  # json escapes NUL as \u0000 and keeps the lone surrogate escaped
        method = "PUT" if path.endswith("/plan") else "POST"
        reply = partner.http.request(
            method, path, content=content, headers={**partner._headers(None), "content-type": "application/json"}
        )
        _assert_problem(reply, 422, field)
        assert marker not in reply.text
        assert await _stored_counts(system) == before
        assert _logged_anywhere(system, marker) == []

    async def test_nul_in_a_query_parameter_or_the_path_is_a_4xx(self, system: System) -> None:
        marker = _marker()
        police = system.partner("police")
        created = police.post("/v1/referrals", json=referral_body("P-NUL-Q")).json()
        query = police.get(f"/v1/referrals/{created['referral_id']}?purpose=x%00{marker}")
        _assert_problem(query, 422, "purpose")
        path = system.partner("prosecutor").get(f"/v1/held-charges/%00{marker}")
        _assert_problem(path, 422, "path")
        assert _logged_anywhere(system, marker) == []

    def test_nul_in_a_client_id_gets_an_oauth_error(self, system: System) -> None:
        marker = _marker()
        reply = system.partner("police").http.post(
            "/oauth/token",
            content=f"grant_type=client_credentials&client_id=a%00{marker}&client_secret=x".encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert reply.status_code == 400 and reply.json()["error"] == "invalid_request", reply.text
        assert marker not in reply.text
        assert _logged_anywhere(system, marker) == []

    async def test_a_non_ascii_forwarded_header_is_a_422_naming_it(self, system: System) -> None:
        before = await _stored_counts(system)
        police = system.partner("police")
        headers = {**police._headers(None), "Divert-Acting-Person": "caf\xe9".encode("latin-1")}
        reply = police.http.post("/v1/referrals", json=BASE, headers=headers)  # type: ignore[arg-type]
        _assert_problem(reply, 422, "Divert-Acting-Person")
        key = {**police._headers(None), "Idempotency-Key": "k\xe9y".encode("latin-1")}
        _assert_problem(police.http.post("/v1/referrals", json=BASE, headers=key), 422, "Idempotency-Key")  # type: ignore[arg-type]
        assert await _stored_counts(system) == before
