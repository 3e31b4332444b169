"""Thin routes: the Release of Information, held by the provider that holds the participant."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from consent.adapters import aliases, store
from consent.domain import commands, enrolment
from consent.entrypoints.reads import SelfGate, as_recipient, check_read, owner_of
from consent.entrypoints.schemas import (
    ConsentCreated,
    ConsentIn,
    ConsentListOut,
    ConsentOut,
    ConsentVersion,
    RevocationIn,
    RevocationOut,
    RoiOnFileIn,
    RoiOnFileOut,
    SignatureIn,
)
from divert_contracts.vocabulary import Jurisdiction
from divert_kernel.access import owns
from divert_kernel.auth import Principal
from divert_kernel.deps import AnyAgency, Bus, CaseManager, CurrentClock, Engine
from divert_kernel.gate import ConsentGate, not_permitted
from divert_kernel.listing import decode_cursor, encode_cursor

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


async def readable_consent(
    engine: Engine, gate: ConsentGate, consent_id: UUID, principal: Principal, *, whole: bool = False
) -> dict[str, Any]:
    """The consent, in full for its holder or an auditor; for a recipient the gate permits, only its own grants
    (and, with `whole`, nothing); else refused as if unknown."""
    async with engine.connect() as conn:
        row = await store.get_consent(conn, str(consent_id))
        owner = await owner_of(conn, row["jurisdiction"], row["participant_id"]) if row else None
    full = await check_read(gate, principal, owner, row["participant_id"] if row else str(consent_id))
    assert row is not None  # check_read refuses an unknown consent
    if full:
        return row
    seen = None if whole else as_recipient(row, principal.agency)
    if seen is None:
        raise not_permitted()
    return seen


@router.post("", status_code=201, response_model=ConsentCreated)
async def record_consent(body: ConsentIn, principal: CaseManager, bus: Bus, response: Response) -> ConsentCreated:
    """Record a signed ROI (ConsentGranted), or a draft to read to the participant before signing; only the
    provider holding the participant may, naming agencies of the site."""
    command = record_command(body, principal)
    consent_id = await bus.handle(command)
    response.headers["Location"] = f"/v1/consents/{consent_id}"
    return ConsentCreated(consent_id=consent_id, state="draft" if command.draft else "active")


@router.get("", response_model=ConsentListOut)
async def participant_consents(
    principal: AnyAgency,
    engine: Engine,
    gate: SelfGate,
    participant_id: Annotated[UUID, Query()],
    jurisdiction: Annotated[Jurisdiction, Query()],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> ConsentListOut:
    """A participant's consents, newest first, a page at a time: for the provider holding the participant (and
    auditors); others through the gate, and an unknown participant reads exactly like a withheld one."""
    after = decode_cursor(cursor)
    async with engine.connect() as conn:
        survivor = await aliases.survivor(conn, jurisdiction, str(participant_id))
        rows = await store.consents_of(conn, survivor, jurisdiction, after, limit + 1)
        owner = await owner_of(conn, jurisdiction, survivor)
    known = owner if (rows or owner.agency is not None) else None
    full = await check_read(gate, principal, known, survivor)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1]["consent_id"]) if len(rows) > limit else None
    if not full:
        # A recipient sees only the signed consents naming it, and of each only its own grants.
        page = [seen for r in page if (seen := as_recipient(r, principal.agency)) is not None]
        if not page and cursor is None:
            raise not_permitted()
    return ConsentListOut(items=[ConsentOut(**r) for r in page], next_cursor=next_cursor)


@router.post("/roi-on-file", response_model=RoiOnFileOut)
async def roi_on_file(body: RoiOnFileIn, principal: CaseManager, engine: Engine, clock: CurrentClock) -> RoiOnFileOut:
    """Whether a signed ROI in force names the provider holding the participant (the enrolment precondition).
    Only that provider is told; anyone else reads what an unknown participant reads. Nothing is disclosed, so
    nothing is recorded."""
    principal.check_jurisdiction(body.jurisdiction)
    async with engine.connect() as conn:
        survivor = await aliases.survivor(conn, body.jurisdiction, str(body.participant_id))
        if not owns(principal, await owner_of(conn, body.jurisdiction, survivor)):
            return RoiOnFileOut(on_file=False, consent_id=None, holder_known=False)
        grants = await store.grants_to(conn, survivor, body.jurisdiction, principal.agency)
    consent_id = enrolment.roi_on_file(grants, clock.now())
    return RoiOnFileOut(on_file=consent_id is not None, consent_id=consent_id, holder_known=True)


@router.get("/{consent_id}", response_model=ConsentOut)
async def get_consent(consent_id: UUID, principal: AnyAgency, engine: Engine, gate: SelfGate) -> ConsentOut:
    """The consent with every grant, its state and its revocations."""
    return ConsentOut(**await readable_consent(engine, gate, consent_id, principal))


@router.get("/{consent_id}/versions", response_model=list[ConsentVersion])
async def consent_versions(
    consent_id: UUID, principal: AnyAgency, engine: Engine, gate: SelfGate
) -> list[ConsentVersion]:
    """Every version of the consent, oldest first: drafted, signed, revoked (per recipient), expired. For the
    holder and auditors: each version carries every recipient's terms."""
    await readable_consent(engine, gate, consent_id, principal, whole=True)
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
