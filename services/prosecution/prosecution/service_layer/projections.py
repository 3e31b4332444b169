"""The prosecution read models as projections of events: the charge and case events this service records, and
the referral and case-management events it consumes. Run by the unit of work in the transaction that appends
or consumes each event, and replayed by `divert projections rebuild prosecution`."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncConnection

from divert_contracts.casemgmt import EnrolmentChanged, IntakeCompleted, ParticipantStatusChanged
from divert_contracts.prosecution import (
    ChargeHeld,
    CourtDateScheduled,
    DivertedChargeClosed,
    HeldChargeDeadlineMoved,
    HeldChargeFiled,
    HeldChargeNotFiled,
    HeldChargeReturned,
    IntakeDeadlineLapsed,
    LegacyCaseRegistered,
    LegacyCaseReviewed,
)
from divert_contracts.referral import (
    DiversionOffered,
    EligibilityPolicyAmended,
    ParticipantsLinked,
    SocialContactReferralSubmitted,
)
from divert_kernel.projection import Fact, Projections
from prosecution.adapters import cases, held_charges, standing
from prosecution.domain.model import CLOSED_FOR_GOOD
from prosecution.domain.standing import zone_named

log = logging.getLogger("divert.prosecution")

# Registered by bootstrap (the service's unit of work runs them); the rebuild takes them from here.
projections = Projections(
    service="prosecution",
    # Parents before children: the swap of a rebuild inserts in this order.
    tables=(
        "held_charges",
        "completed_intakes",
        "known_participants",
        "participant_standing",
        "participant_links",
        "site_time_zones",
        "cases",
        "case_reviews",
        "court_dates",
    ),
    records=("case_records", "case_review_records"),
)


@projections.on(ChargeHeld)
async def charge_held(conn: AsyncConnection, fact: Fact) -> None:
    held = fact.event
    assert isinstance(held, ChargeHeld)
    await held_charges.add(
        conn,
        referral_id=held.referral_id,
        jurisdiction=fact.jurisdiction,
        participant_id=held.participant_id,
        offense_codes=list(held.offense_codes),
        intake_deadline=held.intake_deadline,
        held_at=held.held_at,
        charging_reference=held.charging_reference,
        prosecutor_agency=held.prosecutor_agency,
    )


@projections.on(
    DivertedChargeClosed,
    HeldChargeDeadlineMoved,
    IntakeDeadlineLapsed,
    HeldChargeReturned,
    HeldChargeFiled,
    HeldChargeNotFiled,
)
async def charge_changed(conn: AsyncConnection, fact: Fact) -> None:
    e = fact.event
    if isinstance(e, DivertedChargeClosed):
        await held_charges.sync(conn, e.referral_id, CLOSED_FOR_GOOD[e.reason], e.closed_at)
    elif isinstance(e, HeldChargeDeadlineMoved):
        await held_charges.sync(conn, e.referral_id, "held", e.moved_at, e.intake_deadline)
    elif isinstance(e, IntakeDeadlineLapsed):
        await held_charges.sync(conn, e.referral_id, "lapsed", e.lapsed_at)
    elif isinstance(e, HeldChargeReturned):
        await held_charges.sync(conn, e.referral_id, "returned_to_ordinary_processing", e.returned_at)
    elif isinstance(e, HeldChargeFiled):
        await held_charges.sync(conn, e.referral_id, "filed", e.filed_at)
    elif isinstance(e, HeldChargeNotFiled):
        await held_charges.sync(conn, e.referral_id, "not_filed", e.decided_at)


@projections.on(LegacyCaseRegistered)
async def case_registered(conn: AsyncConnection, fact: Fact) -> None:
    assert isinstance(fact.event, LegacyCaseRegistered)
    await cases.project_case(conn, fact.event, fact.jurisdiction)


@projections.on(LegacyCaseReviewed)
async def case_reviewed(conn: AsyncConnection, fact: Fact) -> None:
    assert isinstance(fact.event, LegacyCaseReviewed)
    await cases.project_review(conn, fact.event, fact.version, fact.position)


@projections.on(CourtDateScheduled)
async def court_date_scheduled(conn: AsyncConnection, fact: Fact) -> None:
    assert isinstance(fact.event, CourtDateScheduled)
    await cases.project_court_date(conn, fact.event, fact.jurisdiction)


@projections.on(DiversionOffered, SocialContactReferralSubmitted)
async def participant_referred(conn: AsyncConnection, fact: Fact) -> None:
    assert isinstance(fact.event, (DiversionOffered, SocialContactReferralSubmitted))
    await standing.lock_site(conn, fact.jurisdiction)
    await held_charges.know_participant(conn, fact.event.participant_id, fact.jurisdiction)


@projections.on(IntakeCompleted)
async def intake_completed(conn: AsyncConnection, fact: Fact) -> None:
    intake = fact.event
    assert isinstance(intake, IntakeCompleted)
    # Offers, intakes, enrolment changes and links of one site are taken in one at a time (see standing.py).
    await standing.lock_site(conn, fact.jurisdiction)
    await held_charges.lock_referrals(conn, intake.referral_ids)
    await held_charges.note_intake(conn, intake.participant_id, intake.referral_ids, intake.completed_at)
    await take_in(conn, fact, intake.participant_id)


@projections.on(EnrolmentChanged, ParticipantStatusChanged)
async def standing_changed(conn: AsyncConnection, fact: Fact) -> None:
    assert isinstance(fact.event, (EnrolmentChanged, ParticipantStatusChanged))
    await standing.lock_site(conn, fact.jurisdiction)
    await take_in(conn, fact, fact.event.participant_id)


async def take_in(conn: AsyncConnection, fact: Fact, participant_id: str) -> None:
    """Record what case management said of the participant, unless we already hold a newer fact."""
    current = await standing.standing(conn, fact.jurisdiction, participant_id)
    updated = current.after(fact.event, fact.time)
    if updated != current:
        await standing.put_standing(conn, fact.jurisdiction, participant_id, updated)


@projections.on(ParticipantsLinked)
async def participants_linked(conn: AsyncConnection, fact: Fact) -> None:
    linked = fact.event
    assert isinstance(linked, ParticipantsLinked)
    survivor, merged = linked.survivor_participant_id, linked.merged_participant_id
    if survivor == merged:
        return
    await standing.lock_site(conn, fact.jurisdiction)
    if await standing.link(conn, fact.jurisdiction, survivor, merged, linked.review_id, linked.linked_at):
        # The survivor is a participant of this site, whichever record's referral reached us first.
        await held_charges.know_participant(conn, survivor, fact.jurisdiction)


@projections.on(EligibilityPolicyAmended)
async def policy_amended(conn: AsyncConnection, fact: Fact) -> None:
    policy = fact.event
    assert isinstance(policy, EligibilityPolicyAmended)
    if zone_named(policy.time_zone) is None:
        # Kept out of the read model: the site directory's zone (or UTC) stays in force.
        log.warning(
            "policy_time_zone_unknown",
            extra={"policy_version": policy.policy_version, "jurisdiction": fact.jurisdiction},
        )
        return
    await standing.put_time_zone(conn, fact.jurisdiction, policy.policy_version, policy.time_zone)
