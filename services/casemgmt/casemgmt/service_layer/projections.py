"""Case management's read models as projections of events: the participant case events this service records,
and the referral events it consumes (hand-offs, person matches, site policies). Run by the unit of work in the
transaction that appends or consumes each event, and replayed by `divert projections rebuild casemgmt`.

Not projections: the records the command handlers keep because events must not carry them (the consent to take
part and its document hash, screening forms, plans, contact notes, intake extensions with their reasons).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from casemgmt.adapters import links, site_settings, store
from casemgmt.domain.model import ParticipantCase
from divert_contracts.casemgmt import (
    CaseManagerAssigned,
    CaseMerged,
    CaseOpened,
    EnrolmentChanged,
    IntakeCompleted,
    IntakeDeadlineExtended,
    ParticipantStatusChanged,
    ReferralStateChanged,
)
from divert_contracts.referral import EligibilityPolicyAmended, ParticipantsLinked, WarmHandoffCompleted
from divert_kernel import eventstore
from divert_kernel.projection import Fact, Projections

projections = Projections(
    service="casemgmt",
    # Parents before children: the swap of a rebuild inserts in this order.
    tables=("participants", "participant_referrals", "participant_aliases", "site_settings"),
    records=("consent_to_participate", "intake_extensions", "initial_screenings", "plan_versions", "contacts"),
)


# Registered first: the rows below refer to the participant's row.
@projections.on(
    CaseOpened,
    ReferralStateChanged,
    EnrolmentChanged,
    CaseMerged,
    IntakeCompleted,
    IntakeDeadlineExtended,
    CaseManagerAssigned,
    ParticipantStatusChanged,
)
async def mirror(conn: AsyncConnection, fact: Fact) -> None:
    """The participant's row as of this event: its stream replayed up to it."""
    stream_id = f"{ParticipantCase.stream_prefix}-{fact.subject}"
    _, history = await eventstore.load(conn, "casemgmt", stream_id, upto=fact.version)
    case = ParticipantCase.replay(fact.subject, fact.jurisdiction, history)
    await store.save_case(conn, case, fact.time)  # type: ignore[arg-type]


@projections.on(CaseOpened)
async def case_opened(conn: AsyncConnection, fact: Fact) -> None:
    e = fact.event
    assert isinstance(e, CaseOpened)
    await store.record_referral(
        conn, e.participant_id, e.referral_id, e.referral_type, e.intake_deadline, e.intake_target
    )


@projections.on(IntakeCompleted)
async def intake_completed(conn: AsyncConnection, fact: Fact) -> None:
    assert isinstance(fact.event, IntakeCompleted)
    await store.complete_referrals(conn, fact.event.referral_ids, fact.event.completed_at)


@projections.on(ParticipantStatusChanged)
async def status_changed(conn: AsyncConnection, fact: Fact) -> None:
    assert isinstance(fact.event, ParticipantStatusChanged)
    await store.record_status_reason(conn, fact.event.participant_id, fact.event.reason)


@projections.on(CaseMerged)
async def case_merged(conn: AsyncConnection, fact: Fact) -> None:
    assert isinstance(fact.event, CaseMerged)
    await links.move_rows(conn, fact.event.merged_participant_id, fact.event.participant_id)


@projections.on(WarmHandoffCompleted)
async def handed_off(conn: AsyncConnection, fact: Fact) -> None:
    """The provider named in the latest hand-off holds the records from now on (None: no provider yet)."""
    handoff = fact.event
    assert isinstance(handoff, WarmHandoffCompleted)
    participant_id = await links.survivor(conn, handoff.participant_id)
    await store.record_holder(conn, participant_id, handoff.case_management_agency, fact.time)


@projections.on(ParticipantsLinked)
async def linked(conn: AsyncConnection, fact: Fact) -> None:
    """A person match: the merged id answers for the survivor from now on."""
    event = fact.event
    assert isinstance(event, ParticipantsLinked)
    survivor_id = await links.survivor(conn, event.survivor_participant_id)
    if event.merged_participant_id != survivor_id:
        await links.link(conn, event.merged_participant_id, survivor_id, event.review_id, event.linked_at)


@projections.on(EligibilityPolicyAmended)
async def policy_amended(conn: AsyncConnection, fact: Fact) -> None:
    assert isinstance(fact.event, EligibilityPolicyAmended)
    await site_settings.keep(conn, fact.jurisdiction, fact.event)
