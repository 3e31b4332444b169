"""`divert projections rebuild`: workflows run through the gateway, every read-model table of each converted
service is checksummed, rebuilt from the event store with the system running, and checksummed again."""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from typer.testing import CliRunner

from divert_cli.main import app as divert
from divert_kernel.db import make_engine
from tests.conftest import System
from tests.isolation import EVALUATORS
from tests.partner import enrol, hand_off, referral_body

# Every service with read models: the audit service's are derived from its hash chain (the chain itself is its
# store of facts, never rebuilt); the others' from their event stores and the events they consumed (the
# evaluation service's facts from consumed events alone).
CONVERTED = ("prosecution", "casemgmt", "referral", "consent", "audit", "evaluation")
# One live row changed behind the projections' back, per service: (table, statement).
TAMPER = {
    "prosecution": (
        "held_charges",
        "UPDATE held_charges SET status = 'filed' WHERE ctid = (SELECT min(ctid) FROM held_charges)",
    ),
    "referral": ("referrals", "UPDATE referrals SET status = 'x' WHERE ctid = (SELECT min(ctid) FROM referrals)"),
    "casemgmt": (
        "participants",
        "UPDATE participants SET case_manager_id = 'x' WHERE ctid = (SELECT min(ctid) FROM participants)",
    ),
    "consent": (
        "access_decisions",
        "UPDATE access_decisions SET decision = 'x' WHERE ctid = (SELECT min(ctid) FROM access_decisions)",
    ),
    "audit": ("disclosures", "DELETE FROM disclosures WHERE ctid = (SELECT min(ctid) FROM disclosures)"),
    "evaluation": (
        "evaluation_facts",
        "UPDATE evaluation_facts SET kind = 'x' WHERE ctid = (SELECT min(ctid) FROM evaluation_facts)",
    ),
}
# Records (what events must not carry) are kept by a rebuild, not rebuilt: (service, table).
RECORDS = (("consent", "break_glass_reasons"), ("prosecution", "case_records"))


def continuum(system: System) -> list[str]:
    """What the evaluation service serves from its facts: the year's continuum and the quarter's, as JSON."""
    now, evaluator = datetime.now(UTC), system.agency(EVALUATORS["seattle-king-county"])
    periods = (str(now.year), f"{now.year}Q{(now.month - 1) // 3 + 1}")
    replies = [
        evaluator.get("/v1/evaluation/continuum", params={"jurisdiction": "seattle-king-county", "period": p, "by": by})
        for p in periods
        for by in ("race", "referral_type")
    ]
    assert all(r.status_code == 200 for r in replies), [r.text for r in replies]
    return [r.text for r in replies]


# What a service serves from its read models, compared before and after a rebuild (beyond the checksums).
SERVED: dict[str, Callable[[System], object]] = {"evaluation": continuum}


def tables_of(service: str) -> tuple[str, ...]:
    return importlib.import_module(f"{service}.service_layer.projections").projections.tables  # type: ignore[no-any-return]


async def _checksums(url: str, tables: tuple[str, ...]) -> dict[str, tuple[int, str]]:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            sums = {}
            for table in tables:
                row = await conn.execute(
                    sa.text(
                        f"SELECT count(*), md5(COALESCE(string_agg(row_to_json(t)::text, ',' "
                        f"ORDER BY row_to_json(t)::text), '')) FROM {table} t"
                    )
                )
                sums[table] = tuple(row.one())
            return sums
    finally:
        await engine.dispose()


def checksums(system: System, service: str) -> dict[str, tuple[int, str]]:
    return asyncio.run(_checksums(system.postgres.url(service), tables_of(service)))


def records(system: System) -> dict[str, tuple[int, str]]:
    return {table: asyncio.run(_checksums(system.postgres.url(s), (table,)))[table] for s, table in RECORDS}


def settled(system: System, service: str, quiet: float = 1.5, timeout: float = 30) -> dict[str, tuple[int, str]]:
    """The checksums once they stop changing (every event of the workflows consumed)."""
    deadline = time.monotonic() + timeout
    last = checksums(system, service)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = checksums(system, service)
        if now == last:
            return now
        last = now
    raise AssertionError(f"{service} read models kept changing")


def sql(system: System, service: str, statement: str) -> None:
    async def run() -> None:
        engine = make_engine(system.postgres.url(service), pool_size=1)
        try:
            async with engine.begin() as conn:
                await conn.execute(sa.text(statement))
        finally:
            await engine.dispose()

    asyncio.run(run())


def workflows(system: System) -> None:
    """An offer declined, an offer taken up through intake, and a case registered, reviewed and scheduled."""
    police, prosecutor = system.partner("police"), system.partner("prosecutor")
    provider = system.partner("case_management")
    declined = police.post("/v1/referrals", json=referral_body("P-REBUILD-1")).json()
    prosecutor.wait_for(f"/v1/held-charges/{declined['referral_id']}", lambda r: r.status_code == 200)
    reply = police.post(f"/v1/referrals/{declined['referral_id']}/decline", json={"reason": "person_declined"})
    assert reply.status_code == 200, reply.text

    taken = police.post("/v1/referrals", json=referral_body("P-REBUILD-2")).json()
    prosecutor.wait_for(f"/v1/held-charges/{taken['referral_id']}", lambda r: r.status_code == 200)
    hand_off(police, provider, taken)
    assert enrol(provider, taken["participant_id"]).status_code in (200, 201)
    prosecutor.wait_for(f"/v1/held-charges/{taken['referral_id']}", lambda r: r.json()["status"] != "held")

    case = prosecutor.post(
        "/v1/cases",
        json={
            "participant_id": taken["participant_id"],
            "jurisdiction": "seattle-king-county",
            "kind": "legacy",
            "docket_number": "26-1-0777-1 SEA",
            "court": "King County District Court",
            "charges": [{"code": "23H", "description": "Theft 3"}],
            "filed_at": "2026-10-01",
        },
    )
    assert case.status_code == 201, case.text
    case_id = case.json()["case_id"]
    reviewed = prosecutor.post(
        f"/v1/cases/{case_id}/reviews", json={"decision": "continue_to_monitor", "rationale": "Engaged."}
    )
    assert reviewed.status_code == 201, reviewed.text
    dated = prosecutor.post(
        f"/v1/cases/{case_id}/court-dates", json={"scheduled_for": "2030-01-10T17:00:00Z", "hearing": "review"}
    )
    assert dated.status_code == 201, dated.text

    # An emergency read (its written reason a record, never in the event) and a decision the audit log accounts.
    urgent = provider.post(
        "/v1/break-glass",
        json={
            "participant_id": taken["participant_id"],
            "jurisdiction": "seattle-king-county",
            "categories": ["housing"],
            "reason": "In crisis at the emergency room; the care team needs the plan now.",
            "minutes": 15,
        },
        headers={"Divert-Acting-Person": "cm-rebuild-1"},
    )
    assert urgent.status_code == 201, urgent.text
    decided = prosecutor.post(
        "/v1/access-decisions",
        json={
            "participant_id": taken["participant_id"],
            "jurisdiction": "seattle-king-county",
            "requester_agency": "kc-prosecutor",
            "category": "assessment",
            "purpose": "diversion_monitoring",
        },
    )
    assert decided.status_code == 200, decided.text
    auditor = system.partner("auditor")
    auditor.wait_for(
        f"/v1/participants/{taken['participant_id']}/disclosures?include_denied=true",
        lambda r: r.status_code == 200 and decided.json()["decision_id"] in r.text,
    )


def test_a_rebuild_with_the_system_running_yields_the_same_read_models(system: System) -> None:
    workflows(system)
    runner = CliRunner()
    env = {"DIVERT_HOME": str(system.home)}
    kept = records(system)
    assert all(count > 0 for count, _ in kept.values()), kept
    for service in CONVERTED:
        before = settled(system, service)
        served = SERVED.get(service, lambda _: None)
        shown = served(system)
        table, statement = TAMPER[service]
        assert before[table][0] > 0, before  # a row to tamper with

        verified = runner.invoke(divert, ["projections", "rebuild", service, "--verify"], env=env)
        assert verified.exit_code == 0, verified.output
        assert "no differences" in verified.output

        rebuilt = runner.invoke(divert, ["projections", "rebuild", service], env=env)
        assert rebuilt.exit_code == 0, rebuilt.output
        assert checksums(system, service) == before
        assert served(system) == shown

        sql(system, service, statement)
        tampered = runner.invoke(divert, ["projections", "rebuild", service, "--verify"], env=env)
        assert tampered.exit_code == 1, tampered.output
        assert "differences found" in tampered.output and table in tampered.output

        repaired = runner.invoke(divert, ["projections", "rebuild", service], env=env)
        assert repaired.exit_code == 0, repaired.output
        assert checksums(system, service) == before
        assert served(system) == shown
    assert records(system) == kept


def test_an_unknown_service_is_refused_naming_it(system: System) -> None:
    reply = CliRunner().invoke(divert, ["projections", "rebuild", "nosuch"], env={"DIVERT_HOME": str(system.home)})
    assert reply.exit_code == 2 and "nosuch" in reply.output
