"""Thin routes: a consent as FHIR, and a draft consent in plain language."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from consent.domain import documents
from consent.domain.model import Consent
from consent.entrypoints.consents import record_command, visible_consent
from consent.entrypoints.schemas import ConsentIn, PreviewOut
from divert_kernel.auth import Principal, require
from divert_kernel.deps import Engine

router = APIRouter(prefix="/v1/consents", tags=["consents"])

CaseManager = Annotated[Principal, Depends(require("case_management"))]
ConsentReader = Annotated[Principal, Depends(require("case_management", "auditor"))]
FHIR_JSON = "application/fhir+json"


@router.get("/{consent_id}/fhir", responses={200: {"content": {FHIR_JSON: {}}}})
async def consent_as_fhir(consent_id: UUID, principal: ConsentReader, engine: Engine) -> JSONResponse:
    """The consent as an HL7 FHIR R4 Consent resource."""
    resource: dict[str, Any] = documents.fhir_consent(await visible_consent(engine, consent_id, principal))
    return JSONResponse(resource, media_type=FHIR_JSON)


@router.post("/preview", response_model=PreviewOut)
async def preview_consent(body: ConsentIn, principal: CaseManager) -> PreviewOut:
    """What a draft would share, per recipient, in plain language; checks the terms, stores nothing."""
    command = record_command(body, principal)
    Consent.check_terms(command)
    draft = body.model_dump()
    return PreviewOut(recipients=documents.preview(draft))
