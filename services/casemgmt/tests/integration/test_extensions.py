"""Issue 9, finding 10: an intake extension is bounded by the site, per extension and in all, and has a reason.

Seattle's settings here allow 20 days per extension and 45 in all past the original deadline, so a refusal at
21 days shows the site's bound is the one applied, not the 30-day default.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import nats
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from casemgmt.bootstrap import create
from casemgmt.config import CaseMgmtSettings
from divert_devstack import demo_site
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import (
    create_database,
    diversion_offered,
    eventually,
    publish_as,
    running,
    service_settings,
)
from divert_kernel.clock import FixedClock

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
DEADLINE = date(2026, 12, 20)
REASON = "Participant hospitalised; intake rescheduled with the shelter."
SEATTLE_EXTENSION_MAX_DAYS, SEATTLE_EXTENSIONS_TOTAL_MAX_DAYS = 20, 45


@pytest.fixture(scope="module")
def sites_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo sites, Seattle's extension bounds set apart from the defaults (30 and 90 days)."""
    directory = demo_site.sites()
    for site in directory["sites"]:
        if site["jurisdiction"] == demo_site.SEATTLE:
            site["intake_extension_max_days"] = SEATTLE_EXTENSION_MAX_DAYS
            site["intake_extensions_total_max_days"] = SEATTLE_EXTENSIONS_TOTAL_MAX_DAYS
    path = tmp_path_factory.mktemp("sites") / "sites.json"
    path.write_text(json.dumps(directory))
    return path


@pytest.fixture(scope="module")
async def database(postgres: PostgresServer) -> str:
    return await create_database(postgres, "casemgmt")


@pytest.fixture(scope="module")
async def service(
    database: str, module_nats: NatsServer, jwks_file: Path, sites_file: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = CaseMgmtSettings(
        **service_settings(database_url=database, nats_url=module_nats.url, jwks_file=jwks_file),
        sites_file=str(sites_file),
    )
    async with running(create(settings, FixedClock(NOW))) as client:
        yield client


@pytest.fixture(scope="module")
def pm(tokens_for: Callable[..., dict[str, str]]) -> dict[str, str]:
    return tokens_for("project_manager", agency="lead-project-manager")


@pytest.fixture(scope="module")
def holder(tokens_for: Callable[..., dict[str, str]]) -> dict[str, str]:
    return tokens_for("case_management", agency="lead-case-management")


async def referred(service: httpx.AsyncClient, bus: nats.NATS, holder: dict[str, str]) -> str:
    from divert_contracts.referral import WarmHandoffCompleted

    participant_id, referral_id = str(uuid4()), str(uuid4())
    await publish_as(
        bus, "referral", diversion_offered(referral_id, participant_id, intake_deadline=DEADLINE, offered_at=NOW)
    )
    handoff = WarmHandoffCompleted(
        referral_id=referral_id,
        participant_id=participant_id,
        case_manager_id="cm-ana",
        completed_at=NOW,
        case_management_agency="lead-case-management",
    )
    await publish_as(bus, "referral", handoff)

    async def opened() -> bool:
        return (await service.get(f"/v1/participants/{participant_id}/intake", headers=holder)).status_code == 200

    await eventually(opened)
    return participant_id


def extension(deadline: date | str, **overrides: Any) -> dict[str, Any]:
    body = {
        "intake_deadline": str(deadline),
        "law_enforcement_agency": "seattle-pd",
        "law_enforcement_agreed": True,
        "reason": REASON,
    }
    return {k: v for k, v in (body | overrides).items() if v is not None}


async def deadline_of(service: httpx.AsyncClient, participant_id: str, holder: dict[str, str]) -> str:
    return (await service.get(f"/v1/participants/{participant_id}/intake", headers=holder)).json()["intake_deadline"]


class TestExtensionsAreBounded:
    @pytest.mark.parametrize(
        "deadline",
        ["9999-12-31", DEADLINE + timedelta(days=SEATTLE_EXTENSION_MAX_DAYS + 1)],
        ids=["end-of-time", "one-day-past-the-bound"],
    )
    async def test_an_extension_past_the_sites_bound_is_refused_and_changes_nothing(
        self,
        service: httpx.AsyncClient,
        bus: nats.NATS,
        pm: dict[str, str],
        holder: dict[str, str],
        deadline: date | str,
    ) -> None:
        participant_id = await referred(service, bus, holder)
        path = f"/v1/participants/{participant_id}/intake-extension"
        refused = await service.post(path, json=extension(deadline), headers=pm)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["field"] == "intake_deadline"
        assert await deadline_of(service, participant_id, holder) == DEADLINE.isoformat()

    async def test_extensions_in_all_stop_at_the_total_from_the_original_deadline(
        self, service: httpx.AsyncClient, bus: nats.NATS, pm: dict[str, str], holder: dict[str, str]
    ) -> None:
        participant_id = await referred(service, bus, holder)
        path = f"/v1/participants/{participant_id}/intake-extension"
        first = DEADLINE + timedelta(days=SEATTLE_EXTENSION_MAX_DAYS)
        second = first + timedelta(days=SEATTLE_EXTENSION_MAX_DAYS)
        last = DEADLINE + timedelta(days=SEATTLE_EXTENSIONS_TOTAL_MAX_DAYS)
        for deadline in (first, second, last):
            granted = await service.post(path, json=extension(deadline), headers=pm)
            assert granted.status_code == 200, granted.text
            assert granted.json()["intake_deadline"] == deadline.isoformat()
        beyond = await service.post(path, json=extension(last + timedelta(days=1)), headers=pm)
        assert beyond.status_code == 422 and beyond.json()["field"] == "intake_deadline"
        assert await deadline_of(service, participant_id, holder) == last.isoformat()


class TestAnExtensionHasItsReason:
    @pytest.mark.parametrize("reason", [None, "", "x" * 501, "a\u0000b"], ids=["missing", "empty", "too-long", "nul"])
    async def test_an_extension_without_a_proper_reason_is_refused(
        self,
        service: httpx.AsyncClient,
        bus: nats.NATS,
        pm: dict[str, str],
        holder: dict[str, str],
        reason: str | None,
    ) -> None:
        participant_id = await referred(service, bus, holder)
        body = extension(DEADLINE + timedelta(days=5), reason=reason)  # None: no reason at all
        refused = await service.post(f"/v1/participants/{participant_id}/intake-extension", json=body, headers=pm)
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "reason"
        assert await deadline_of(service, participant_id, holder) == DEADLINE.isoformat()

    async def test_the_reason_is_kept_here_and_never_published(
        self,
        service: httpx.AsyncClient,
        bus: nats.NATS,
        pm: dict[str, str],
        holder: dict[str, str],
        database: str,
    ) -> None:
        participant_id = await referred(service, bus, holder)
        sub = await bus.jetstream().subscribe(
            "lead.seattle-king-county.casemgmt.IntakeDeadlineExtended", ordered_consumer=True
        )
        new = DEADLINE + timedelta(days=10)
        path = f"/v1/participants/{participant_id}/intake-extension"
        assert (await service.post(path, json=extension(new), headers=pm)).status_code == 200
        while True:
            envelope = json.loads((await sub.next_msg(timeout=10)).data)
            if envelope["data"]["participant_id"] == participant_id:
                break
        await sub.unsubscribe()
        assert envelope["data"]["intake_deadline"] == new.isoformat()
        assert "reason" not in envelope["data"] and REASON not in json.dumps(envelope)
        engine = create_async_engine(database)
        try:
            async with engine.connect() as conn:
                stored = await conn.execute(
                    sa.text(
                        "SELECT reason, from_deadline, to_deadline FROM intake_extensions "
                        "WHERE participant_id = CAST(:p AS uuid)"
                    ),
                    {"p": participant_id},
                )
                assert [tuple(r) for r in stored] == [(REASON, DEADLINE, new)]
        finally:
            await engine.dispose()
