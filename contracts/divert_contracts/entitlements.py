"""Who may receive each event type outside Divert, and which data category it discloses (DESIGN §7a).

An event goes to an agency for one of these reasons:
- `own`: the agency recorded it (the envelope's actor agency): its own records, always delivered, never gated;
- `referrer`: the police agency that made the event's referral (DiversionOffered / SocialContactReferralSubmitted
  `referring_agency`);
- `charge_holder`: the prosecutor's office holding the referral's charge (ChargeHeld `prosecutor_agency`);
- `handoff_provider`: the case-management provider named in the hand-off (WarmHandoffCompleted
  `case_management_agency`).

A few events are about an agency's own configuration rather than a participant (the gateway's
WebhookEndpointDisabled): Divert records them, so the owner is the agency their data names (`owner_field`), and
they disclose no category: they go to that agency only, never through a decision.

Delivery to any agency but the recorder is a cross-agency read of the participant: the consent gate decides it for
the category declared here, which is the category of the read that shows the same fact (intake completion is
`assessment`, as GET /v1/participants/{id}/intake is; the held charge's state is `referral`, court dates are
`court_dates`). A deny means no delivery, recorded like every decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from divert_contracts import casemgmt, consent, gateway, prosecution, referral
from divert_contracts.vocabulary import CATEGORIES
from divert_kernel.events import Event

Relation = Literal["referrer", "charge_holder", "handoff_provider"]
RELATIONS: tuple[str, ...] = Relation.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Entitlement:
    service: str
    event_type: str
    category: str | None  # None: about no participant, so only ever to its owner
    relations: frozenset[str]
    owner_field: str | None = None  # the data field naming the owning agency; None: the actor agency


_ALL = frozenset(RELATIONS)
_PROSECUTION_WATCH = frozenset({"referrer", "charge_holder"})
_OWN = frozenset[str]()

_TABLE: tuple[tuple[type[Event], str | None, frozenset[str]], ...] = (
    # The referral's path: the police agency that referred, the office holding the charge, the provider.
    (referral.DiversionOffered, "referral", _OWN),
    (referral.SocialContactReferralSubmitted, "referral", _OWN),
    (referral.DiversionAccepted, "referral", _ALL),
    (referral.DiversionDeclined, "referral", _PROSECUTION_WATCH),
    (referral.WarmHandoffCompleted, "referral", _ALL),
    (referral.SocialContactReferralApproved, "referral", frozenset({"referrer", "handoff_provider"})),
    (referral.SocialContactReferralDenied, "referral", frozenset({"referrer"})),
    (referral.SocialContactReferralReleased, "referral", frozenset({"referrer", "handoff_provider"})),
    # Enrolment: intake completed (the read of the intake is `assessment`), enrolment and status (`referral`,
    # as GET /v1/participants/{id} is).
    (casemgmt.IntakeCompleted, "assessment", _PROSECUTION_WATCH),
    (casemgmt.EnrolmentChanged, "referral", _PROSECUTION_WATCH),
    (casemgmt.ParticipantStatusChanged, "referral", _PROSECUTION_WATCH),
    (casemgmt.IntakeDeadlineExtended, "referral", _PROSECUTION_WATCH),
    (casemgmt.ReferralStateChanged, "referral", frozenset({"charge_holder"})),
    (casemgmt.CaseOpened, "referral", _OWN),
    (casemgmt.CaseManagerAssigned, "assessment", _OWN),
    (casemgmt.InitialScreeningCompleted, "screening", _OWN),
    (casemgmt.InterventionPlanUpdated, "plan", _OWN),
    (casemgmt.ContactLogged, "contacts", _OWN),
    # The held charge (GET /v1/held-charges/{id} reads `referral`): the office and the referring police agency.
    (prosecution.ChargeHeld, "referral", frozenset({"referrer"})),
    (prosecution.HeldChargeDeadlineMoved, "referral", _PROSECUTION_WATCH),
    (prosecution.IntakeDeadlineLapsed, "referral", _ALL),
    (prosecution.DivertedChargeClosed, "referral", _PROSECUTION_WATCH),
    (prosecution.HeldChargeFiled, "referral", _PROSECUTION_WATCH),
    (prosecution.HeldChargeNotFiled, "referral", _PROSECUTION_WATCH),
    (prosecution.HeldChargeReturned, "referral", _PROSECUTION_WATCH),
    (prosecution.LegacyCaseRegistered, "legal_case", _OWN),
    (prosecution.LegacyCaseReviewed, "legal_case", _OWN),
    # Court dates reach the provider holding the case (toolkit: case managers accompany participants to court).
    (prosecution.CourtDateScheduled, "court_dates", frozenset({"handoff_provider"})),
    # Consents are the holding provider's own records.
    (consent.ConsentGranted, "referral", _OWN),
    (consent.ConsentRevoked, "referral", _OWN),
    (consent.ConsentExpired, "referral", _OWN),
    # The endpoint's agency learns that Divert stopped delivering to it (its own record).
    (gateway.WebhookEndpointDisabled, None, _OWN),
)
_OWNER_FIELDS = {(gateway.WebhookEndpointDisabled.service, "WebhookEndpointDisabled"): "agency"}

ENTITLEMENTS: dict[tuple[str, str], Entitlement] = {
    (cls.service, cls.__name__): Entitlement(
        cls.service, cls.__name__, category, relations, _OWNER_FIELDS.get((cls.service, cls.__name__))
    )
    for cls, category, relations in _TABLE
}
assert all(e.category in CATEGORIES or (e.category is None and not e.relations) for e in ENTITLEMENTS.values())

EVENT_TYPES: frozenset[str] = frozenset(event_type for _, event_type in ENTITLEMENTS)


def entitlement(service: str, event_type: str) -> Entitlement | None:
    """The entitlement of an event type, or None: an event type not listed here leaves Divert to no one."""
    return ENTITLEMENTS.get((service, event_type))


def owner(service: str, event_type: str, envelope: dict[str, Any]) -> str | None:
    """The agency whose own record the event is: the one its data names, else the agency that recorded it."""
    found = entitlement(service, event_type)
    data = envelope.get("data")
    if found is not None and found.owner_field is not None:
        named = data.get(found.owner_field) if isinstance(data, dict) else None
        return str(named) if named else None
    actor = envelope.get("actoragency")
    return str(actor) if actor else None


def recipients(service: str, event_type: str, actor_agency: str | None, related: dict[str, set[str]]) -> dict[str, str]:
    """Agency -> why it receives the event (`own` or a relation). `related` maps a relation to its agencies."""
    found = entitlement(service, event_type)
    if found is None:
        return {}
    out: dict[str, str] = {}
    for relation in RELATIONS:
        if relation in found.relations:
            for agency in related.get(relation, ()):
                out.setdefault(agency, relation)
    if actor_agency:
        out[actor_agency] = "own"
    return out
