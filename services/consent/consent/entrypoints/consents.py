"""Thin routes: the Release of Information."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends

from consent.adapters import store
from consent.domain import commands
from consent.domain.errors import ConsentNotFound
from consent.entrypoints.schemas import (
    ConsentCreated,
    ConsentIn,
    ConsentOut,
    ConsentVersion,
    RevocationIn,
    RevocationOut,
    SignatureIn,
)
from divert_kernel.auth import Principal, require
from divert_kernel.deps import Bus, Engine

router = APIRouter(prefix="/v1/consents", tags=["consents"])

CaseManager = Annotated[Principal, Depends(require("case_management"))]
ConsentReader = Annotated[Principal, Depends(require("case_management", "auditor"))]


def record_command(body: ConsentIn, principal: Principal) -> commands.RecordConsent:
    principal.check_jurisdiction(body.jurisdiction)
    return commands.RecordConsent(
        participant_id=str(body.participant_id),
        jurisdiction=body.jurisdiction,
        disclosing_agency=principal.agency,
        grants=tuple(
            commands.Grant(g.recipient_agency, tuple(g.categories), tuple(g.purposes), g.irrevocable_until)
            for g in body.grants
        ),
        effective_at=body.effective_at,
        expires_at=body.expires_at,
        signed_document_sha256=body.signed_document_sha256,
        wording_version=body.wording_version,
        expires_on_event=body.expires_on_event,
        draft=body.state == "draft",
    )


async def visible_consent(engine: Engine, consent_id: UUID, principal: Principal) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = await store.get_consent(conn, str(consent_id))
    if row is None or row["jurisdiction"] not in principal.jurisdictions:
        raise ConsentNotFound()
    return row


@router.post("", status_code=201, response_model=ConsentCreated)
async def record_consent(body: ConsentIn, principal: CaseManager, bus: Bus) -> ConsentCreated:
    """Record a signed ROI (ConsentGranted), or a draft to read to the participant before signing."""
    command = record_command(body, principal)
    consent_id = await bus.handle(command)
    return ConsentCreated(consent_id=consent_id, state="draft" if command.draft else "active")


@router.get("/{consent_id}", response_model=ConsentOut)
async def get_consent(consent_id: UUID, principal: ConsentReader, engine: Engine) -> ConsentOut:
    """The consent with every grant, its state and its revocations."""
    return ConsentOut(**await visible_consent(engine, consent_id, principal))


@router.get("/{consent_id}/versions", response_model=list[ConsentVersion])
async def consent_versions(consent_id: UUID, principal: ConsentReader, engine: Engine) -> list[ConsentVersion]:
    """Every version of the consent, oldest first: drafted, signed, revoked (per recipient), expired."""
    await visible_consent(engine, consent_id, principal)
    async with engine.connect() as conn:
        rows = await store.versions(conn, str(consent_id))
    return [
        ConsentVersion(version=r["version"], change=r["type"], recorded_at=r["recorded_at"], terms=r["data"])
        for r in rows
    ]


@router.post("/{consent_id}/signature", response_model=ConsentCreated)
async def sign_consent(
    consent_id: UUID, body: SignatureIn, principal: CaseManager, bus: Bus, engine: Engine
) -> ConsentCreated:
    """Sign a draft: from now on it is immutable and in force."""
    await visible_consent(engine, consent_id, principal)
    await bus.handle(commands.SignConsent(str(consent_id), body.signed_document_sha256))
    return ConsentCreated(consent_id=str(consent_id), state="active")


@router.post("/{consent_id}/revocation", response_model=RevocationOut)
async def revoke_consent(
    consent_id: UUID, principal: CaseManager, bus: Bus, engine: Engine, body: RevocationIn | None = None
) -> RevocationOut:
    """Revoke the whole consent or one recipient's grant; every read that starts afterwards is refused."""
    await visible_consent(engine, consent_id, principal)
    recipient = body.recipient_agency if body else None
    await bus.handle(commands.RevokeConsent(str(consent_id), recipient))
    return RevocationOut(consent_id=str(consent_id), recipient_agency=recipient)
