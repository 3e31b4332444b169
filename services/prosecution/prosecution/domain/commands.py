"""Instructions the prosecution service accepts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FileHeldCharge:
    referral_id: str
    filed_by_agency_type: str
