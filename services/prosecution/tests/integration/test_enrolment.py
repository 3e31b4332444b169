"""Issue 10 on real PostgreSQL and NATS: a new diversion of someone already in the program closes at once (in
whichever order the two streams deliver), a late intake still wins, and linked records are one person."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
import nats
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from divert_contracts.casemgmt import EnrolmentChanged, IntakeCompleted, ParticipantStatusChanged
from divert_contracts.referral import ParticipantsLinked
from divert_devstack.testing import eventually, publish_as
from divert_kernel.clock import FixedClock
from divert_kernel.db import make_engine

AT = datetime(2026, 11, 5, 9, tzinfo=UTC)
ACTIONS = ["filing", "non-filing", "abeyance", "reopening"]


class Charges:
    """The prosecutor's view of held charges, and the streams that feed it."""

    def __init__(self, service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, auth: dict[str, str]) -> None:
        self.service, self.bus, self.offer, self.auth = service, bus, offer, auth

    async def get(self, referral_id: str) -> dict[str, Any]:
        reply = await self.service.get(f"/v1/held-charges/{referral_id}", headers=self.auth)
        return reply.json() if reply.status_code == 200 else {}  # type: ignore[no-any-return]

    async def offered(self, participant_id: str) -> dict[str, Any]:
        """A new arrest diversion, once the prosecutor's office has taken it in."""
        referral_id = str(uuid4())
        await publish_as(self.bus, "referral", self.offer(referral_id, participant_id))
        return await eventually(lambda: self.get(referral_id))  # type: ignore[no-any-return]

    async def becomes(self, referral_id: str, status: str) -> dict[str, Any]:
        async def there() -> dict[str, Any] | None:
            charge = await self.get(referral_id)
            return charge if charge.get("status") == status else None

        return await eventually(there)  # type: ignore[no-any-return]

    async def casemgmt(self, *events: Any) -> None:
        """Publish case management's events and wait until all were handled (its stream is consumed in order:
        a marker intake published after them shows they were)."""
        for event in events:
            await publish_as(self.bus, "casemgmt", event)
        marker = await self.offered(str(uuid4()))
        await publish_as(self.bus, "casemgmt", intake(marker["participant_id"], marker["referral_id"]))
        await self.becomes(marker["referral_id"], "closed_by_intake")

    async def enrolled(self) -> tuple[str, str]:
        """A participant who completed intake on a first diversion: (participant, first referral)."""
        participant_id = str(uuid4())
        first = await self.offered(participant_id)
        await self.casemgmt(intake(participant_id, first["referral_id"]), enrolment(participant_id, "enrolled"))
        return participant_id, first["referral_id"]


def intake(participant_id: str, *referral_ids: str) -> IntakeCompleted:
    return IntakeCompleted(participant_id=participant_id, referral_ids=list(referral_ids), completed_at=AT)


def enrolment(participant_id: str, state: str, reason: str | None = None) -> EnrolmentChanged:
    return EnrolmentChanged(
        participant_id=participant_id,
        enrolment=state,  # type: ignore[arg-type]
        not_enrolled_reason=reason,  # type: ignore[arg-type]
        changed_at=AT,
    )


def status(participant_id: str, value: str) -> ParticipantStatusChanged:
    return ParticipantStatusChanged(participant_id=participant_id, status=value, reason="x", changed_at=AT)  # type: ignore[arg-type]


@pytest.fixture
def charges(service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, office: dict[str, str]) -> Charges:
    return Charges(service, bus, offer, office)


@pytest.fixture(autouse=True)
def november(clock: FixedClock) -> None:
    clock.at = datetime(2026, 11, 10, tzinfo=UTC)


async def events_of(database: str, referral_id: str) -> list[tuple[str, Any]]:
    engine = make_engine(database)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.text("SELECT type, data->>'reason' FROM events WHERE stream_id = :s ORDER BY version"),
                {"s": f"heldcharge-{referral_id}"},
            )
            return [tuple(r) for r in rows]
    finally:
        await engine.dispose()


class TestANewDiversionOfAnEnrolledParticipant:
    async def test_closes_at_once_says_why_and_is_never_filed(
        self, charges: Charges, service: httpx.AsyncClient, office: dict[str, str], database: str
    ) -> None:
        participant_id, _ = await charges.enrolled()
        charge = await charges.offered(participant_id)
        assert charge["status"] == "closed_participant_enrolled"
        assert charge["closed_reason"] == "participant_enrolled" and "already enrolled" in charge["closed_explanation"]
        assert await events_of(database, charge["referral_id"]) == [
            ("ChargeHeld", None),
            ("DivertedChargeClosed", "participant_enrolled"),
        ]
        for action in ACTIONS:
            body = {"meets_filing_standards": True} if action == "filing" else None
            path = f"/v1/held-charges/{charge['referral_id']}/{action}"
            refused = await service.post(path, json=body, headers=office)
            assert refused.status_code == 409, (action, refused.text)
        assert (await charges.get(charge["referral_id"]))["status"] == "closed_participant_enrolled"

    async def test_offered_before_the_news_of_the_first_intake_it_closes_when_that_news_comes(
        self, charges: Charges
    ) -> None:
        participant_id = str(uuid4())
        first = await charges.offered(participant_id)
        second = await charges.offered(participant_id)
        assert second["status"] == "held"
        await charges.casemgmt(intake(participant_id, first["referral_id"]))
        assert (await charges.get(first["referral_id"]))["status"] == "closed_by_intake"
        closed = await charges.get(second["referral_id"])
        assert (closed["status"], closed.get("closed_reason")) == (
            "closed_participant_enrolled",
            "participant_enrolled",
        )

    async def test_enrolment_news_alone_closes_a_charge_already_held(self, charges: Charges) -> None:
        participant_id = str(uuid4())
        held = await charges.offered(participant_id)
        await charges.casemgmt(enrolment(participant_id, "enrolled"))
        assert (await charges.get(held["referral_id"]))["status"] == "closed_participant_enrolled"

    async def test_an_inactive_participant_is_still_enrolled(self, charges: Charges) -> None:
        participant_id, _ = await charges.enrolled()
        await charges.casemgmt(status(participant_id, "inactive"))
        assert (await charges.offered(participant_id))["status"] == "closed_participant_enrolled"


class TestSomeoneNotEnrolledGetsAFreshHeldCharge:
    @pytest.mark.parametrize("reason", ["declined", "owg_denied", "intake_lapsed", "withdrew"])
    async def test_after_not_enrolling_last_time(self, charges: Charges, reason: str) -> None:
        participant_id = str(uuid4())
        await charges.casemgmt(enrolment(participant_id, "not_enrolled", reason))
        assert (await charges.offered(participant_id))["status"] == "held"

    async def test_after_an_exit_for_a_code_of_conduct_violation(self, charges: Charges) -> None:
        participant_id, _ = await charges.enrolled()
        await charges.casemgmt(status(participant_id, "exited"))
        charge = await charges.offered(participant_id)
        assert charge["status"] == "held" and charge.get("closed_reason") is None


class TestALateIntakeStillWins:
    async def test_after_the_lapse_before_the_prosecutor_decides_intake_closes_the_charge(
        self, charges: Charges, app: FastAPI, lapse: Callable, clock: FixedClock, service: httpx.AsyncClient
    ) -> None:
        participant_id = str(uuid4())
        charge = await charges.offered(participant_id)
        clock.at = datetime(2026, 12, 2, 8, 30, tzinfo=UTC)  # the deadline (12-01) has passed in Seattle
        await lapse(app)
        assert (await charges.get(charge["referral_id"]))["status"] == "lapsed"
        clock.at = datetime(2026, 12, 9, tzinfo=UTC)
        await charges.casemgmt(intake(participant_id, charge["referral_id"]))
        closed = await charges.get(charge["referral_id"])
        assert (closed["status"], closed.get("closed_reason")) == ("closed_by_intake", "intake_completed")
        filing = await service.post(
            f"/v1/held-charges/{charge['referral_id']}/filing",
            json={"meets_filing_standards": True},
            headers=charges.auth,
        )
        assert filing.status_code == 409 and "never be filed" in filing.json()["detail"]

    async def test_once_the_prosecutor_decided_a_late_intake_changes_nothing(
        self, charges: Charges, app: FastAPI, lapse: Callable, clock: FixedClock, service: httpx.AsyncClient
    ) -> None:
        participant_id = str(uuid4())
        charge = await charges.offered(participant_id)
        clock.at = datetime(2026, 12, 2, 8, 30, tzinfo=UTC)
        await lapse(app)
        decided = await service.post(f"/v1/held-charges/{charge['referral_id']}/non-filing", headers=charges.auth)
        assert decided.status_code == 200, decided.text
        await charges.casemgmt(intake(participant_id, charge["referral_id"]))
        assert (await charges.get(charge["referral_id"]))["status"] == "not_filed"


class TestLinkedRecordsAreOnePerson:
    async def test_a_charge_held_under_a_duplicate_record_closes_once_linked_to_the_enrolled_one(
        self, charges: Charges, bus: nats.NATS
    ) -> None:
        survivor, _ = await charges.enrolled()
        duplicate = str(uuid4())
        charge = await charges.offered(duplicate)
        assert charge["status"] == "held"
        linked = ParticipantsLinked(
            review_id="rev-1", survivor_participant_id=survivor, merged_participant_id=duplicate, linked_at=AT
        )
        await publish_as(bus, "referral", linked)
        closed = await charges.becomes(charge["referral_id"], "closed_participant_enrolled")
        assert closed["participant_id"] == survivor
        # From now on a new diversion under either record closes at once.
        assert (await charges.offered(duplicate))["status"] == "closed_participant_enrolled"

    async def test_a_link_to_a_record_never_enrolled_closes_nothing(self, charges: Charges, bus: nats.NATS) -> None:
        survivor, duplicate = str(uuid4()), str(uuid4())
        charge = await charges.offered(duplicate)
        linked = ParticipantsLinked(
            review_id="rev-2", survivor_participant_id=survivor, merged_participant_id=duplicate, linked_at=AT
        )
        await publish_as(bus, "referral", linked)
        await charges.offered(str(uuid4()))  # the referral stream is consumed in order: the link was handled
        seen = await charges.get(charge["referral_id"])
        assert (seen["status"], seen["participant_id"]) == ("held", survivor)

    async def test_intake_under_the_survivor_closes_by_intake_a_charge_held_under_the_merged_record(
        self, charges: Charges, bus: nats.NATS, service: httpx.AsyncClient, office: dict[str, str]
    ) -> None:
        survivor, duplicate = str(uuid4()), str(uuid4())
        charge = await charges.offered(duplicate)
        linked = ParticipantsLinked(
            review_id="rev-3", survivor_participant_id=survivor, merged_participant_id=duplicate, linked_at=AT
        )
        await publish_as(bus, "referral", linked)
        await charges.offered(str(uuid4()))  # the link was handled
        # The survivor was never referred here under its own id; the link makes it known.
        case = {
            "participant_id": survivor,
            "jurisdiction": "seattle-king-county",
            "kind": "legacy",
            "docket_number": "D-LINK",
            "court": "King County District Court",
            "charges": [{"code": "23H", "description": "Theft 3"}],
            "filed_at": "2026-10-01",
        }
        assert (await service.post("/v1/cases", json=case, headers=office)).status_code == 201
        await charges.casemgmt(intake(survivor, charge["referral_id"]))
        closed = await charges.get(charge["referral_id"])
        assert (closed["status"], closed["participant_id"]) == ("closed_by_intake", survivor)
