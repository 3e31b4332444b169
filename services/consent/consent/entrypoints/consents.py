"""Thin routes: the Release of Information, held by the provider that holds the participant."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from consent.adapters import store
from consent.domain import commands
from consent.entrypoints.reads import SelfGate, check_read, owner_of
from consent.entrypoints.schemas import (
    ConsentCreated,
    ConsentIn,
    ConsentListOut,
    ConsentOut,
    ConsentVersion,
    RevocationIn,
    RevocationOut,
    SignatureIn,
)
from divert_contracts.vocabulary import Jurisdiction
from divert_kernel.auth import Principal
from divert_kernel.deps import AnyAgency, Bus, CaseManager, Engine
from divert_kernel.gate import ConsentGate

router = APIRouter(prefix="/v1/consents", tags=["consents"])


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


def requester(principal: Principal) -> commands.Requester:
    return commands.Requester(principal.agency, principal.jurisdictions)


async def readable_consent(engine: Engine, gate: ConsentGate, consent_id: UUID, principal: Principal) -> dict[str, Any]:
    """The consent, for its holder, an auditor, or whom the gate permits; else refused as if unknown."""
    async with engine.connect() as conn:
        row = await store.get_consent(conn, str(consent_id))
        owner = await owner_of(conn, row["jurisdiction"], row["participant_id"]) if row else None
    await check_read(gate, principal, owner, row["participant_id"] if row else str(consent_id))
    assert row is not None  # check_read refuses an unknown consent
    return row


@router.post("", status_code=201, response_model=ConsentCreated)
async def record_consent(body: ConsentIn, principal: CaseManager, bus: Bus) -> ConsentCreated:
    """Record a signed ROI (ConsentGranted), or a draft to read to the participant before signing; only the
    provider holding the participant may, naming agencies of the site."""
    command = record_command(body, principal)
    consent_id = await bus.handle(command)
    return ConsentCreated(consent_id=consent_id, state="draft" if command.draft else "active")


@router.get("", response_model=ConsentListOut)
async def participant_consents(
    principal: AnyAgency,
    engine: Engine,
    gate: SelfGate,
    participant_id: Annotated[UUID, Query()],
    jurisdiction: Annotated[Jurisdiction, Query()],
) -> ConsentListOut:
    """A participant's consents, newest first: for the provider holding the participant (and auditors); others
    through the gate, and an unknown participant reads exactly like a withheld one."""
    async with engine.connect() as conn:
        rows = await store.consents_of(conn, str(participant_id), jurisdiction)
        owner = await owner_of(conn, jurisdiction, str(participant_id))
    known = owner if (rows or owner.agency is not None) else None
    await check_read(gate, principal, known, str(participant_id))
    return ConsentListOut(items=[ConsentOut(**r) for r in rows])


@router.get("/{consent_id}", response_model=ConsentOut)
async def get_consent(consent_id: UUID, principal: AnyAgency, engine: Engine, gate: SelfGate) -> ConsentOut:
    """The consent with every grant, its state and its revocations."""
    return ConsentOut(**await readable_consent(engine, gate, consent_id, principal))


@router.get("/{consent_id}/versions", response_model=list[ConsentVersion])
async def consent_versions(
    consent_id: UUID, principal: AnyAgency, engine: Engine, gate: SelfGate
) -> list[ConsentVersion]:
    """Every version of the consent, oldest first: drafted, signed, revoked (per recipient), expired."""
    await readable_consent(engine, gate, consent_id, principal)
    async with engine.connect() as conn:
        rows = await store.versions(conn, str(consent_id))
    return [
        ConsentVersion(version=r["version"], change=r["type"], recorded_at=r["recorded_at"], terms=r["data"])
        for r in rows
    ]


@router.post("/{consent_id}/signature", response_model=ConsentCreated)
async def sign_consent(consent_id: UUID, body: SignatureIn, principal: CaseManager, bus: Bus) -> ConsentCreated:
    """Sign a draft: from now on it is immutable and in force. Only the provider holding the participant may."""
    await bus.handle(commands.SignConsent(str(consent_id), body.signed_document_sha256, requester(principal)))
    return ConsentCreated(consent_id=str(consent_id), state="active")


@router.post("/{consent_id}/revocation", response_model=RevocationOut)
async def revoke_consent(
    consent_id: UUID, principal: CaseManager, bus: Bus, body: RevocationIn | None = None
) -> RevocationOut:
    """Revoke the whole consent or one recipient's grant; every read that starts afterwards is refused."""
    recipient = body.recipient_agency if body else None
    await bus.handle(commands.RevokeConsent(str(consent_id), recipient, requester(principal)))
    return RevocationOut(consent_id=str(consent_id), recipient_agency=recipient)
