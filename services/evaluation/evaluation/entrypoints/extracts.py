"""Data-use agreements (the project manager records them) and limited data set extracts (evaluators, under one)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from divert_contracts.vocabulary import AgencyId, Jurisdiction
from divert_kernel.deps import Bus, Evaluator, ProjectManager, SiteDirectory
from divert_kernel.errors import RuleViolated
from evaluation.domain.extract import RecordAgreement, ReleaseExtract

router = APIRouter(tags=["evaluation"])
AgreementId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgreementIn(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "jurisdiction": "seattle-king-county",
                    "agreement_id": "DUA-2026-03",
                    "recipient_agency": "lead-evaluator",
                    "expires_on": "2027-12-31",
                    "signed_document_sha256": "9f" * 32,
                }
            ]
        },
    )
    jurisdiction: Jurisdiction
    agreement_id: AgreementId = Field(examples=["DUA-2026-03"])
    recipient_agency: AgencyId = Field(
        description="the evaluator agency the agreement names", examples=["lead-evaluator"]
    )
    expires_on: date
    signed_document_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class AgreementOut(BaseModel):
    agreement_id: str


class ExtractIn(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"jurisdiction": "seattle-king-county", "data_use_agreement_id": "DUA-2026-03", "year": 2026}]
        },
    )
    jurisdiction: Jurisdiction
    data_use_agreement_id: AgreementId
    year: int = Field(ge=2000, le=2100, description="participants first referred in this calendar year")


class ExtractOut(BaseModel):
    extract_id: str
    data_use_agreement_id: str
    jurisdiction: str
    year: int
    rows: list[dict[str, Any]] = Field(
        description="one per participant: a study id (a keyed hash whose key was thrown away), months, codes, flags"
    )


@router.post("/v1/evaluation/data-use-agreements", status_code=201, response_model=AgreementOut)
async def record_agreement(
    body: AgreementIn, principal: ProjectManager, bus: Bus, sites: SiteDirectory
) -> AgreementOut:
    """Record a data-use agreement (45 CFR 164.514(e)(4)) naming one of the site's evaluator agencies."""
    principal.check_jurisdiction(body.jurisdiction)
    site = sites.get(body.jurisdiction)
    evaluators = {a.agency_id for a in site.agencies if a.agency_type == "evaluator"} if site else set()
    if body.recipient_agency not in evaluators:
        raise RuleViolated("the recipient must be an evaluator agency of this site", field="recipient_agency")
    command = RecordAgreement(**body.model_dump(), recorded_by=principal.agency)
    return AgreementOut(agreement_id=await bus.handle(command))


@router.post("/v1/evaluation/extracts", status_code=201, response_model=ExtractOut)
async def release_extract(body: ExtractIn, principal: Evaluator, bus: Bus) -> ExtractOut:
    """A limited data set for the year, released under a current agreement naming the caller; audited."""
    principal.check_jurisdiction(body.jurisdiction)
    command = ReleaseExtract(body.jurisdiction, body.data_use_agreement_id, principal.agency, body.year)
    released = await bus.handle(command)
    return ExtractOut(
        data_use_agreement_id=body.data_use_agreement_id, jurisdiction=body.jurisdiction, year=body.year, **released
    )
