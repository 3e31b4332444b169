"""Where a person stands, as this service can tell it (DESIGN §3): case management's word when it has spoken."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Before case management reports (its events may still be in flight): what the referral itself says.
_NOT_ENROLLED = {"declined": "declined", "denied": "owg_denied"}


def enrolment_of(referrals: Sequence[dict[str, Any]]) -> tuple[str, str | None]:
    """(enrolment, not_enrolled_reason) of one person from their referrals, newest first."""
    if not referrals:
        return "referred", None
    newest = referrals[0]
    if newest.get("enrolment"):
        return newest["enrolment"], newest.get("not_enrolled_reason")
    if any(r.get("intake_completed_at") for r in referrals):
        return "enrolled", None
    reason = _NOT_ENROLLED.get(newest["status"])
    return ("not_enrolled", reason) if reason else ("referred", None)
