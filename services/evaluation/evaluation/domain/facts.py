"""Participant-level facts as the evaluation database keeps them, assembled into one path per referral.

These never leave the service: only counts built from them are served (DESIGN §7b)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

DIMENSIONS = ("race", "ethnicity", "gender", "age_band")


@dataclass(frozen=True)
class Fact:
    """One event as a fact: its kind, the record it is about, when, and its codes (never free text)."""

    kind: str
    key: str
    at: datetime
    participant_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Contact:
    """A screening (eligible or not) or a documented decision not to divert, on the day it happened."""

    on: date
    groups: dict[str, str]
    eligible: bool = True
    reason: str | None = None  # set on discretion records only


@dataclass
class ReferralPath:
    referral_id: str
    participant_id: str
    agency: str
    unit: str
    referred_at: datetime
    on: date
    groups: dict[str, str]
    intake_deadline: date | None = None
    reached: set[str] = field(default_factory=set)
    intake_at: datetime | None = None
    intake_on: date | None = None
    statuses: list[tuple[datetime, str]] = field(default_factory=list)
    re_referral: bool = False


def _groups(data: dict[str, Any], referral_type: str | None) -> dict[str, str]:
    groups = {d: data.get(d) or "unknown" for d in DIMENSIONS}
    return groups | {"referral_type": referral_type or "unknown"}


_REFERRAL_STEPS = {
    "accepted": "accepted",
    "declined": "declined",
    "approved": "social_contact_approved",
    "denied": "social_contact_denied",
    "handed_off": "handed_off",
    "lapsed": "intake_lapsed",
    "filed": "filed_after_lapse",
}


def assemble(facts: list[Fact], time_zone: str = "UTC") -> tuple[list[Contact], list[ReferralPath]]:
    """Contacts and referral paths from the stored facts, local dates in the site's time zone."""
    tz = ZoneInfo(time_zone)

    def local(at: datetime) -> date:
        return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(tz).date()

    survivor = {f.data["merged"]: f.data["survivor"] for f in facts if f.kind == "linked"}

    def person(pid: str | None) -> str:
        seen = set()
        while pid in survivor and pid not in seen:
            seen.add(pid)
            pid = survivor[pid]
        return pid or ""

    contacts, paths = [], {}
    for f in sorted(facts, key=lambda f: (f.at, f.key)):
        if f.kind == "screened" and f.data.get("eligible"):
            contacts.append(Contact(local(f.at), _groups(f.data, f.data.get("referral_type"))))
        elif f.kind == "not_diverted":
            contacts.append(Contact(local(f.at), _groups(f.data, None), reason=f.data.get("reason") or "other"))
        elif f.kind == "referred":
            paths[f.key] = ReferralPath(
                referral_id=f.key,
                participant_id=person(f.participant_id),
                agency=f.data.get("referring_agency") or "unknown",
                unit=f.data.get("officer_unit") or "no_unit",
                referred_at=f.at,
                on=local(f.at),
                groups=_groups(f.data, f.data.get("referral_type")),
                intake_deadline=_day(f.data.get("intake_deadline")),
            )
    _apply_steps(facts, paths, person, local)
    _mark_re_referrals(paths)
    return contacts, list(paths.values())


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _apply_steps(facts: list[Fact], paths: dict[str, ReferralPath], person, local) -> None:  # type: ignore[no-untyped-def]
    statuses: dict[str, list[tuple[datetime, str]]] = {}
    for f in facts:
        path = paths.get(f.key)
        if f.kind in _REFERRAL_STEPS and path is not None:
            path.reached.add(_REFERRAL_STEPS[f.kind])
        elif f.kind == "deadline" and path is not None:
            moved = _day(f.data.get("intake_deadline"))
            if moved and (path.intake_deadline is None or moved > path.intake_deadline):
                path.intake_deadline = moved
        elif f.kind == "intake":
            for referral_id in f.data.get("referral_ids", []):
                if (p := paths.get(referral_id)) is not None and p.intake_at is None:
                    p.intake_at, p.intake_on = f.at, local(f.at)
        elif f.kind == "status":
            statuses.setdefault(person(f.participant_id), []).append((f.at, f.data["status"]))
    for path in paths.values():
        path.statuses = sorted(statuses.get(path.participant_id, []))


def _mark_re_referrals(paths: dict[str, ReferralPath]) -> None:
    """A referral of someone referred before (the same person, merged records read as one)."""
    first: dict[str, tuple[datetime, str]] = {}
    for path in paths.values():
        mark = (path.referred_at, path.referral_id)
        first[path.participant_id] = min(first.get(path.participant_id, mark), mark)
    for path in paths.values():
        path.re_referral = first[path.participant_id] != (path.referred_at, path.referral_id)
