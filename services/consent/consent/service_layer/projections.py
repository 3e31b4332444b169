"""The consent read models as projections of events: the consent, MOU, break-glass and decision events this service
records, and the referral and prosecution events that tell it who a participant is and who holds one. Run by the
unit of work in the transaction that appends or consumes each event; replayed by `divert projections rebuild
consent`. The written reasons for break-glass never travel in an event: they are records (`break_glass_reasons`),
written by the command and kept by a rebuild."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from consent.adapters import aliases, decisions, participants, relations, store
from consent.domain.mou import CHARGE_HOLDER
from divert_contracts.consent import (
    AccessDecided,
    BreakGlassInvoked,
    ConsentDrafted,
    ConsentExpired,
    ConsentGranted,
    ConsentRevoked,
    SiteMouRecorded,
)
from divert_contracts.prosecution import ChargeHeld
from divert_contracts.referral import (
    DiversionOffered,
    ParticipantsLinked,
    SocialContactReferralSubmitted,
    WarmHandoffCompleted,
)
from divert_kernel.projection import Fact, Projections

# Registered by bootstrap (the service's unit of work runs them); the rebuild takes them from here.
projections = Projections(
    service="consent",
    # Parents before children: the swap of a rebuild inserts in this order.
    tables=(
        "consents",
        "consent_grants",
        "access_decisions",
        "break_glass",
        "known_participants",
        "participant_relations",
        "participant_aliases",
        "site_mou_versions",
    ),
    records=("break_glass_reasons",),
)


@projections.on(ConsentDrafted, ConsentGranted)
async def consent_recorded(conn: AsyncConnection, fact: Fact) -> None:
    terms = fact.event
    assert isinstance(terms, (ConsentDrafted, ConsentGranted))
    # The disclosing agency is the provider that recorded it (the event's actor); its record time, the event's.
    await store.add_consent(conn, terms, fact.jurisdiction, fact.actor.agency, fact.time)


@projections.on(ConsentRevoked)
async def consent_revoked(conn: AsyncConnection, fact: Fact) -> None:
    revoked = fact.event
    assert isinstance(revoked, ConsentRevoked)
    await store.revoke(conn, revoked.consent_id, revoked.recipient_agency, revoked.revoked_at)


@projections.on(ConsentExpired)
async def consent_expired(conn: AsyncConnection, fact: Fact) -> None:
    expired = fact.event
    assert isinstance(expired, ConsentExpired)
    await store.expire(conn, expired.consent_id, expired.expired_at)


@projections.on(SiteMouRecorded)
async def mou_recorded(conn: AsyncConnection, fact: Fact) -> None:
    mou = fact.event
    assert isinstance(mou, SiteMouRecorded)
    terms = [t.model_dump(mode="json") for t in mou.terms]
    await relations.add_mou(conn, fact.jurisdiction, mou.version, mou.approved_by, terms, mou.recorded_at)


@projections.on(BreakGlassInvoked)
async def break_glass_invoked(conn: AsyncConnection, fact: Fact) -> None:
    assert isinstance(fact.event, BreakGlassInvoked)
    await decisions.add_break_glass(conn, fact.event, fact.jurisdiction)


@projections.on_each_run(AccessDecided)
async def access_decided(conn: AsyncConnection, facts: Sequence[Fact]) -> None:
    """A batch of decisions (up to 1000 in one append) is one multi-row insert, as before it was a projection."""
    await decisions.add_decisions(conn, facts)


@projections.on(DiversionOffered, SocialContactReferralSubmitted)
async def participant_referred(conn: AsyncConnection, fact: Fact) -> None:
    """A referral makes the person a participant of its jurisdiction."""
    assert isinstance(fact.event, (DiversionOffered, SocialContactReferralSubmitted))
    await participants.note(conn, fact.jurisdiction, fact.event.participant_id, fact.time)


@projections.on(WarmHandoffCompleted)
async def handed_off(conn: AsyncConnection, fact: Fact) -> None:
    """The provider named in the newest hand-off holds the participant (its agency checked by the handler)."""
    handoff = fact.event
    assert isinstance(handoff, WarmHandoffCompleted)
    if handoff.case_management_agency is None:  # recorded before hand-offs named the provider: nobody holds it
        return
    lock = not fact.replaying
    participant_id = await aliases.resolve(conn, fact.jurisdiction, handoff.participant_id, lock=lock)
    await relations.set_handoff_provider(
        conn,
        fact.jurisdiction,
        participant_id,
        handoff.case_management_agency,
        handoff.completed_at,
        fact.event_id,
        lock=lock,
    )


@projections.on(ChargeHeld)
async def charge_held(conn: AsyncConnection, fact: Fact) -> None:
    """The office holding a diverted charge stands in the charge-holder relation (checked by the handler)."""
    held = fact.event
    assert isinstance(held, ChargeHeld)
    if held.prosecutor_agency is None:
        return
    participant_id = await aliases.resolve(conn, fact.jurisdiction, held.participant_id, lock=not fact.replaying)
    await relations.add(
        conn, fact.jurisdiction, participant_id, CHARGE_HOLDER, held.prosecutor_agency, held.held_at, fact.event_id
    )


@projections.on(ParticipantsLinked)
async def participants_linked(conn: AsyncConnection, fact: Fact) -> None:
    """A person match: the merged record's consents, relations and break-glass become the survivor's."""
    linked = fact.event
    assert isinstance(linked, ParticipantsLinked)
    await aliases.link(
        conn,
        fact.jurisdiction,
        linked.survivor_participant_id,
        linked.merged_participant_id,
        linked.review_id,
        linked.linked_at,
        fact.event_id,
        lock=not fact.replaying,
    )
