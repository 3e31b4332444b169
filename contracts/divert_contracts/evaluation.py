"""Events the evaluation service publishes: only that a data-use agreement was recorded and that an extract was
released against one (for the audit log). Never a participant, never a row of an extract."""

from __future__ import annotations

from datetime import date, datetime

from divert_kernel.events import Event


class _EvaluationEvent(Event):
    service = "evaluation"


class DataUseAgreementRecorded(_EvaluationEvent):
    """A data-use agreement (45 CFR 164.514(e)(4)) under which an evaluator may receive limited data set extracts."""

    agreement_id: str
    recipient_agency: str
    expires_on: date
    signed_document_sha256: str
    recorded_by: str
    recorded_at: datetime


class LimitedDataSetExtracted(_EvaluationEvent):
    """A limited data set released to `recipient_agency` under agreement `data_use_agreement_id`: how many rows,
    for which year, when. The key that made its study ids was thrown away once the extract was built."""

    extract_id: str
    data_use_agreement_id: str
    recipient_agency: str
    year: int
    rows: int
    extracted_at: datetime
