"""The meeting views as a reader sees them: a printable agenda and roster (Jinja2, autoescaped), and JSON.

Values are written for people: dates in the site's time zone, codes as words, lists joined, and nothing at all
where a value is empty or withheld (the two read alike).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined

EMPTY = "—"
LABELS = {
    "participant_id": "Participant",
    "last_name": "Last name",
    "first_name": "First name",
    "date_of_birth": "D.O.B.",
    "age_band": "Age",
    "race": "Race",
    "ethnicity": "Ethnicity",
    "gender": "Gender",
    "referral_type": "Referral type",
    "status": "Status",
    "referring_agency": "Referring agency",
    "officer_badge": "Badge",
    "officer_name": "Referring officer",
    "offense_codes": "Offense (NIBRS)",
    "created_at": "Referred",
    "current_deadline": "Intake deadline",
    "handoff_agency": "Case management",
    "case_manager_id": "Case manager",
    "owg_decided_by": "Decided by",
    "owg_reason": "Reason",
    "owg_decided_at": "Decided",
    "pending_reason": "Reason pending",
    "intake_completed": "Intake done",
    "intake_completed_at": "Intake completed",
    "enrolment": "Enrolment",
    "not_enrolled_reason": "Why not enrolled",
    "enrolment_changed_at": "Since",
    "lapsed_deadline": "Deadline that lapsed",
    "lapsed_at": "Lapsed",
    "extended_to": "Extended to",
    "extension_granted_by": "Granted by",
    "law_enforcement_agency": "Law enforcement agreement",
    "extended_at": "Granted",
    "case_kind": "Case",
    "docket_number": "Docket",
    "court": "Court",
    "charge_codes": "Charges (NIBRS)",
    "case_filed_at": "Filed",
    "case_registered_at": "Registered",
    "review_decision": "Review decision",
    "reviewed_at": "Reviewed",
    "follow_up_on": "Follow up on",
    "plan_version": "Plan version",
    "goal_count": "Goals",
    "plan_updated_at": "Plan updated",
    "contacts_since": "Contacts since last meeting",
}
# Codes shown as words ("arrest_diversion" -> "Arrest diversion"); every other text is shown as recorded.
WORDS = frozenset(
    {
        "referral_type",
        "status",
        "pending_reason",
        "enrolment",
        "not_enrolled_reason",
        "case_kind",
        "review_decision",
        "race",
        "ethnicity",
        "gender",
    }
)
# Dates kept as text inside an item's detail.
DATE_TEXT = frozenset({"extended_to"})
PERSON = ["last_name", "first_name", "date_of_birth", "race", "gender"]
TRAILER = ["participant_id"]
SECTIONS: list[tuple[str, str, list[str]]] = [
    (
        "referral_review",
        "Referral review since the last meeting",
        [
            *PERSON,
            "offense_codes",
            "referring_agency",
            "officer_name",
            "created_at",
            "status",
            "pending_reason",
            "owg_decided_by",
            "owg_reason",
            "owg_decided_at",
        ],
    ),
    (
        "new_referrals",
        "New referrals: arrest diversions and social contacts",
        [*PERSON, "referral_type", "offense_codes", "referring_agency", "officer_name", "created_at"],
    ),
    (
        "intake_status",
        "Intake status of everyone referred",
        [
            *PERSON,
            "referral_type",
            "created_at",
            "current_deadline",
            "enrolment",
            "not_enrolled_reason",
            "enrolment_changed_at",
            "intake_completed_at",
            "handoff_agency",
            "case_manager_id",
        ],
    ),
    (
        "lapsed",
        "Intake windows lapsed without intake: for the prosecutor's decision or an extension",
        [*PERSON, "offense_codes", "referring_agency", "lapsed_deadline", "lapsed_at"],
    ),
    (
        "extensions",
        "Extensions granted since the last meeting",
        [*PERSON, "extended_to", "extension_granted_by", "law_enforcement_agency", "extended_at"],
    ),
    (
        "upcoming_deadlines",
        "Intake deadlines in the next 14 days",
        [*PERSON, "offense_codes", "current_deadline", "enrolment", "case_manager_id"],
    ),
    (
        "cases_awaiting_review",
        "Legacy and post-diversion cases awaiting the prosecutor's review",
        [*PERSON, "case_kind", "docket_number", "court", "charge_codes", "case_filed_at", "case_registered_at"],
    ),
    (
        "follow_ups_due",
        "Cases the prosecutor continues to monitor: follow-up due",
        [*PERSON, "case_kind", "docket_number", "court", "reviewed_at", "follow_up_on"],
    ),
    (
        "case_plans",
        "Case plans",
        [*PERSON, "plan_version", "goal_count", "plan_updated_at", "contacts_since"],
    ),
]
ROSTER = [
    *PERSON,
    "age_band",
    "referral_type",
    "offense_codes",
    "created_at",
    "referring_agency",
    "officer_name",
    "status",
    "enrolment",
    "intake_completed",
    "case_manager_id",
    "plan_version",
    "goal_count",
]
REVIEW_GROUPS = [
    ("Pending (needs vetting)", ("submitted", "waitlisted")),
    ("Approved", ("approved", "handed_off", "accepted")),
    ("Denied", ("denied",)),
]


def _words(code: str) -> str:
    return code.replace("_", " ").capitalize()


def cell(value: Any, column: str, zone: ZoneInfo) -> str:
    """One value as a person reads it; never a Python literal."""
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%a %d %b %Y, %H:%M")
    if isinstance(value, date):
        return value.strftime("%a %d %b %Y")
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(v, column, zone) for v in value)
    if column in WORDS and isinstance(value, str):
        return _words(value)
    if column in DATE_TEXT and isinstance(value, str):
        try:
            return cell(date.fromisoformat(value), column, zone)
        except ValueError:
            return value
    return str(value)


def long_date(value: date) -> str:
    return value.strftime("%A %d %B %Y")


_ENV = Environment(
    loader=PackageLoader("referral", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["long_date"] = long_date
_ENV.filters["words"] = _words


def _table(rows: list[dict[str, Any]], wanted: list[str], zone: ZoneInfo) -> dict[str, Any]:
    """The columns any served row has (in the section's order), and each row's cells."""
    columns = [c for c in [*wanted, *TRAILER] if any(c in r for r in rows)]
    return {
        "headings": [LABELS.get(c, _words(c)) for c in columns],
        "rows": [[cell(r.get(c), c, zone) for c in columns] for r in rows],
    }


def render(template: str, body: dict[str, Any], zone: ZoneInfo) -> str:
    if template == "roster.html":
        view = {**body, "table_": _table(body["participants"], ROSTER, zone)}
    else:
        review = body["referral_review"]
        groups = [
            (title, _table([r for r in review if r.get("status") in statuses], SECTIONS[0][2], zone))
            for title, statuses in REVIEW_GROUPS
        ]
        sections = [(key, title, _table(body[key], cols, zone)) for key, title, cols in SECTIONS[1:]]
        view = {**body, "review_groups": groups, "sections": sections}
    return _ENV.get_template(template).render(view)


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value
