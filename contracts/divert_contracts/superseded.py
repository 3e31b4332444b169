"""Earlier versions of event contracts, kept for their published schemas.

Events recorded under these versions stay in the event stores as they were written; the outbox publishes them
as such (their `type` and `dataschema` name the version), so their schemas stay served. Every reader inside
Divert sees them upcast to the current version (the upcasters sit beside the current contracts).
"""

from __future__ import annotations

from datetime import date, datetime

from divert_contracts.prosecution import CaseKind
from divert_contracts.vocabulary import OffenseCode
from divert_kernel.events import Event


class LegacyCaseRegistered(Event):
    """Version 1 of prosecution's LegacyCaseRegistered: the charges' codes as `charge_codes`."""

    service = "prosecution"
    schema_version = 1

    case_id: str
    participant_id: str
    kind: CaseKind
    docket_number: str
    court: str
    charge_codes: list[OffenseCode]
    filed_at: date
    registered_at: datetime
    agency: str | None = None
