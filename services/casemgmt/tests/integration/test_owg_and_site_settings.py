"""Issue 10, items 3, 5 and 7: the OWG's approval binds case management; social contacts have an intake target;
the site's settings come from its newest eligibility policy. Real PostgreSQL, NATS and consent service."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import nats
import pytest

from casemgmt.bootstrap import create
from casemgmt.config import CaseMgmtSettings
from divert_contracts.referral import (
    EligibilityPolicyAmended,
    SocialContactReferralApproved,
    SocialContactReferralDenied,
    SocialContactReferralReleased,
    SocialContactReferralSubmitted,
    WarmHandoffCompleted,
)
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

SEATTLE, SANTA_FE = "seattle-king-county", "santa-fe"
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
PROVIDER = "lead-case-management"
INTAKE = {
    "completed_at": "2026-11-23T10:00:00Z",
    "consent_to_participate": {"signed_at": "2026-11-23T09:30:00Z", "signed_document_sha256": "c" * 64},
}
SCREENING = {
    "screened_at": "2026-11-23T10:00:00Z",
    "location": "Day center",
    "screening_case_manager": "cm-ana",
    "contributing_factors": {"alcohol": False, "drugs": False, "mental_health": False},
    "gender": "female",
    "race": "black",
    "ethnicity": "not_hispanic_or_latino",
    "veteran": False,
    "homeless": True,
    "employed": False,
    "drug_court": False,
    "probation": False,
    "will_sign_roi": True,
}


@pytest.fixture(scope="module")
async def service(
    postgres: PostgresServer, module_nats: NatsServer, jwks_file: Path, consent_front: Any, sites_file: Path
) -> AsyncIterator[httpx.AsyncClient]:
    database = await create_database(postgres, "casemgmt")
    settings = CaseMgmtSettings(
        **service_settings(
            database_url=database, nats_url=module_nats.url, jwks_file=jwks_file, consent_url=consent_front.url
        ),
        sites_file=str(sites_file),
    )
    async with running(create(settings, FixedClock(NOW))) as client:
        yield client


@pytest.fixture(scope="module")
def as_provider(tokens_for: Callable[..., dict[str, str]]) -> Callable[[str], dict[str, str]]:
    return lambda jurisdiction: tokens_for("case_management", agency=PROVIDER, jurisdictions=[jurisdiction])


async def social_contact(bus: nats.NATS, jurisdiction: str = SEATTLE, case_manager: str = "cm-ana") -> tuple[str, str]:
    participant_id, referral_id = str(uuid4()), str(uuid4())
    submitted = SocialContactReferralSubmitted(
        referral_id=referral_id,
        participant_id=participant_id,
        referral_type="social_contact",
        referring_agency="seattle-pd",
        officer_badge="B-1",
        policy_version=1,
        submitted_at=NOW,
        race="white",
        ethnicity="not_hispanic_or_latino",
        gender="male",
        age_band="35-44",
    )
    await publish_as(bus, "referral", submitted, jurisdiction=jurisdiction)
    await handed_off(bus, participant_id, referral_id, case_manager, jurisdiction)
    return participant_id, referral_id


async def handed_off(bus: nats.NATS, participant_id: str, referral_id: str, cm: str, jurisdiction: str) -> None:
    handoff = WarmHandoffCompleted(
        referral_id=referral_id,
        participant_id=participant_id,
        case_manager_id=cm,
        completed_at=NOW,
        case_management_agency=PROVIDER,
    )
    await publish_as(bus, "referral", handoff, jurisdiction=jurisdiction)


async def standing(service: httpx.AsyncClient, participant_id: str, headers: dict[str, str], **want: Any) -> Any:
    async def there() -> dict[str, Any] | None:
        reply = await service.get(f"/v1/participants/{participant_id}", headers=headers)
        got = reply.json() if reply.status_code == 200 else {}
        return got if all(got.get(k) == v for k, v in want.items()) else None

    return await eventually(there)


async def attempts(service: httpx.AsyncClient, participant_id: str, headers: dict[str, str]) -> dict[str, Any]:
    path = f"/v1/participants/{participant_id}"
    return {
        "screening": await service.put(f"{path}/initial-screening", json=SCREENING, headers=headers),
        "assignment": await service.post(f"{path}/case-manager", json={"case_manager_id": "cm-ana"}, headers=headers),
        "intake": await service.post(f"{path}/intake", json=INTAKE, headers=headers),
    }


class TestOwgApprovalBindsCaseManagement:
    async def test_nothing_starts_until_the_owg_approves_and_a_waitlisted_approval_waits_for_release(
        self, service: httpx.AsyncClient, bus: nats.NATS, as_provider: Callable, roi_naming: Callable
    ) -> None:
        provider = as_provider(SEATTLE)
        participant_id, referral_id = await social_contact(bus)
        await roi_naming(participant_id, PROVIDER, provider)
        got = await standing(service, participant_id, provider, enrolment="referred")
        # Handed off before approval: held by the provider, but not assigned.
        assert (got["case_manager_id"], got["intake_deadline"], got["intake_target"]) == (None, None, "2026-12-23")
        for action, reply in (await attempts(service, participant_id, provider)).items():
            assert reply.status_code == 409 and reply.json()["rule"] == "owg_approval_required", (action, reply.text)
        approved = SocialContactReferralApproved(
            referral_id=referral_id, participant_id=participant_id, decided_by="pm", decided_at=NOW, waitlisted=True
        )
        await publish_as(bus, "referral", approved)
        barrier, _ = await social_contact(bus)  # the referral stream is consumed in order
        await standing(service, barrier, provider, enrolment="referred")
        screening = await service.put(
            f"/v1/participants/{participant_id}/initial-screening", json=SCREENING, headers=provider
        )
        assert screening.status_code == 409, screening.text
        released = SocialContactReferralReleased(
            referral_id=referral_id, participant_id=participant_id, released_at=NOW
        )
        await publish_as(bus, "referral", released)

        async def cleared() -> bool:
            path = f"/v1/participants/{participant_id}/initial-screening"
            return (await service.put(path, json=SCREENING, headers=provider)).status_code == 200

        await eventually(cleared)
        tried = await attempts(service, participant_id, provider)
        assert tried["assignment"].status_code == 200 and tried["intake"].status_code == 200, tried["intake"].text
        await standing(service, participant_id, provider, enrolment="enrolled", status="active")

    async def test_a_denial_is_not_enrolled_owg_denied_and_stays_refused(
        self, service: httpx.AsyncClient, bus: nats.NATS, as_provider: Callable, roi_naming: Callable
    ) -> None:
        provider = as_provider(SEATTLE)
        participant_id, referral_id = await social_contact(bus)
        await roi_naming(participant_id, PROVIDER, provider)
        denied = SocialContactReferralDenied(
            referral_id=referral_id,
            participant_id=participant_id,
            decided_by="pm",
            decided_at=NOW,
            referred_to="shelter",
        )
        await publish_as(bus, "referral", denied)
        await standing(service, participant_id, provider, enrolment="not_enrolled", not_enrolled_reason="owg_denied")
        for action, reply in (await attempts(service, participant_id, provider)).items():
            assert reply.status_code == 409, (action, reply.text)


def policy(version: int, **settings: Any) -> EligibilityPolicyAmended:
    return EligibilityPolicyAmended(
        policy_version=version,
        divertible_offense_codes=["35A"],
        exclusions=[],
        intake_window_days=7,
        social_contact_referrers=["police"],
        victim_must_decline=False,
        amended_by="pm",
        amended_at=NOW,
        **settings,
    )


class TestSiteSettingsFromTheEligibilityPolicy:
    async def test_the_newest_policys_caps_bounds_capacity_and_target_apply(
        self, service: httpx.AsyncClient, bus: nats.NATS, as_provider: Callable, tokens_for: Callable
    ) -> None:
        provider = as_provider(SANTA_FE)
        sub = await bus.jetstream().subscribe(f"lead.{SANTA_FE}.casemgmt.ProgramCapacityChanged", ordered_consumer=True)
        newest = policy(
            5,
            caseload_cap=1,
            caseload_preferred=1,
            program_capacity=7,
            intake_extension_max_days=5,
            intake_extensions_total_max_days=10,
            social_contact_intake_target_days=14,
            time_zone="America/Denver",
        )
        await publish_as(bus, "referral", newest, jurisdiction=SANTA_FE)
        await publish_as(bus, "referral", policy(4, caseload_cap=25), jurisdiction=SANTA_FE)  # older, arrives later
        while json.loads((await sub.next_msg(timeout=10)).data)["data"]["capacity"] != 7:
            pass
        await sub.unsubscribe()
        first, second = str(uuid4()), str(uuid4())
        for participant_id in (first, second):
            referral_id = str(uuid4())
            offer = diversion_offered(referral_id, participant_id, intake_deadline=date(2026, 11, 30), offered_at=NOW)
            await publish_as(bus, "referral", offer, jurisdiction=SANTA_FE)
            await handed_off(bus, participant_id, referral_id, "cm-sf", SANTA_FE)
            await standing(service, participant_id, provider, enrolment="referred")
        # The second hand-off found cm-sf at the policy's cap of one: left unassigned, and assignment is refused.
        assert (await standing(service, second, provider))["case_manager_id"] is None
        full = await service.post(
            f"/v1/participants/{second}/case-manager", json={"case_manager_id": "cm-sf"}, headers=provider
        )
        assert full.status_code == 409 and full.json()["field"] == "case_manager_id", full.text
        pm = tokens_for("project_manager", agency="sf-project-manager", jurisdictions=[SANTA_FE])
        body = {"law_enforcement_agency": "sfpd", "law_enforcement_agreed": True, "reason": "Hospitalised."}
        path = f"/v1/participants/{first}/intake-extension"
        too_far = await service.post(path, json=body | {"intake_deadline": "2026-12-06"}, headers=pm)
        assert too_far.status_code == 422 and too_far.json()["field"] == "intake_deadline", too_far.text
        assert (await service.post(path, json=body | {"intake_deadline": "2026-12-05"}, headers=pm)).status_code == 200
        contact, _ = await social_contact(bus, SANTA_FE)
        # 12:00 UTC is 05:00 in Santa Fe: 14 days after the local date of referral.
        assert (await standing(service, contact, provider, enrolment="referred"))["intake_target"] == "2026-12-07"
