"""The prosecution read models are projections: a rebuild from the event store (and the consumed events kept
beside it) yields the same tables, and `verify` finds a tampered row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

import httpx
import nats
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from divert_contracts.casemgmt import EnrolmentChanged, IntakeCompleted, ParticipantStatusChanged
from divert_contracts.referral import EligibilityPolicyAmended, ParticipantsLinked
from divert_devstack.testing import eventually, publish_as
from divert_kernel import rebuild
from divert_kernel.clock import FixedClock
from prosecution.service_layer.projections import projections

J = "seattle-king-county"


async def checksums(app: FastAPI) -> dict[str, tuple[int, str]]:
    """Every read-model table's row count and an order-free digest of its rows."""
    sums = {}
    async with app.state.engine.connect() as conn:
        for table in projections.tables:
            row = await conn.execute(
                sa.text(
                    f"SELECT count(*), md5(COALESCE(string_agg(row_to_json(t)::text, ',' "
                    f"ORDER BY row_to_json(t)::text), '')) FROM {table} t"
                )
            )
            sums[table] = tuple(row.one())
    return sums


async def charge_status(service: httpx.AsyncClient, auth: dict[str, str], referral_id: str, status: str) -> None:
    async def probe() -> bool:
        reply = await service.get(f"/v1/held-charges/{referral_id}", headers=auth)
        return reply.status_code == 200 and reply.json()["status"] == status

    await eventually(probe)


async def workflows(
    service: httpx.AsyncClient,
    app: FastAPI,
    bus: nats.NATS,
    offer: Callable,
    lapse: Callable,
    clock: FixedClock,
    office: dict[str, str],
) -> None:
    """Charges held, closed by intake, lapsed and decided; a case registered, reviewed and scheduled; two records
    linked; an enrolment; a site time zone."""
    clock.at = datetime(2026, 11, 2, tzinfo=UTC)
    closed, lapsing, participant, other = str(uuid4()), str(uuid4()), str(uuid4()), str(uuid4())
    await publish_as(bus, "referral", offer(closed, participant))
    await publish_as(bus, "referral", offer(lapsing, other))
    await charge_status(service, office, closed, "held")
    await charge_status(service, office, lapsing, "held")
    intake = IntakeCompleted(participant_id=participant, referral_ids=[closed], completed_at=clock.at)
    await publish_as(bus, "casemgmt", intake)
    await charge_status(service, office, closed, "closed_by_intake")
    clock.at = datetime(2026, 12, 3, tzinfo=UTC)
    assert await lapse(app) >= 1
    filed = await service.post(
        f"/v1/held-charges/{lapsing}/filing", json={"meets_filing_standards": True}, headers=office
    )
    assert filed.status_code == 200, filed.text

    case = await service.post(
        "/v1/cases",
        headers=office,
        json={
            "participant_id": participant,
            "jurisdiction": J,
            "kind": "legacy",
            "docket_number": "26-1-0001-1 SEA",
            "court": "King County District Court",
            "charges": [{"code": "23H", "description": "Theft 3"}],
            "filed_at": "2026-11-15",
        },
    )
    assert case.status_code == 201, case.text
    case_id = case.json()["case_id"]
    for decision in ("continue_to_monitor", "support_release_motion"):
        review = await service.post(
            f"/v1/cases/{case_id}/reviews", headers=office, json={"decision": decision, "rationale": "Engaged."}
        )
        assert review.status_code == 201, review.text
    court = await service.post(
        f"/v1/cases/{case_id}/court-dates",
        headers=office,
        json={"scheduled_for": "2027-01-10T17:00:00Z", "hearing": "status"},
    )
    assert court.status_code == 201, court.text

    linked = ParticipantsLinked(
        review_id="rev-p", survivor_participant_id=participant, merged_participant_id=other, linked_at=clock.at
    )
    await publish_as(bus, "referral", linked)
    enrolled = EnrolmentChanged(participant_id=participant, enrolment="enrolled", changed_at=clock.at)
    await publish_as(bus, "casemgmt", enrolled)
    policy = EligibilityPolicyAmended(
        policy_version=1,
        divertible_offense_codes=["35A"],
        exclusions=[],
        intake_window_days=30,
        social_contact_referrers=[],
        victim_must_decline=False,
        amended_by="pm-1",
        amended_at=clock.at,
    )
    await publish_as(bus, "referral", policy)

    async def all_taken_in() -> bool:
        async with app.state.engine.connect() as conn:
            zone = await conn.execute(sa.text("SELECT 1 FROM site_time_zones"))
            standing = await conn.execute(sa.text("SELECT 1 FROM participant_standing WHERE enrolled"))
            links = await conn.execute(sa.text("SELECT 1 FROM participant_links"))
            return all(r.first() is not None for r in (zone, standing, links))

    await eventually(all_taken_in)


class TestTheReadModelsAreProjections:
    async def test_a_rebuild_yields_the_same_tables_and_verify_finds_a_tampered_row(
        self,
        service: httpx.AsyncClient,
        app: FastAPI,
        bus: nats.NATS,
        offer: Callable,
        lapse: Callable,
        clock: FixedClock,
        office: dict[str, str],
    ) -> None:
        await workflows(service, app, bus, offer, lapse, clock, office)
        before = await checksums(app)
        assert all(count > 0 for count, _ in before.values()), before

        checked = await rebuild.run(app.state.engine, projections, verify=True)
        assert not checked.differs, checked.tables

        rebuilt = await rebuild.run(app.state.engine, projections, verify=False)
        assert not rebuilt.differs, rebuilt.tables
        assert await checksums(app) == before

        async with app.state.engine.begin() as conn:
            await conn.execute(sa.text("UPDATE case_reviews SET decision = 'decline_to_file' WHERE true"))
        tampered = await rebuild.run(app.state.engine, projections, verify=True)
        assert tampered.differs
        assert [t for t, r in tampered.tables.items() if r.differs] == ["case_reviews"]
        assert tampered.tables["case_reviews"].only_live == 2

        await rebuild.run(app.state.engine, projections, verify=False)
        assert await checksums(app) == before


async def test_a_rebuild_refuses_history_consumed_before_it_was_kept(app: FastAPI) -> None:
    """A consumed event with no kept copy (taken in before kernel migration k0002) would be lost: refused."""
    unkept = {"consumer": "prosecution-from-referral", "event_id": str(uuid4())}
    async with app.state.engine.begin() as conn:
        await conn.execute(
            sa.text("INSERT INTO processed_events (consumer, event_id) VALUES (:consumer, :event_id)"), unkept
        )
    try:
        with pytest.raises(rebuild.RebuildRefused, match="1 consumed events predate"):
            await rebuild.run(app.state.engine, projections, verify=True)
    finally:
        async with app.state.engine.begin() as conn:
            await conn.execute(sa.text("DELETE FROM processed_events WHERE event_id = CAST(:event_id AS uuid)"), unkept)
    assert not (await rebuild.run(app.state.engine, projections, verify=True)).differs


async def test_standings_folded_in_one_batch_match_the_ones_taken_in_one_by_one(
    service: httpx.AsyncClient, app: FastAPI, bus: nats.NATS, offer: Callable, clock: FixedClock
) -> None:
    """Live, each enrolment change is taken in alone; a rebuild hands a page of them to one call (several for
    the same participant among them, interleaved with offers): the standings must come out the same."""
    clock.at = datetime(2026, 11, 2, tzinfo=UTC)
    people = [str(uuid4()) for _ in range(3)]
    changes = [
        EnrolmentChanged(participant_id=people[0], enrolment="enrolled", changed_at=clock.at),
        ParticipantStatusChanged(participant_id=people[0], status="exited", reason="done", changed_at=clock.at),
        EnrolmentChanged(participant_id=people[1], enrolment="not_enrolled", changed_at=clock.at),
        EnrolmentChanged(participant_id=people[0], enrolment="enrolled", changed_at=clock.at),
        EnrolmentChanged(participant_id=people[1], enrolment="enrolled", changed_at=clock.at),
        ParticipantStatusChanged(participant_id=people[2], status="inactive", reason="away", changed_at=clock.at),
    ]
    for change in changes:  # offers of others between them: no charge of these people closes (a barrier)
        await publish_as(bus, "referral", offer(str(uuid4()), str(uuid4())))
        await publish_as(bus, "casemgmt", change)

    async def taken_in() -> bool:
        async with app.state.engine.connect() as conn:
            n = await conn.execute(
                sa.text("SELECT count(*) FROM participant_standing WHERE participant_id = ANY(CAST(:ids AS uuid[]))"),
                {"ids": people},
            )
            seen = await conn.execute(
                sa.text("SELECT count(*) FROM consumed_events WHERE envelope->'data'->>'participant_id' = ANY(:ids)"),
                {"ids": people},
            )
            return n.scalar_one() == 3 and seen.scalar_one() == len(changes)

    await eventually(taken_in)
    checked = await rebuild.run(app.state.engine, projections, verify=True)
    assert not checked.differs, checked.tables
