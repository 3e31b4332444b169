"""The prosecution read models as projections of events: the charge and case events this service records, and
the referral and case-management events it consumes. Run by the unit of work in the transaction that appends
or consumes each event, and replayed by `divert projections rebuild prosecution`."""

from __future__ import annotations

import logging
from collections.abc import Sequence

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


# Each batch projector names the only table it touches: a rebuild then hands it a whole page's facts of its types
# at once (Projections.on_each_batch); live, it takes each append's or consumed event's facts.
@projections.on_each_batch(ChargeHeld, tables=("held_charges",))
async def charges_held(conn: AsyncConnection, facts: Sequence[Fact]) -> None:
    charges = []
    for fact in facts:
        held = fact.event
        assert isinstance(held, ChargeHeld)
        charges.append(
            {
                "referral_id": held.referral_id,
                "jurisdiction": fact.jurisdiction,
                "participant_id": held.participant_id,
                "offense_codes": list(held.offense_codes),
                "intake_deadline": held.intake_deadline,
                "held_at": held.held_at,
                "charging_reference": held.charging_reference,
                "prosecutor_agency": held.prosecutor_agency,
            }
        )
    await held_charges.add_many(conn, charges)


async def _lock_sites(conn: AsyncConnection, facts: Sequence[Fact]) -> None:
    """Live writers of a site's standing take its lock (see standing.py); a rebuild's private copies need none."""
    for jurisdiction in sorted({f.jurisdiction for f in facts if not f.replaying}):
        await standing.lock_site(conn, jurisdiction)


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


@projections.on_each_batch(DiversionOffered, SocialContactReferralSubmitted, tables=("known_participants",))
async def participants_referred(conn: AsyncConnection, facts: Sequence[Fact]) -> None:
    await _lock_sites(conn, facts)
    known = []
    for fact in facts:
        assert isinstance(fact.event, (DiversionOffered, SocialContactReferralSubmitted))
        known.append((fact.event.participant_id, fact.jurisdiction))
    await held_charges.know_participants(conn, known)


@projections.on(IntakeCompleted)
async def intake_completed(conn: AsyncConnection, fact: Fact) -> None:
    intake = fact.event
    assert isinstance(intake, IntakeCompleted)
    # Offers, intakes, enrolment changes and links of one site are taken in one at a time (see standing.py).
    await standing.lock_site(conn, fact.jurisdiction)
    await held_charges.lock_referrals(conn, intake.referral_ids)
    await held_charges.note_intake(conn, intake.participant_id, intake.referral_ids, intake.completed_at)
    await take_in(conn, fact, intake.participant_id)


@projections.on_each_batch(EnrolmentChanged, ParticipantStatusChanged, tables=("participant_standing",))
async def standings_changed(conn: AsyncConnection, facts: Sequence[Fact]) -> None:
    """`take_in` for each fact in order: one read of every standing involved, one write of those that changed."""
    await _lock_sites(conn, facts)
    keys = []
    for fact in facts:
        assert isinstance(fact.event, (EnrolmentChanged, ParticipantStatusChanged))
        keys.append((fact.jurisdiction, fact.event.participant_id))
    held = await standing.standings_of(conn, list(dict.fromkeys(keys)))
    changed = {}
    for fact, key in zip(facts, keys, strict=True):
        updated = held[key].after(fact.event, fact.time)
        if updated != held[key]:
            held[key] = changed[key] = updated
    await standing.put_standings(conn, changed)


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
