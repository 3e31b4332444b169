"""The demo site populated for the isolation matrix, and the oracle saying who may read what (DESIGN §5).

Each subject is one participant in one consent state, built through the gateway as partners would. The
oracle is written from the design, not from the code: the owner (jurisdiction, agency) reads in full; anyone
else only with a live ROI naming it, or a term of the site's MOU; never an evaluator; nothing across
jurisdictions; Part 2 never to police or prosecutors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tests.conftest import System
from tests.partner import Partner, referral_body

NOW = datetime.now(UTC)
DEFAULT_PURPOSE = {
    "police": "care_coordination",
    "case_management": "care_coordination",
    "prosecutor": "diversion_monitoring",
    "defender": "defense",
    "project_manager": "program_operations",
    "community": "care_coordination",
    "evaluator": "evaluation",
    "auditor": "program_operations",
}
ROI_CATEGORIES = ["identity", "referral", "screening", "assessment", "plan", "contacts", "legal_case", "court_dates"]
# The demo MOU (devstack/divert_devstack/demo_site.py): relation or named agency -> (categories, purpose).
MOU_HANDOFF = ({"identity", "referral"}, "care_coordination")
MOU_CHARGE = ({"referral"}, "diversion_monitoring")
MOU_MANAGER = ({"identity", "referral"}, "program_operations")
# The evaluator of each demo site (santa-fe has none): aggregates only, never a participant-level read.
EVALUATORS = {"seattle-king-county": "lead-evaluator"}
# The aggregate reads (DESIGN §7b): served to evaluators, project managers and (per unit) police, and never with
# a participant's id in them, whoever asks.
_YEAR = str(NOW.year)
AGGREGATE_READS = {
    "continuum": "/v1/evaluation/continuum?jurisdiction={j}&period=" + _YEAR + "&by=race",
    "continuum per unit": "/v1/evaluation/continuum?jurisdiction={j}&period=" + _YEAR + "&by=unit",
}


@dataclass(frozen=True)
class Reader:
    agency: str
    agency_type: str
    jurisdiction: str


@dataclass
class Subject:
    label: str
    jurisdiction: str
    referrer: str
    holder: str | None
    prosecutor: str
    manager: str
    roi_recipients: set[str] = field(default_factory=set)  # named by a live ROI
    named: set[str] = field(default_factory=set)  # named by any signed consent, revoked or not
    referral_id: str = ""
    participant_id: str = ""
    case_id: str = ""

    def permits(self, reader: Reader, category: str) -> bool:
        """A decision's answer: a live ROI or an MOU term (never evaluators, never another jurisdiction)."""
        if reader.agency_type == "evaluator" or reader.jurisdiction != self.jurisdiction:
            return False
        purpose = DEFAULT_PURPOSE[reader.agency_type]
        if reader.agency in self.roi_recipients and category in ROI_CATEGORIES:
            return True
        terms = []
        if self.holder is not None:
            terms.append((self.holder, *MOU_HANDOFF))
        terms += [(self.prosecutor, *MOU_CHARGE), (self.manager, *MOU_MANAGER)]
        return any(reader.agency == a and category in cats and purpose == p for a, cats, p in terms)

    def owner(self, role: str) -> str | None:
        return {"referrer": self.referrer, "holder": self.holder, "prosecutor": self.prosecutor}[role]


def readers(system: System) -> list[Reader]:
    return [Reader(a, c["agency_type"], c["jurisdictions"][0]) for a, c in sorted(system.agencies.items())]


def _ok(reply, *expected: int):  # type: ignore[no-untyped-def]
    assert reply.status_code in (expected or (200, 201)), f"{reply.request.url}: {reply.status_code} {reply.text[:300]}"
    return reply.json() if reply.content else None


def build(system: System, subject: Subject, *, hand_off: bool, roi: bool, revoke: bool) -> Subject:
    police = system.agency(subject.referrer)
    body = referral_body(f"P-ISO-{subject.label}", jurisdiction=subject.jurisdiction)
    created = _ok(police.post("/v1/referrals", json=body))
    subject.referral_id, subject.participant_id = created["referral_id"], created["participant_id"]
    prosecutor = system.agency(subject.prosecutor)
    prosecutor.wait_for(f"/v1/held-charges/{subject.referral_id}", lambda r: r.status_code == 200)
    case = prosecutor.post(
        "/v1/cases",
        json={
            "participant_id": subject.participant_id,
            "jurisdiction": subject.jurisdiction,
            "kind": "legacy",
            "docket_number": f"26-{subject.label[:20]}",
            "court": "Municipal Court",
            "charges": [{"code": "90J", "description": "Trespass"}],
            "filed_at": "2026-10-01",
        },
    )
    subject.case_id = _ok(case)["case_id"]
    _ok(
        prosecutor.post(
            f"/v1/cases/{subject.case_id}/court-dates",
            json={"scheduled_for": (NOW + timedelta(days=9)).isoformat(), "hearing": "review"},
        )
    )
    if not hand_off:
        subject.holder = None
        return subject
    _ok(police.post(f"/v1/referrals/{subject.referral_id}/acceptance", json={}))
    _ok(
        police.post(
            f"/v1/referrals/{subject.referral_id}/handoff",
            json={
                "case_manager_id": "cm-iso",
                "location": "Day center",
                "at": NOW.isoformat(),
                "case_management_agency": subject.holder,
            },
        )
    )
    assert subject.holder is not None
    provider = system.agency(subject.holder)
    _fill_case_management(provider, subject)
    if roi:
        _grant_roi(system, provider, subject, revoke=revoke)
    return subject


def _until_ok(send, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    """Retry a write until the service has the hand-off (events arrive asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        reply = send()
        if reply.status_code in (200, 201) or time.monotonic() > deadline:
            return _ok(reply)
        time.sleep(0.05)


def _fill_case_management(provider: Partner, subject: Subject) -> None:
    base = f"/v1/participants/{subject.participant_id}"
    _until_ok(
        lambda: provider.put_json(f"{base}/plan", {"goals": [{"goal": "Stable housing", "action_steps": ["Go"]}]})
    )
    _ok(
        provider.post(
            f"{base}/contacts",
            json={"occurred_on": NOW.date().isoformat(), "kind": "street", "staff_id": "cm-iso", "notes": "Met."},
        )
    )


def _grant_roi(system: System, provider: Partner, subject: Subject, *, revoke: bool) -> None:
    recipients = [
        r for r in readers(system) if r.jurisdiction == subject.jurisdiction and r.agency not in (subject.holder,)
    ]
    recipients = [r for r in recipients if r.agency_type not in ("evaluator", "auditor")]
    body = {
        "participant_id": subject.participant_id,
        "jurisdiction": subject.jurisdiction,
        "grants": [
            {
                "recipient_agency": r.agency,
                "categories": ROI_CATEGORIES,
                "purposes": [DEFAULT_PURPOSE[r.agency_type]],
            }
            for r in recipients
        ],
        "effective_at": "2026-01-01T00:00:00Z",
        "expires_at": "2030-01-01T00:00:00Z",
        "signed_document_sha256": "cd" * 32,
    }
    consent_id = _until_ok(lambda: provider.post("/v1/consents", json=body))["consent_id"]
    subject.named = {r.agency for r in recipients}
    if revoke:
        _ok(provider.post(f"/v1/consents/{consent_id}/revocation", json={}))
    else:
        subject.roi_recipients = {r.agency for r in recipients}


# Webhook endpoints (DESIGN §7a) are agency records, not participants': only the endpoint's own agency reads one.
# Owners chosen so that every kind of other reader exists: the same type in the same jurisdiction (kc-sheriff),
# the same type in the other jurisdiction (santa-fe-pd), and any other type.
ENDPOINT_OWNERS = ("seattle-pd", "kc-sheriff", "santa-fe-pd", "lead-case-management")


@dataclass(frozen=True)
class Endpoint:
    owner: str
    endpoint_id: str


def webhook_endpoints(system: System) -> list[Endpoint]:
    """One endpoint per owner, subscribed to a rare event type at an address nothing listens on."""
    made = []
    for owner in ENDPOINT_OWNERS:
        body = {"url": "http://127.0.0.1:9/isolation", "event_types": ["ConsentExpired"], "description": "iso"}
        created = _ok(system.agency(owner).post("/v1/webhook-endpoints", json=body), 201)
        made.append(Endpoint(owner, created["endpoint_id"]))
    return made
