"""Thin routes: a consent as FHIR, and a draft consent in plain language."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from consent.adapters import aliases, relations
from consent.domain import documents
from consent.domain.model import Consent
from consent.entrypoints.consents import readable_consent, record_command
from consent.entrypoints.reads import SelfGate
from consent.entrypoints.schemas import ConsentIn, PreviewOut
from consent.service_layer.site import agency_types
from divert_kernel.deps import AnyAgency, CaseManager, Engine, SiteDirectory
from divert_kernel.gate import not_permitted

router = APIRouter(prefix="/v1/consents", tags=["consents"])

FHIR_JSON = "application/fhir+json"


@router.get("/{consent_id}/fhir", responses={200: {"content": {FHIR_JSON: {}}}})
async def consent_as_fhir(consent_id: UUID, principal: AnyAgency, engine: Engine, gate: SelfGate) -> JSONResponse:
    """The consent as an HL7 FHIR R4 Consent resource (the whole document: for the holder and auditors)."""
    consent = await readable_consent(engine, gate, consent_id, principal, whole=True)
    resource: dict[str, Any] = documents.fhir_consent(consent)
    return JSONResponse(resource, media_type=FHIR_JSON)


@router.post("/preview", response_model=PreviewOut)
async def preview_consent(body: ConsentIn, principal: CaseManager, engine: Engine, sites: SiteDirectory) -> PreviewOut:
    """What a draft would share, per recipient and category, in plain language: exactly what the gate will decide
    once it is signed, for the recipient's agency type in the site's registry. Checks the terms, stores nothing.
    Only the provider holding the participant drafts its consents."""
    command = record_command(body, principal)
    Consent.check_terms(command)
    types = agency_types(sites, command.jurisdiction, [g.recipient_agency for g in command.grants])
    async with engine.connect() as conn:
        survivor = await aliases.survivor(conn, command.jurisdiction, command.participant_id)
        if await relations.holder(conn, command.jurisdiction, survivor) != principal.agency:
            raise not_permitted()
    return PreviewOut(recipients=documents.preview(body.model_dump(), types))
