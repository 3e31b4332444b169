"""Intake deadlines lapse at the site's local midnight, in the zone of its newest eligibility policy (falling back
to the site directory's), on real PostgreSQL and NATS with the clock in the test's hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import nats
from fastapi import FastAPI

from divert_contracts.referral import EligibilityPolicyAmended
from divert_devstack.testing import eventually, publish_as
from divert_kernel.clock import FixedClock

SANTA_FE = "santa-fe"  # America/Denver in the site directory


def policy(version: int, time_zone: str) -> EligibilityPolicyAmended:
    return EligibilityPolicyAmended(
        policy_version=version,
        divertible_offense_codes=["35A"],
        exclusions=[],
        intake_window_days=7,
        social_contact_referrers=[],
        victim_must_decline=False,
        amended_by="santa-fe-pm",
        amended_at=datetime(2026, 11, 1, tzinfo=UTC),
        time_zone=time_zone,
    )


async def held_in_santa_fe(service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, auth: dict[str, str]) -> str:
    """A charge held in Santa Fe with the deadline 2026-12-01 (the referral stream is consumed in order, so any
    policy published before it has been taken in once it shows)."""
    referral_id = str(uuid4())
    await publish_as(bus, "referral", offer(referral_id, str(uuid4())), jurisdiction=SANTA_FE)

    async def held() -> bool:
        return (await service.get(f"/v1/held-charges/{referral_id}", headers=auth)).status_code == 200

    await eventually(held)
    return referral_id


async def status_of(service: httpx.AsyncClient, referral_id: str, auth: dict[str, str]) -> Any:
    return (await service.get(f"/v1/held-charges/{referral_id}", headers=auth)).json()["status"]


class TestTheSitesMidnight:
    async def test_the_site_directorys_zone_until_a_policy_names_one(
        self,
        service: httpx.AsyncClient,
        app: FastAPI,
        bus: nats.NATS,
        offer: Callable,
        lapse: Callable,
        clock: FixedClock,
        tokens_for: Callable,
    ) -> None:
        da = tokens_for("prosecutor", agency="santa-fe-da", jurisdictions=[SANTA_FE])
        clock.at = datetime(2026, 11, 2, tzinfo=UTC)
        referral_id = await held_in_santa_fe(service, bus, offer, da)
        # Denver's midnight after the deadline day is 07:00 UTC on 12-02; UTC's came seven hours earlier.
        clock.at = datetime(2026, 12, 2, 6, 59, 59, tzinfo=UTC)
        await lapse(app)
        assert await status_of(service, referral_id, da) == "held"
        clock.advance(timedelta(seconds=1))
        await lapse(app)
        assert await status_of(service, referral_id, da) == "lapsed"

    async def test_the_newest_policys_zone_rules_and_an_unknown_or_older_one_changes_nothing(
        self,
        service: httpx.AsyncClient,
        app: FastAPI,
        bus: nats.NATS,
        offer: Callable,
        lapse: Callable,
        clock: FixedClock,
        tokens_for: Callable,
    ) -> None:
        da = tokens_for("prosecutor", agency="santa-fe-da", jurisdictions=[SANTA_FE])
        clock.at = datetime(2026, 11, 2, tzinfo=UTC)
        for version, zone in [(3, "America/New_York"), (2, "Pacific/Honolulu"), (4, "Mars/Olympus_Mons")]:
            await publish_as(bus, "referral", policy(version, zone), jurisdiction=SANTA_FE)
        referral_id = await held_in_santa_fe(service, bus, offer, da)
        # New York's midnight is 05:00 UTC: Denver (and Honolulu) are still on the deadline day.
        clock.at = datetime(2026, 12, 2, 4, 59, tzinfo=UTC)
        await lapse(app)
        assert await status_of(service, referral_id, da) == "held"
        clock.at = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
        await lapse(app)
        assert await status_of(service, referral_id, da) == "lapsed"
