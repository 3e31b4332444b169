"""Issue 10, item 6: the OWG agenda covers what the toolkit's agenda covers, each section fed by the events that
feed it, every row decided per viewer; the printable agenda reads like a meeting agenda.

The referral service and the real consent service run with an injected clock; other services' events are
published onto the bus exactly as those services publish them.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import nats
import pytest

from divert_contracts import superseded
from divert_contracts.casemgmt import ContactLogged, EnrolmentChanged, IntakeDeadlineExtended, InterventionPlanUpdated
from divert_contracts.prosecution import (
    ChargeHeld,
    DivertedChargeClosed,
    HeldChargeDeadlineMoved,
    HeldChargeFiled,
    HeldChargeNotFiled,
    IntakeDeadlineLapsed,
    LegacyCaseRegistered,
    LegacyCaseReviewed,
)
from divert_contracts.referral import EligibilityPolicyAmended
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database, eventually, publish_as, running, service_settings
from divert_kernel.clock import FixedClock
from referral.bootstrap import create
from referral.config import ReferralSettings
from services.referral.tests.integration.conftest import referrals_reach_consent

NOW = datetime(2026, 11, 23, 20, tzinfo=UTC)  # Monday 23 November, noon in Seattle
SEA, SANTA_FE = "seattle-king-county", "santa-fe"
HANDOFF = {"case_manager_id": "cm-7", "location": "Day center", "at": "2026-11-23T19:00:00Z"}
PROVIDER = "lead-case-management"


@pytest.fixture(scope="module")
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(scope="module")
async def service(
    consent_database: str,
    postgres: PostgresServer,
    module_nats: NatsServer,
    jwks_file: Path,
    consent_url: str,
    sites_file: Path,
    clock: FixedClock,
) -> AsyncIterator[httpx.AsyncClient]:
    url = await create_database(postgres, "referral")
    settings = ReferralSettings(
        **service_settings(database_url=url, nats_url=module_nats.url, jwks_file=jwks_file, consent_url=consent_url),
        sites_file=str(sites_file),
    )
    async with running(create(settings, clock)) as client:
        client.event_hooks["response"].append(referrals_reach_consent(consent_database))
        yield client


@pytest.fixture(scope="module")
async def emit(module_nats: NatsServer) -> AsyncIterator[Callable[..., Any]]:
    """Publish another service's event as that service would."""
    nc = await nats.connect(module_nats.url)

    async def send(service: str, event: Any, jurisdiction: str = SEA) -> None:
        await publish_as(nc, service, event, jurisdiction=jurisdiction)

    yield send
    await nc.close()


@pytest.fixture(scope="module")
def agency(tokens_for: Callable) -> Callable[..., dict[str, str]]:
    def make(agency_id: str, agency_type: str, jurisdiction: str = SEA) -> dict[str, str]:
        return tokens_for(agency_type, agency=agency_id, jurisdictions=[jurisdiction])  # type: ignore[no-any-return]

    return make


def body(last_name: str, referral_type: str = "arrest_diversion", jurisdiction: str = SEA) -> dict[str, Any]:
    return {
        "jurisdiction": jurisdiction,
        "referral_type": referral_type,
        "person": {
            "first_name": "Sam",
            "last_name": last_name,
            "date_of_birth": "1979-06-30",
            "race": "white",
            "ethnicity": "not_hispanic_or_latino",
            "gender": "male",
            "rms_person_id": f"RMS-{uuid4().hex[:10]}",
        },
        "incident": {
            "rms_incident_number": "I-10",
            "offense_codes": ["35A"],
            "occurred_at": "2026-10-01T01:00:00Z",
            "location": "Third Ave",
        },
        "officer": {"badge_number": "B-10", "name": "Officer Ten"},
    }


async def refer(service: httpx.AsyncClient, auth: dict[str, str], last_name: str, **kw: Any) -> dict[str, Any]:
    created = await service.post("/v1/referrals", json=body(last_name, **kw), headers=auth)
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


async def handed_off(service: httpx.AsyncClient, police: dict[str, str], last_name: str) -> dict[str, Any]:
    created = await refer(service, police, last_name)
    path = f"/v1/referrals/{created['referral_id']}"
    assert (await service.post(f"{path}/acceptance", headers=police)).status_code == 200
    handoff = HANDOFF | {"case_management_agency": PROVIDER}
    assert (await service.post(f"{path}/handoff", json=handoff, headers=police)).status_code == 200
    return created


async def agenda(service: httpx.AsyncClient, auth: dict[str, str], **params: Any) -> dict[str, Any]:
    reply = await service.get("/v1/owg/agenda", params={"jurisdiction": SEA, **params}, headers=auth)
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def rows_of(view: dict[str, Any], section: str, participant_id: str) -> list[dict[str, Any]]:
    return [r for r in view[section] if r["participant_id"] == participant_id]


def everywhere(view: dict[str, Any], participant_id: str) -> list[dict[str, Any]]:
    return [r for section in view["counts"] for r in rows_of(view, section, participant_id)]


async def until_listed(
    service: httpx.AsyncClient, auth: dict[str, str], section: str, participant_id: str, present: bool = True, **kw: Any
) -> dict[str, Any]:
    """The agenda once the consumed events show (or no longer show) the participant in `section`."""

    async def probe() -> dict[str, Any] | None:
        view = await agenda(service, auth, **kw)
        return view if bool(rows_of(view, section, participant_id)) == present else None

    return await eventually(probe)  # type: ignore[no-any-return]


class TestTheLapsedWindowStaysUntilSomeoneDecides:
    """Toolkit SP IX.4: the OWG decides the next step for someone whose window lapsed without intake."""

    async def test_the_day_after_a_lapse_the_agenda_lists_the_person_until_the_prosecutor_decides_or_the_owg_extends(
        self, service: httpx.AsyncClient, emit: Callable, agency: Callable, clock: FixedClock
    ) -> None:
        clock.at = NOW
        police, pm = agency("seattle-pd", "police"), agency("lead-project-manager", "project_manager")
        prosecutor = agency("kc-prosecutor", "prosecutor")
        deadline = date(2026, 11, 30)
        lapsed_at = datetime(2026, 12, 1, 8, 5, tzinfo=UTC)  # a minute past midnight in Seattle
        people = {}
        for name in ("Filed", "Not-Filed", "Moved", "Extended", "Late-Intake"):
            created = await refer(service, police, f"Lapse-{name}")
            rid, pid = created["referral_id"], created["participant_id"]
            people[name] = (rid, pid)
            await emit(
                "prosecution",
                ChargeHeld(
                    referral_id=rid,
                    participant_id=pid,
                    offense_codes=["35A"],
                    intake_deadline=deadline,
                    held_at=NOW,
                    prosecutor_agency="kc-prosecutor",
                ),
            )
            await emit(
                "prosecution",
                IntakeDeadlineLapsed(
                    referral_id=rid, participant_id=pid, intake_deadline=deadline, lapsed_at=lapsed_at
                ),
            )

        clock.at = datetime(2026, 12, 2, 17, tzinfo=UTC)  # the next day, in Seattle
        for _, pid in people.values():
            view = await until_listed(service, pm, "lapsed", pid)
            [row] = rows_of(view, "lapsed", pid)
            assert row["lapsed_deadline"] == "2026-11-30" and row["last_name"].startswith("Lapse-")
            assert view["meeting_date"] == "2026-12-02"
            # The office holding the charge sees its own lapse without any consent to read the referral.
            await until_listed(service, prosecutor, "lapsed", pid)

        later = datetime(2026, 12, 2, 18, tzinfo=UTC)
        decided = {
            "Filed": ("prosecution", HeldChargeFiled, {"meets_filing_standards": True, "filed_at": later}),
            "Not-Filed": ("prosecution", HeldChargeNotFiled, {"decided_at": later}),
            "Moved": (
                "prosecution",
                HeldChargeDeadlineMoved,
                {"intake_deadline": date(2026, 12, 20), "moved_at": later},
            ),
            "Late-Intake": ("prosecution", DivertedChargeClosed, {"reason": "intake_completed", "closed_at": later}),
        }
        for name, (source, kind, fields) in decided.items():
            rid, pid = people[name]
            await emit(source, kind(referral_id=rid, participant_id=pid, **fields))
        rid, pid = people["Extended"]
        await emit(
            "casemgmt",
            IntakeDeadlineExtended(
                participant_id=pid,
                referral_ids=[rid],
                intake_deadline=date(2026, 12, 20),
                granted_by="owg-2026-12-02",
                law_enforcement_agency="seattle-pd",
                extended_at=later,
            ),
        )
        for _, pid in people.values():
            view = await until_listed(service, pm, "lapsed", pid, present=False)
            assert view["counts"]["lapsed"] == len(view["lapsed"])
        # The extension is on the next meeting's agenda as granted since the last one.
        rid, pid = people["Extended"]
        view = await until_listed(service, pm, "extensions", pid, date="2026-12-03")
        [row] = rows_of(view, "extensions", pid)
        assert row["extended_to"] == "2026-12-20" and row["law_enforcement_agency"] == "seattle-pd"

    async def test_a_decision_recorded_before_a_later_lapse_does_not_end_it(
        self, service: httpx.AsyncClient, emit: Callable, agency: Callable, clock: FixedClock
    ) -> None:
        clock.at = NOW
        pm = agency("lead-project-manager", "project_manager")
        created = await refer(service, agency("seattle-pd", "police"), "Lapse-Twice")
        rid, pid = created["referral_id"], created["participant_id"]
        first = datetime(2026, 12, 1, 9, tzinfo=UTC)
        await emit(
            "prosecution",
            HeldChargeDeadlineMoved(
                referral_id=rid, participant_id=pid, intake_deadline=date(2026, 12, 10), moved_at=first
            ),
        )
        await emit(
            "prosecution",
            IntakeDeadlineLapsed(
                referral_id=rid,
                participant_id=pid,
                intake_deadline=date(2026, 12, 10),
                lapsed_at=first + timedelta(days=10),
            ),
        )
        clock.at = first + timedelta(days=11)
        view = await until_listed(service, pm, "lapsed", pid)
        assert rows_of(view, "lapsed", pid)[0]["lapsed_deadline"] == "2026-12-10"


class TestEachSectionIsFedByItsEvents:
    async def test_new_referrals_since_the_last_meeting_by_default_fourteen_days_and_since_overrides(
        self, service: httpx.AsyncClient, agency: Callable, clock: FixedClock
    ) -> None:
        police = agency("seattle-pd", "police")
        clock.at = NOW - timedelta(days=20)
        old = await refer(service, police, "Three-Weeks-Ago")
        clock.at = NOW - timedelta(days=2)
        arrest = await refer(service, police, "Arrested")
        social = await refer(service, police, "Social", referral_type="social_contact")
        clock.at = NOW
        view = await agenda(service, police)
        assert view["since"] == "2026-11-09" and view["lookback_days"] == 14
        new = {r["participant_id"]: r["referral_type"] for r in view["new_referrals"]}
        assert new[arrest["participant_id"]] == "arrest_diversion"
        assert new[social["participant_id"]] == "social_contact"
        assert old["participant_id"] not in new
        wider = await agenda(service, police, since="2026-11-01")
        assert rows_of(wider, "new_referrals", old["participant_id"])
        refused = await service.get(
            "/v1/owg/agenda", params={"jurisdiction": SEA, "date": "2026-11-23", "since": "2026-11-24"}, headers=police
        )
        assert refused.status_code == 422 and refused.json()["field"] == "since"
        bad = await service.get("/v1/owg/agenda", params={"jurisdiction": SEA, "since": "soon"}, headers=police)
        assert bad.status_code == 422 and bad.json()["field"] == "since"

    async def test_the_sites_look_back_arrives_with_the_policy_amendment(
        self, service: httpx.AsyncClient, emit: Callable, agency: Callable, clock: FixedClock
    ) -> None:
        clock.at = NOW
        police = agency("santa-fe-pd", "police", SANTA_FE)
        amended = EligibilityPolicyAmended(
            policy_version=2,
            divertible_offense_codes=["35A"],
            exclusions=[],
            intake_window_days=7,
            social_contact_referrers=["police"],
            victim_must_decline=False,
            amended_by="pcg",
            amended_at=NOW,
            time_zone="America/Denver",
            owg_lookback_days=28,
        )
        await emit("referral", amended, SANTA_FE)

        async def four_weeks() -> dict[str, Any] | None:
            reply = await service.get("/v1/owg/agenda", params={"jurisdiction": SANTA_FE}, headers=police)
            return reply.json() if reply.json().get("lookback_days") == 28 else None

        view = await eventually(four_weeks)
        assert view["since"] == "2026-10-26" and view["meeting_date"] == "2026-11-23"

    async def test_pending_approvals_with_their_reason_then_the_decision(
        self, service: httpx.AsyncClient, agency: Callable, clock: FixedClock
    ) -> None:
        clock.at = NOW
        police, pm = agency("seattle-pd", "police"), agency("lead-project-manager", "project_manager")
        social = await refer(service, police, "Pending", referral_type="social_contact")
        [row] = rows_of(await agenda(service, pm), "referral_review", social["participant_id"])
        assert row["status"] == "submitted" and row["pending_reason"] == "needs_vetting"
        decision = {
            "decision": "denied",
            "decided_by": "sgt-12",
            "reason": "Lives outside the area.",
            "referred_to": "shelter",
        }
        path = f"/v1/referrals/{social['referral_id']}/owg-decision"
        assert (await service.post(path, json=decision, headers=pm)).status_code == 200
        [row] = rows_of(await agenda(service, pm), "referral_review", social["participant_id"])
        assert row["status"] == "denied" and row["owg_reason"] == "Lives outside the area."
        assert row["owg_decided_by"] == "sgt-12" and row.get("pending_reason") is None

    async def test_intake_status_follows_case_managements_enrolment(
        self, service: httpx.AsyncClient, emit: Callable, agency: Callable, clock: FixedClock
    ) -> None:
        clock.at = NOW
        provider = agency(PROVIDER, "case_management")
        created = await handed_off(service, agency("seattle-pd", "police"), "Intake-Status")
        pid = created["participant_id"]
        await emit("casemgmt", EnrolmentChanged(participant_id=pid, enrolment="referred", changed_at=NOW))

        async def standing(expected: str) -> dict[str, Any] | None:
            rows = rows_of(await agenda(service, provider), "intake_status", pid)
            return rows[0] if rows and rows[0].get("enrolment") == expected else None

        row = await eventually(lambda: standing("referred"))
        assert row["intake_completed"] is False and row["handoff_agency"] == PROVIDER
        await emit("casemgmt", EnrolmentChanged(participant_id=pid, enrolment="enrolled", changed_at=NOW))
        await eventually(lambda: standing("enrolled"))  # enrolled since the last meeting: still reported
        await emit(
            "casemgmt", EnrolmentChanged(participant_id=pid, enrolment="referred", changed_at=NOW - timedelta(hours=1))
        )
        await eventually(lambda: standing("enrolled"))  # an older change arriving late changes nothing

    async def test_cases_awaiting_review_then_monitoring_reviews_due_for_follow_up(
        self, service: httpx.AsyncClient, emit: Callable, agency: Callable, clock: FixedClock
    ) -> None:
        clock.at = NOW
        prosecutor = agency("kc-prosecutor", "prosecutor")
        created = await refer(service, agency("seattle-pd", "police"), "Legacy")
        pid = created["participant_id"]
        due, later = str(uuid4()), str(uuid4())
        for case_id, kind in ((due, "legacy"), (later, "post_diversion")):
            # Published as version 1, as the prosecution service recorded it before version 2 (`offense_codes`):
            # the consumer reads it upcast.
            await emit(
                "prosecution",
                superseded.LegacyCaseRegistered(
                    case_id=case_id,
                    participant_id=pid,
                    kind=kind,
                    docket_number=f"26-{case_id[:4]}",
                    court="Municipal",
                    charge_codes=["90J"],
                    filed_at=date(2026, 10, 1),
                    registered_at=NOW,
                    agency="kc-prosecutor",
                ),
            )
        view = await eventually(lambda: _with(service, prosecutor, "cases_awaiting_review", pid, 2))
        assert {r["case_kind"] for r in rows_of(view, "cases_awaiting_review", pid)} == {"legacy", "post_diversion"}
        assert [r["charge_codes"] for r in rows_of(view, "cases_awaiting_review", pid)] == [["90J"], ["90J"]]
        for case_id, follow_up in ((due, date(2026, 11, 23)), (later, date(2026, 12, 7))):
            await emit(
                "prosecution",
                LegacyCaseReviewed(
                    case_id=case_id,
                    participant_id=pid,
                    decision="continue_to_monitor",
                    reviewed_at=NOW,
                    follow_up_on=follow_up,
                ),
            )
        view = await eventually(lambda: _with(service, prosecutor, "cases_awaiting_review", pid, 0))
        [row] = rows_of(view, "follow_ups_due", pid)
        assert row["case_id"] == due and row["follow_up_on"] == "2026-11-23"
        view = await agenda(service, prosecutor, date="2026-12-07")
        assert {r["case_id"] for r in rows_of(view, "follow_ups_due", pid)} == {due, later}

    async def test_case_plan_summaries_with_contacts_since_the_last_meeting(
        self, service: httpx.AsyncClient, emit: Callable, agency: Callable, clock: FixedClock
    ) -> None:
        clock.at = NOW
        provider = agency(PROVIDER, "case_management")
        pid = (await handed_off(service, agency("seattle-pd", "police"), "Plan"))["participant_id"]
        await emit(
            "casemgmt", InterventionPlanUpdated(participant_id=pid, plan_version=1, goal_count=1, updated_at=NOW)
        )
        await emit(
            "casemgmt", InterventionPlanUpdated(participant_id=pid, plan_version=2, goal_count=3, updated_at=NOW)
        )
        for day in (date(2026, 11, 1), date(2026, 11, 12), date(2026, 11, 20)):
            await emit(
                "casemgmt", ContactLogged(participant_id=pid, contact_id=str(uuid4()), kind="street", occurred_on=day)
            )

        async def summary() -> dict[str, Any] | None:
            rows = rows_of(await agenda(service, provider), "case_plans", pid)
            # The provider's name permit follows the hand-off's event at consent: eventually, like the counts.
            ready = rows and rows[0].get("contacts_since") == 2 and rows[0]["plan_version"] == 2
            return rows[0] if ready and "last_name" in rows[0] else None

        row = await eventually(summary)
        assert row["goal_count"] == 3 and row["last_name"] == "Plan"


async def _with(service: httpx.AsyncClient, auth: dict[str, str], section: str, pid: str, n: int) -> dict | None:
    view = await agenda(service, auth)
    return view if len(rows_of(view, section, pid)) == n else None


class TestEachRowIsDecidedPerViewer:
    async def test_the_project_manager_by_the_mou_police_its_own_a_second_provider_nothing(
        self, service: httpx.AsyncClient, emit: Callable, agency: Callable, clock: FixedClock
    ) -> None:
        clock.at = NOW
        police, sheriff = agency("seattle-pd", "police"), agency("kc-sheriff", "police")
        pm, other = agency("lead-project-manager", "project_manager"), agency("evergreen-cm", "case_management")
        mine = await handed_off(service, police, "Gated")
        theirs = await refer(service, sheriff, "Sheriffs")
        pid = mine["participant_id"]
        await emit("casemgmt", EnrolmentChanged(participant_id=pid, enrolment="enrolled", changed_at=NOW))
        await emit(
            "casemgmt", InterventionPlanUpdated(participant_id=pid, plan_version=1, goal_count=2, updated_at=NOW)
        )
        await emit(
            "prosecution",
            LegacyCaseRegistered(
                case_id=str(uuid4()),
                participant_id=pid,
                kind="legacy",
                docket_number="26-G",
                court="District",
                offense_codes=["35A"],
                filed_at=date(2026, 9, 1),
                registered_at=NOW,
                agency="kc-prosecutor",
            ),
        )
        await eventually(lambda: _with(service, agency(PROVIDER, "case_management"), "case_plans", pid, 1))
        await eventually(lambda: _with(service, agency("kc-prosecutor", "prosecutor"), "cases_awaiting_review", pid, 1))

        # The project manager, by the site's MOU: identity and referral, never the plan, the case or enrolment.
        view = await eventually(lambda: _with(service, pm, "intake_status", pid, 1))
        [row] = rows_of(view, "new_referrals", pid)
        assert row["last_name"] == "Gated" and "officer_name" not in row
        assert "enrolment" not in rows_of(view, "intake_status", pid)[0]
        assert not rows_of(view, "case_plans", pid) and not rows_of(view, "cases_awaiting_review", pid)
        assert view["columns"]["plan_version"] == "plan" and view["columns"]["contacts_since"] == "contacts"
        assert view["columns"]["enrolment"] == "assessment" and view["columns"]["lapsed_at"] == "referral"
        assert view["columns"]["docket_number"] == "legal_case"

        # Police: its own referral in full, the sheriff's not at all.
        view = await agenda(service, police)
        assert rows_of(view, "new_referrals", pid)[0]["officer_name"] == "Officer Ten"
        assert not everywhere(view, theirs["participant_id"])
        assert not rows_of(view, "case_plans", pid)

        # A second provider has no decision for anyone the first provider holds: absent, and not counted.
        view = await agenda(service, other)
        assert not everywhere(view, pid) and not everywhere(view, theirs["participant_id"])
        assert all(view["counts"][s] == len(view[s]) for s in view["counts"])
        roster = await service.get("/v1/owg/roster", params={"jurisdiction": SEA}, headers=other)
        assert pid not in roster.text and "Gated" not in roster.text


class TestThePrintableAgenda:
    async def test_reads_like_an_agenda_with_no_python_values_and_names_escaped(
        self, service: httpx.AsyncClient, emit: Callable, agency: Callable, clock: FixedClock
    ) -> None:
        clock.at = NOW - timedelta(days=1)
        police, pm = agency("seattle-pd", "police"), agency("lead-project-manager", "project_manager")
        created = await refer(service, police, "<b>O'Hara & Sons</b>")
        await refer(service, police, "Print-Social", referral_type="social_contact")
        await emit(
            "prosecution",
            IntakeDeadlineLapsed(
                referral_id=created["referral_id"],
                participant_id=created["participant_id"],
                intake_deadline=date(2026, 11, 21),
                lapsed_at=NOW,
            ),
        )
        clock.at = NOW
        await until_listed(service, pm, "lapsed", created["participant_id"])
        for viewer in (pm, police):
            page = await service.get(
                "/v1/owg/agenda", params={"jurisdiction": SEA}, headers=viewer | {"accept": "text/html"}
            )
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            text = page.text
            assert "&lt;b&gt;O&#39;Hara &amp; Sons&lt;/b&gt;" in text and "<b>O'Hara" not in text
            assert not re.search(r"None|True|False|\[|\]", text), re.search(r".{40}(None|True|False|\[|\]).{40}", text)
            assert "Agenda dated Monday 23 November 2026" in text and "@media print" in text
            assert "Intake windows lapsed without intake" in text and "Sat 21 Nov 2026" in text
            assert "Arrest diversion" in text and "arrest_diversion" not in text
            assert "Pending (needs vetting)" in text and "Needs vetting" in text
        roster = await service.get("/v1/owg/roster", params={"jurisdiction": SEA}, headers=pm | {"accept": "text/html"})
        assert roster.status_code == 200 and "&lt;b&gt;O&#39;Hara" in roster.text
        assert not re.search(r"None|True|False|\[|\]", roster.text)
