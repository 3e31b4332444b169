"""The referral service's read models as projections of events: each referral's own events, the person links it
records, and what case management and the prosecutor publish for the Operations Work Group. Run by the unit of
work in the transaction that appends or consumes each event; replayed by `divert projections rebuild referral`.

Not projections: the person index (names, dates of birth, RMS ids, match reviews), policy documents, screenings,
discretion records and `referral_records`, all written by the command handlers and kept by a rebuild.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from divert_contracts import casemgmt, prosecution, referral
from divert_kernel import eventstore
from divert_kernel.projection import Fact, Projections
from referral.adapters import owg, people, referral_rows, store
from referral.adapters import owg_projection as agenda
from referral.domain.model import Referral

projections = Projections(
    service="referral",
    tables=(
        "referrals",
        "participant_links",
        "participant_enrolment",
        "program_capacity",
        "owg_items",
        "owg_settings",
        "owg_enrolment",
        "owg_charges",
        "owg_cases",
        "owg_plans",
        "owg_contacts",
    ),
    records=(
        "persons",
        "person_rms_ids",
        "person_match_reviews",
        "eligibility_policies",
        "screenings",
        "discretion_records",
        "referral_records",
    ),
)


async def _status(conn: AsyncConnection, fact: Fact) -> str:
    """The referral's status as of this event: its stream replayed up to it."""
    _, history = await eventstore.load(conn, "referral", f"{Referral.stream_prefix}-{fact.subject}", upto=fact.version)
    return Referral.replay(fact.subject, fact.jurisdiction, history).status  # type: ignore[attr-defined,no-any-return]


@projections.on(referral.DiversionOffered, referral.SocialContactReferralSubmitted)
async def submitted(conn: AsyncConnection, fact: Fact) -> None:
    e = fact.event
    assert isinstance(e, referral.DiversionOffered | referral.SocialContactReferralSubmitted)
    await referral_rows.add(
        conn,
        referral_id=e.referral_id,
        jurisdiction=fact.jurisdiction,
        participant_id=e.participant_id,
        referral_type=e.referral_type,
        status=await _status(conn, fact),
        referring_agency=e.referring_agency,
        officer_badge=e.officer_badge,
        intake_deadline=e.intake_deadline if isinstance(e, referral.DiversionOffered) else None,
        policy_version=e.policy_version,
        created_at=e.offered_at if isinstance(e, referral.DiversionOffered) else e.submitted_at,
    )


@projections.on(referral.DiversionAccepted, referral.SocialContactReferralReleased)
async def status_changed(conn: AsyncConnection, fact: Fact) -> None:
    await referral_rows.change(conn, "status", referral_id=fact.subject, status=await _status(conn, fact))


@projections.on(referral.DiversionDeclined)
async def declined(conn: AsyncConnection, fact: Fact) -> None:
    await referral_rows.change(conn, "decline", referral_id=fact.subject, status=await _status(conn, fact))


@projections.on(referral.WarmHandoffCompleted)
async def handed_off(conn: AsyncConnection, fact: Fact) -> None:
    e = fact.event
    assert isinstance(e, referral.WarmHandoffCompleted)
    await referral_rows.change(
        conn,
        "handoff",
        referral_id=e.referral_id,
        status=await _status(conn, fact),
        case_manager_id=e.case_manager_id,
        agency=e.case_management_agency,
        at=e.completed_at,
    )


@projections.on(referral.SocialContactReferralApproved, referral.SocialContactReferralDenied)
async def owg_decided(conn: AsyncConnection, fact: Fact) -> None:
    e = fact.event
    assert isinstance(e, referral.SocialContactReferralApproved | referral.SocialContactReferralDenied)
    status = await _status(conn, fact)
    await referral_rows.change(
        conn, "owg", referral_id=e.referral_id, status=status, decided_by=e.decided_by, at=e.decided_at
    )


@projections.on(referral.ParticipantsLinked)
async def linked(conn: AsyncConnection, fact: Fact) -> None:
    assert isinstance(fact.event, referral.ParticipantsLinked)
    await people.link(conn, fact.jurisdiction, fact.event)


@projections.on(referral.EligibilityPolicyAmended)
async def policy_amended(conn: AsyncConnection, fact: Fact) -> None:
    e = fact.event
    assert isinstance(e, referral.EligibilityPolicyAmended)
    await agenda.site_settings(
        conn,
        fact.jurisdiction,
        lookback_days=e.owg_lookback_days,
        time_zone=e.time_zone,
        policy_version=e.policy_version,
    )


@projections.on(casemgmt.IntakeCompleted)
async def intake_completed(conn: AsyncConnection, fact: Fact) -> None:
    assert isinstance(fact.event, casemgmt.IntakeCompleted)
    await owg.intake_completed(conn, fact.event.referral_ids, fact.event.completed_at)


@projections.on(casemgmt.IntakeDeadlineExtended)
async def intake_extended(conn: AsyncConnection, fact: Fact) -> None:
    e = fact.event
    assert isinstance(e, casemgmt.IntakeDeadlineExtended)
    await owg.deadline_moved(conn, e.referral_ids, e.intake_deadline)
    detail = {
        "intake_deadline": e.intake_deadline,
        "granted_by": e.granted_by,
        "law_enforcement_agency": e.law_enforcement_agency,
    }
    await owg.add_item(
        conn, fact.event_id, fact.jurisdiction, "extension", e.participant_id, detail, e.extended_at,
        owner_agency=fact.actor.agency,
    )  # fmt: skip
    for referral_id in e.referral_ids:
        await agenda.resolved(conn, fact.jurisdiction, referral_id, e.participant_id, "extended", e.extended_at)


@projections.on(casemgmt.CaseManagerAssigned)
async def case_manager_assigned(conn: AsyncConnection, fact: Fact) -> None:
    assert isinstance(fact.event, casemgmt.CaseManagerAssigned)
    await owg.case_manager(conn, fact.event.participant_id, fact.event.case_manager_id)


@projections.on(casemgmt.ProgramCapacityChanged)
async def capacity_changed(conn: AsyncConnection, fact: Fact) -> None:
    e = fact.event
    assert isinstance(e, casemgmt.ProgramCapacityChanged)
    await owg.set_capacity(conn, fact.jurisdiction, e.active_participants, e.capacity, e.changed_at)


@projections.on(casemgmt.EnrolmentChanged)
async def enrolment_changed(conn: AsyncConnection, fact: Fact) -> None:
    """Where the person stands: for the officer's field lookup and caseload, and for the OWG agenda."""
    e = fact.event
    assert isinstance(e, casemgmt.EnrolmentChanged)
    participant_id = await store.survivor(conn, e.participant_id)
    await people.enrolment(conn, participant_id, e.enrolment, e.not_enrolled_reason, e.changed_at)
    await agenda.enrolment(conn, fact.jurisdiction, e.participant_id, e.enrolment, e.not_enrolled_reason, e.changed_at)


@projections.on(casemgmt.InterventionPlanUpdated)
async def plan_updated(conn: AsyncConnection, fact: Fact) -> None:
    e = fact.event
    assert isinstance(e, casemgmt.InterventionPlanUpdated)
    await agenda.plan(conn, fact.jurisdiction, e.participant_id, e.plan_version, e.goal_count, e.updated_at)


@projections.on(casemgmt.ContactLogged)
async def contact_logged(conn: AsyncConnection, fact: Fact) -> None:
    e = fact.event
    assert isinstance(e, casemgmt.ContactLogged)
    await agenda.contact(conn, fact.jurisdiction, e.contact_id, e.participant_id, e.occurred_on)


@projections.on(prosecution.LegacyCaseRegistered)
async def case_registered(conn: AsyncConnection, fact: Fact) -> None:
    case = fact.event
    assert isinstance(case, prosecution.LegacyCaseRegistered)
    await agenda.case_registered(
        conn,
        fact.jurisdiction,
        case_id=case.case_id,
        participant_id=case.participant_id,
        agency=case.agency or fact.actor.agency,
        kind=case.kind,
        docket_number=case.docket_number,
        court=case.court,
        charge_codes=list(case.offense_codes),
        filed_at=case.filed_at,
        registered_at=case.registered_at,
    )


@projections.on(prosecution.LegacyCaseReviewed)
async def case_reviewed(conn: AsyncConnection, fact: Fact) -> None:
    review = fact.event
    assert isinstance(review, prosecution.LegacyCaseReviewed)
    detail = {"case_id": review.case_id, "decision": review.decision}
    await owg.add_item(
        conn, fact.event_id, fact.jurisdiction, "case_review", review.participant_id, detail, review.reviewed_at,
        owner_agency=fact.actor.agency,
    )  # fmt: skip
    await agenda.case_reviewed(
        conn,
        fact.jurisdiction,
        case_id=review.case_id,
        participant_id=review.participant_id,
        decision=review.decision,
        reviewed_at=review.reviewed_at,
        follow_up_on=review.follow_up_on,
    )


@projections.on(prosecution.ChargeHeld)
async def charge_held(conn: AsyncConnection, fact: Fact) -> None:
    held = fact.event
    assert isinstance(held, prosecution.ChargeHeld)
    await agenda.charge_held(conn, fact.jurisdiction, held.referral_id, held.participant_id, held.prosecutor_agency)


@projections.on(prosecution.IntakeDeadlineLapsed)
async def intake_lapsed(conn: AsyncConnection, fact: Fact) -> None:
    e = fact.event
    assert isinstance(e, prosecution.IntakeDeadlineLapsed)
    await agenda.lapsed(conn, fact.jurisdiction, e.referral_id, e.participant_id, e.intake_deadline, e.lapsed_at)


@projections.on(
    prosecution.HeldChargeFiled,
    prosecution.HeldChargeNotFiled,
    prosecution.DivertedChargeClosed,
    prosecution.HeldChargeDeadlineMoved,
)
async def charge_resolved(conn: AsyncConnection, fact: Fact) -> None:
    """Filed, not filed, closed by a late intake, or extended: nothing left for the OWG to decide."""
    e = fact.event
    if isinstance(e, prosecution.HeldChargeFiled):
        resolution, at = "filed", e.filed_at
    elif isinstance(e, prosecution.HeldChargeNotFiled):
        resolution, at = "not_filed", e.decided_at
    elif isinstance(e, prosecution.DivertedChargeClosed):
        resolution, at = "closed", e.closed_at
    else:
        assert isinstance(e, prosecution.HeldChargeDeadlineMoved)
        resolution, at = "extended", e.moved_at
    await agenda.resolved(conn, fact.jurisdiction, e.referral_id, e.participant_id, resolution, at)
