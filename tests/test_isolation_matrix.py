"""The isolation matrix: every read path x every demo agency of both jurisdictions x consent states, through
the gateway. Each cell's expected answer comes from the oracle in tests/isolation.py; a withheld record must
read exactly like an unknown one. Zero unexpected reads, and every expected read served.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import uuid4

import pytest

from tests.conftest import System
from tests.isolation import AGGREGATE_READS, Endpoint, Reader, Subject, build, readers, webhook_endpoints
from tests.partner import Partner

SEATTLE, SANTA_FE = "seattle-king-county", "santa-fe"


@dataclass(frozen=True)
class One:
    """A read of one record: served (200) or refused exactly like an unknown id."""

    name: str
    template: str
    owner_role: str
    category: str | None  # None: the owner only (and `also`), never through a decision
    also: tuple[str, ...] = ()  # agency types with an oversight read (auditors)

    def path(self, subject: Subject | None, jurisdiction: str = SEATTLE) -> str:
        if subject is None:
            unknown = str(uuid4())
            return self.template.format(
                rid=unknown, pid=unknown, case=unknown, j=jurisdiction, rms=f"RMS-{unknown[:8]}"
            )
        return self.template.format(
            rid=subject.referral_id,
            pid=subject.participant_id,
            case=subject.case_id,
            j=subject.jurisdiction,
            rms=f"P-ISO-{subject.label}",
        )


@dataclass(frozen=True)
class Listing:
    """A list, export, agenda or roster: the participant's row is present or absent (and not counted)."""

    name: str
    template: str
    owner_role: str
    category: str


SINGLE = [
    One("referral", "/v1/referrals/{rid}", "referrer", "referral"),
    One("participant", "/v1/participants/{pid}", "holder", "referral"),
    # The officer's field lookup searches the caller's own RMS ids; every answer needs identity and referral.
    One("field lookup", "/v1/people/lookup?jurisdiction={j}&rms_person_id={rms}", "referrer", "identity"),
    One("intake", "/v1/participants/{pid}/intake", "holder", "assessment"),
    One("plan", "/v1/participants/{pid}/plan", "holder", "plan"),
    One("contacts", "/v1/participants/{pid}/contacts", "holder", "contacts"),
    One("court dates", "/v1/participants/{pid}/court-dates", "prosecutor", "court_dates"),
    One("held charge", "/v1/held-charges/{rid}", "prosecutor", None),
    One("case", "/v1/cases/{case}", "prosecutor", None),
    One("consents", "/v1/consents?participant_id={pid}&jurisdiction={j}", "holder", "referral", ("auditor",)),
    One("disclosures", "/v1/participants/{pid}/disclosures", "holder", None, ("auditor",)),
]
LISTS = [
    Listing("participant list", "/v1/participants?jurisdiction={j}&limit=200", "holder", "assessment"),
    Listing("export", "/v1/participants/export?jurisdiction={j}", "holder", "assessment"),
    Listing("agenda", "/v1/owg/agenda?jurisdiction={j}&date={tomorrow}", "referrer", "referral"),
    Listing("roster", "/v1/owg/roster?jurisdiction={j}", "referrer", "referral"),
    Listing("caseload", "/v1/case-managers/cm-iso/participants?jurisdiction={j}", "holder", "referral"),
    *(Listing(name, template, "referrer", "referral") for name, template in AGGREGATE_READS.items()),
]
# Who may call a path at all is a role check that reads the same for every record; those cells expect refusal.
ROLE_LIMITED = {
    "court dates": {"prosecutor", "case_management", "defender"},
    "held charge": {"prosecutor"},
    "case": {"prosecutor"},
    "agenda": {"project_manager", "police", "prosecutor", "case_management"},
    "roster": {"project_manager", "police", "prosecutor", "case_management"},
    "field lookup": {"police"},
    "caseload": {"case_management"},
    # Aggregates: no reader ever finds a participant in them.
    **{name: set() for name in AGGREGATE_READS},
}


def expected(read: One | Listing, reader: Reader, subject: Subject) -> bool:
    if reader.agency_type not in ROLE_LIMITED.get(read.name, {reader.agency_type}):
        return False
    if reader.jurisdiction != subject.jurisdiction:
        return False
    if read.name == "field lookup":
        mine = reader.agency == subject.referrer and reader.jurisdiction == subject.jurisdiction
        return mine and subject.permits(reader, "identity") and subject.permits(reader, "referral")
    if read.name == "caseload":
        return reader.agency == subject.holder and reader.jurisdiction == subject.jurisdiction
    if read.name == "consents" and subject.holder is None:
        return False  # no provider holds the person, so no consent can exist: unknown to everyone
    if reader.agency == subject.owner(read.owner_role):
        return True
    if reader.agency_type in getattr(read, "also", ()):
        return True
    if read.name == "consents" and reader.agency not in subject.named:
        return False  # a recipient sees the consents naming it (revoked ones too); a permit alone shows none
    return read.category is not None and subject.permits(reader, read.category)


@pytest.fixture(scope="module")
def subjects(system: System) -> list[Subject]:
    def seattle(label: str, referrer: str = "seattle-pd", holder: str = "lead-case-management") -> Subject:
        return Subject(label, SEATTLE, referrer, holder, "kc-prosecutor", "lead-project-manager")

    santa_fe = Subject("santa-fe", SANTA_FE, "santa-fe-pd", "santa-fe-cm", "santa-fe-da", "santa-fe-pm")
    built = [
        build(system, seattle("offered-only"), hand_off=False, roi=False, revoke=False),
        build(system, seattle("no-roi"), hand_off=True, roi=False, revoke=False),
        build(system, seattle("roi"), hand_off=True, roi=True, revoke=False),
        build(system, seattle("revoked"), hand_off=True, roi=True, revoke=True),
        build(system, seattle("other-provider", "kc-sheriff", "evergreen-cm"), hand_off=True, roi=False, revoke=False),
        build(system, santa_fe, hand_off=True, roi=True, revoke=False),
    ]
    # The project managers prepare the OWG: the MOU's reads put each person in their accounting of disclosures.
    for manager, jurisdiction in (("lead-project-manager", SEATTLE), ("santa-fe-pm", SANTA_FE)):
        assert system.agency(manager).get("/v1/owg/roster", params={"jurisdiction": jurisdiction}).status_code == 200
    return built


@pytest.fixture(scope="module")
def endpoints(system: System) -> list[Endpoint]:
    return webhook_endpoints(system)


ENDPOINT_READS = ("/v1/webhook-endpoints/{id}", "/v1/webhook-endpoints/{id}/deliveries")


def _endpoint_cells(system: System, endpoints: list[Endpoint]) -> Iterator[tuple[str, bool, bool, str]]:
    """Each endpoint read and listed by every agency: served to its owner only; otherwise as unknown as a made-up
    id, and absent from the list."""
    for reader in readers(system):
        partner = system.agency(reader.agency)
        listed = partner.get("/v1/webhook-endpoints")
        listed_ids = {e["endpoint_id"] for e in listed.json()} if listed.status_code == 200 else set()
        for template in ENDPOINT_READS:
            unknown = _refusal(partner.get(template.format(id=uuid4())))
            for endpoint in endpoints:
                reply = partner.get(template.format(id=endpoint.endpoint_id))
                served = reply.status_code == 200
                note = "" if served or _refusal(reply) == unknown else f"refusal differs: {_refusal(reply)}"
                cell = f"{template} | {reader.agency}@{reader.jurisdiction} | endpoint of {endpoint.owner}"
                yield cell, reader.agency == endpoint.owner, served, note
        for endpoint in endpoints:
            cell = (
                f"/v1/webhook-endpoints (list) | {reader.agency}@{reader.jurisdiction} | endpoint of {endpoint.owner}"
            )
            yield cell, reader.agency == endpoint.owner, endpoint.endpoint_id in listed_ids, ""


def _refusal(reply) -> tuple[int, str | None]:  # type: ignore[no-untyped-def]
    body = reply.json() if reply.headers.get("content-type", "").endswith("json") else {}
    return reply.status_code, body.get("detail")


def _cells(system: System, subjects: list[Subject]) -> Iterator[tuple[str, bool, bool, str]]:
    """(cell, expected served, served, note) for every path x reader x subject."""
    for reader in readers(system):
        partner = system.agency(reader.agency)
        for read in SINGLE:
            # An unknown id asked the same way (the same jurisdiction named, where a path names one).
            unknown_in = {j: _refusal(partner.get(read.path(None, j))) for j in (SEATTLE, SANTA_FE)}
            for subject in subjects:
                unknown = unknown_in[subject.jurisdiction]
                reply = partner.get(read.path(subject))
                served = reply.status_code == 200
                note = (
                    "" if served or _refusal(reply) == unknown else f"refusal differs from unknown: {_refusal(reply)}"
                )
                yield (
                    f"{read.name} | {reader.agency}@{reader.jurisdiction} | {subject.label}",
                    expected(read, reader, subject),
                    served,
                    note,
                )
        for listing in LISTS:
            for jurisdiction in (SEATTLE, SANTA_FE):
                text, note = _listed(partner, listing, jurisdiction)
                for subject in (s for s in subjects if s.jurisdiction == jurisdiction):
                    yield (
                        f"{listing.name} | {reader.agency}@{reader.jurisdiction} | {subject.label}",
                        expected(listing, reader, subject),
                        subject.participant_id in text,
                        note,
                    )


def _listed(partner: Partner, listing: Listing, jurisdiction: str) -> tuple[str, str]:
    """(what the list served, a note if its total disagrees with its rows); pages are followed by cursor."""
    path = listing.template.format(j=jurisdiction, tomorrow=(date.today() + timedelta(days=1)).isoformat())
    reply = partner.get(path, headers={"accept": "application/json"})
    if reply.status_code != 200:
        return "", ""
    if listing.name != "participant list":
        return reply.text, ""
    page, served, total = reply.json(), [], reply.json()["total"]
    while True:
        served += page["items"]
        if page["next_cursor"] is None:
            break
        page = partner.get(path, params={"cursor": page["next_cursor"]}).json()
    note = "" if total == len(served) else f"total {total} != rows served {len(served)}"
    return json.dumps(served), note


class TestIsolationMatrix:
    def test_every_cell_reads_as_the_design_says(
        self, system: System, subjects: list[Subject], endpoints: list[Endpoint]
    ) -> None:
        cells = list(_cells(system, subjects)) + list(_endpoint_cells(system, endpoints))
        leaks = [c for c, want, got, _ in cells if got and not want]
        missing = [c for c, want, got, _ in cells if want and not got]
        tells = [f"{c}: {note}" for c, _, _, note in cells if note]
        served = sum(1 for _, _, got, _ in cells if got)
        print(
            f"isolation matrix: {len(cells)} cells ({len(SINGLE) + len(LISTS)} read paths x {len(readers(system))} "
            f"agencies x {len(subjects)} participants), {served} served, {len(leaks)} unexpected reads"
        )
        assert leaks == [], json.dumps(leaks[:40], indent=1)
        assert missing == [], json.dumps(missing[:40], indent=1)
        assert tells == [], json.dumps(tells[:40], indent=1)


class TestMeetingViewsAreAccounted:
    def test_each_agenda_row_served_to_the_project_manager_is_in_the_participants_accounting(
        self, system: System, subjects: list[Subject]
    ) -> None:
        subject = next(s for s in subjects if s.label == "no-roi")
        manager = system.agency(subject.manager)
        tomorrow = (date.today() + timedelta(days=1)).isoformat()
        agenda = manager.get("/v1/owg/agenda", params={"jurisdiction": subject.jurisdiction, "date": tomorrow})
        assert agenda.status_code == 200 and subject.participant_id in agenda.text
        holder = system.agency(str(subject.holder))
        path = f"/v1/participants/{subject.participant_id}/disclosures"

        def accounted(reply) -> bool:  # type: ignore[no-untyped-def]
            return reply.status_code == 200 and any(
                d["recipient_agency"] == subject.manager and d["purpose"] == "program_operations"
                for d in reply.json()["items"]
            )

        holder.wait_for(path, accounted)

    def test_a_row_withheld_from_police_is_absent_and_not_counted(
        self, system: System, subjects: list[Subject]
    ) -> None:
        subject = next(s for s in subjects if s.label == "other-provider")
        other_police = system.agency("seattle-pd")  # kc-sheriff referred this person
        roster = other_police.get("/v1/owg/roster", params={"jurisdiction": subject.jurisdiction})
        assert roster.status_code == 200
        assert subject.participant_id not in roster.text
