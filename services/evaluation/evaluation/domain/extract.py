"""The limited data set for independent evaluators (45 CFR 164.514(e)): one row per participant under a study id
nobody can link back, dates at month precision, category codes only; released only under a recorded, current
data-use agreement naming the recipient."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from divert_contracts.evaluation import DataUseAgreementRecorded, LimitedDataSetExtracted
from divert_kernel.aggregate import Aggregate
from divert_kernel.errors import RuleViolated
from divert_kernel.events import Event
from evaluation.domain.continuum import stages_of
from evaluation.domain.facts import ReferralPath

FLAGS = ("accepted", "declined", "social_contact_approved", "social_contact_denied", "handed_off", "enrolled")
FLAGS += ("enrolled_after_window", "intake_lapsed", "filed_after_lapse")
RETENTION = ("3m", "6m", "12m")


@dataclass(frozen=True)
class RecordAgreement:
    jurisdiction: str
    agreement_id: str
    recipient_agency: str
    expires_on: date
    signed_document_sha256: str
    recorded_by: str


@dataclass(frozen=True)
class ReleaseExtract:
    jurisdiction: str
    data_use_agreement_id: str
    recipient_agency: str
    year: int


def agreement_key(jurisdiction: str, agreement_id: str) -> str:
    """An agreement's stream is keyed by jurisdiction and id: sites choose their ids independently, so one site's
    id must neither collide with nor reveal another's. `:` is in neither a jurisdiction nor an agreement id."""
    return f"{jurisdiction}:{agreement_id}"


class DataUseAgreement(Aggregate):
    stream_prefix = "data-use-agreement"
    recipient_agency: str = ""
    expires_on: date | None = None

    @classmethod
    def record(cls, cmd: RecordAgreement, today: date, now: datetime) -> DataUseAgreement:
        if cmd.expires_on <= today:
            raise RuleViolated("an agreement must not have expired already", field="expires_on")
        agreement = cls(agreement_key(cmd.jurisdiction, cmd.agreement_id), cmd.jurisdiction)
        agreement._record(
            DataUseAgreementRecorded(
                agreement_id=cmd.agreement_id,
                recipient_agency=cmd.recipient_agency,
                expires_on=cmd.expires_on,
                signed_document_sha256=cmd.signed_document_sha256,
                recorded_by=cmd.recorded_by,
                recorded_at=now,
            )
        )
        return agreement

    def release(self, extract_id: str, cmd: ReleaseExtract, rows: int, today: date, now: datetime) -> None:
        """Record the release; an agreement of another recipient reads exactly like none at all."""
        self.check_covers(cmd.recipient_agency, today)
        self._record(
            LimitedDataSetExtracted(
                extract_id=extract_id,
                data_use_agreement_id=cmd.data_use_agreement_id,
                recipient_agency=cmd.recipient_agency,
                year=cmd.year,
                rows=rows,
                extracted_at=now,
            )
        )

    def check_covers(self, recipient: str, today: date) -> None:
        if self.recipient_agency != recipient or self.expires_on is None or self.expires_on < today:
            raise NoAgreement()

    def apply(self, event: Event) -> None:
        if isinstance(event, DataUseAgreementRecorded):
            self.recipient_agency, self.expires_on = event.recipient_agency, event.expires_on


class NoAgreement(RuleViolated):
    def __init__(self) -> None:
        super().__init__("no current data-use agreement with this id names your agency", field="data_use_agreement_id")


def study_rows(paths: list[ReferralPath], year: int, key: bytes, now: datetime) -> list[dict[str, Any]]:
    """One row per participant first referred in `year` (later referrals counted), in study-id order."""
    mine: dict[str, list[ReferralPath]] = {}
    for path in sorted(paths, key=lambda p: (p.referred_at, p.referral_id)):
        if path.on.year == year:
            mine.setdefault(path.participant_id, []).append(path)
    rows = [
        _row(hmac.new(key, pid.encode(), hashlib.sha256).hexdigest()[:32], found, now) for pid, found in mine.items()
    ]
    return sorted(rows, key=lambda r: r["study_id"])


def _row(study_id: str, paths: list[ReferralPath], now: datetime) -> dict[str, Any]:
    first = paths[0]
    reached = stages_of(first, now)
    status = {m: next((s for s in ("active", "inactive", "exited") if f"{s}_{m}" in reached), None) for m in RETENTION}
    return {
        "study_id": study_id,
        "referral_month": first.on.strftime("%Y-%m"),
        "intake_month": first.intake_on.strftime("%Y-%m") if first.intake_on else None,
        "referrals_in_year": len(paths),
        **{d: first.groups[d] for d in ("referral_type", "race", "ethnicity", "gender", "age_band")},
        **{flag: flag in reached for flag in FLAGS},
        **{f"status_{m}": status[m] for m in RETENTION},
    }
