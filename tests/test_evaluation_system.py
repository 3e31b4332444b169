"""The evaluation service in the whole system, through the gateway: screenings with demographic codes reach the
continuum, the evaluator reads aggregates and nothing participant-level, police see their own units."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import System
from tests.isolation import AGGREGATE_READS, EVALUATORS
from tests.partner import referral_body

J = "seattle-king-county"
YEAR = str(datetime.now(UTC).year)


def _row(reply, stage: str, group: str) -> dict:  # type: ignore[no-untyped-def]
    return next(r for r in reply.json()["rows"] if r["stage"] == stage and r["group"] == group)


class TestTheEvaluatorThroughTheGateway:
    def test_a_screening_with_demographics_reaches_the_continuum_suppressed(self, system: System) -> None:
        evaluator = system.agency(EVALUATORS[J])
        params = {"jurisdiction": J, "period": YEAR, "by": "race"}
        before = evaluator.get("/v1/evaluation/continuum", params=params)
        assert before.status_code == 200, before.text
        assert _row(before, "screened", "native_hawaiian_or_pacific_islander")["count"] == 0
        screening = {
            "jurisdiction": J,
            "referral_type": "arrest_diversion",
            "offense_codes": ["35A"],
            "race": "native_hawaiian_or_pacific_islander",
            "ethnicity": "not_hispanic_or_latino",
            "gender": "female",
            "age_band": "45-54",
        }
        screened = system.agency("seattle-pd").post("/v1/screenings", json=screening)
        assert screened.status_code == 200, screened.text
        assert screened.json()["eligible"] is True, screened.text
        after = evaluator.wait_for(
            "/v1/evaluation/continuum",
            lambda r: _row(r, "screened", "native_hawaiian_or_pacific_islander")["suppressed"],
            params=params,
        )
        assert _row(after, "screened", "native_hawaiian_or_pacific_islander")["count"] is None

    def test_csv_through_the_gateway(self, system: System) -> None:
        evaluator = system.agency(EVALUATORS[J])
        params = {"jurisdiction": J, "period": f"{YEAR}Q4", "by": "age_band"}
        reply = evaluator.get("/v1/evaluation/continuum", params=params, headers={"accept": "text/csv"})
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
        assert reply.text.startswith("stage,group,count,rate,relative_rate_index,suppressed,value\n")

    def test_the_evaluator_reads_nothing_participant_level(self, system: System) -> None:
        police = system.agency("seattle-pd")
        created = police.post("/v1/referrals", json=referral_body("P-EVAL-ISO"))
        assert created.status_code == 201, created.text
        rid, pid = created.json()["referral_id"], created.json()["participant_id"]
        evaluator = system.agency(EVALUATORS[J])
        participant_level = [
            f"/v1/referrals/{rid}",
            f"/v1/participants/{pid}",
            f"/v1/participants/{pid}/intake",
            f"/v1/participants/{pid}/court-dates",
            f"/v1/participants/{pid}/disclosures",
            f"/v1/held-charges/{rid}",
            f"/v1/consents?participant_id={pid}&jurisdiction={J}",
            f"/v1/participants?jurisdiction={J}",
            f"/v1/participants/export?jurisdiction={J}",
            f"/v1/owg/roster?jurisdiction={J}",
            f"/v1/people/lookup?jurisdiction={J}&rms_person_id=P-EVAL-ISO",
        ]
        for path in participant_level:
            reply = evaluator.get(path, headers={"accept": "application/json"})
            assert reply.status_code in (200, 403, 404), f"{path}: {reply.status_code}"
            assert pid not in reply.text and rid not in reply.text, path
            if reply.status_code == 200 and reply.headers["content-type"].startswith("application/json"):  # empty
                assert reply.json().get("items", []) == [] and reply.json().get("total", 0) == 0, path
        for template in AGGREGATE_READS.values():
            reply = evaluator.get(template.format(j=J))
            assert pid not in reply.text and rid not in reply.text

    def test_police_get_their_units_and_not_the_demographic_views(self, system: System) -> None:
        police = system.agency("seattle-pd")
        units = police.get("/v1/evaluation/continuum", params={"jurisdiction": J, "period": YEAR, "by": "unit"})
        assert units.status_code == 200, units.text
        assert {r["stage"] for r in units.json()["rows"]} == {"offered", "social_contact_submitted"}
        refused = police.get("/v1/evaluation/continuum", params={"jurisdiction": J, "period": YEAR, "by": "race"})
        assert refused.status_code == 403

    def test_bad_periods_are_422_through_the_gateway(self, system: System) -> None:
        evaluator = system.agency(EVALUATORS[J])
        reply = evaluator.get(
            "/v1/evaluation/continuum", params={"jurisdiction": J, "period": "2026-W44", "by": "race"}
        )
        assert reply.status_code == 422 and reply.json()["field"] == "period"


class TestTheLimitedDataSet:
    def test_an_extract_under_a_recorded_agreement_lands_in_the_audit_log(self, system: System) -> None:
        import asyncio
        import time

        import asyncpg

        agreement = {
            "jurisdiction": J,
            "agreement_id": "DUA-SYSTEM-1",
            "recipient_agency": EVALUATORS[J],
            "expires_on": f"{int(YEAR) + 2}-01-01",
            "signed_document_sha256": "cd" * 32,
        }
        recorded = system.agency("lead-project-manager").post("/v1/evaluation/data-use-agreements", json=agreement)
        assert recorded.status_code == 201, recorded.text
        body = {"jurisdiction": J, "data_use_agreement_id": "DUA-SYSTEM-1", "year": int(YEAR)}
        extract = system.agency(EVALUATORS[J]).post("/v1/evaluation/extracts", json=body)
        assert extract.status_code == 201, extract.text
        extract_id = extract.json()["extract_id"]

        async def audited() -> int:
            conn = await asyncpg.connect(system.database_url("audit"))
            try:
                query = "SELECT count(*) FROM audit_log WHERE entry::text LIKE $1 AND entry::text LIKE '%DUA-SYSTEM-1%'"
                return await conn.fetchval(query, f"%{extract_id}%")
            finally:
                await conn.close()

        deadline = time.monotonic() + 30
        while asyncio.run(audited()) == 0:
            assert time.monotonic() < deadline, "the extract never reached the audit log"
            time.sleep(0.2)


class TestNoServerErrors:
    def test_generated_requests_to_the_evaluation_routes_never_get_a_5xx(self, system: System) -> None:
        import httpx
        import schemathesis

        from tests.test_fuzz import Tokens, fuzz

        gateway = system.endpoints["gateway_url"]
        schema = schemathesis.openapi.from_dict(httpx.get(f"{gateway}/openapi.json", timeout=20).json())
        operations = [r.ok() for r in schema.get_all_operations() if r.ok().path.startswith("/v1/evaluation")]
        assert len(operations) == 4
        tokens = Tokens(system)
        with httpx.Client(base_url=gateway, timeout=30) as http:
            seen = {op.label: fuzz(http, op, tokens, 40) for op in operations}
        assert [f"{label} -> {s}" for label, c in seen.items() for s in c if s.startswith("5")] == []
