"""Event handlers for the OWG agenda's read model (listed in `Handlers.subscriptions`).

Each keeps one fact the meeting needs: the site's look-back, where each person stands, lapsed windows until the
prosecutor decides or the OWG extends, cases awaiting review and reviews due again, and the case-plan summary.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from divert_contracts.casemgmt import (
    ContactLogged,
    EnrolmentChanged,
    IntakeDeadlineExtended,
    InterventionPlanUpdated,
)
from divert_contracts.prosecution import (
    ChargeHeld,
    DivertedChargeClosed,
    HeldChargeDeadlineMoved,
    HeldChargeFiled,
    HeldChargeNotFiled,
    IntakeDeadlineLapsed,
    LegacyCaseRegistered,
    LegacyCaseReviewed,
)
from divert_contracts.referral import EligibilityPolicyAmended
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.events import Event
from divert_kernel.uow import UnitOfWork
from referral.adapters import owg_projection as projection

Handler = Callable[[UnitOfWork, ReceivedEvent], Awaitable[None]]
E = TypeVar("E", bound=Event)


def chain(*handlers: Handler) -> Handler:
    """One subscription entry for an event more than one projection needs, applied in one transaction."""

    async def each(uow: UnitOfWork, received: ReceivedEvent) -> None:
        for handler in handlers:
            await handler(uow, received)

    return each


def _event(received: ReceivedEvent, kind: type[E]) -> E:
    event = received.event
    assert isinstance(event, kind)
    return event


async def site_settings(uow: UnitOfWork, received: ReceivedEvent) -> None:
    amended = _event(received, EligibilityPolicyAmended)
    await projection.site_settings(
        uow.conn,
        received.jurisdiction,
        lookback_days=amended.owg_lookback_days,
        time_zone=amended.time_zone,
        policy_version=amended.policy_version,
    )


async def enrolment_changed(uow: UnitOfWork, received: ReceivedEvent) -> None:
    change = _event(received, EnrolmentChanged)
    await projection.enrolment(
        uow.conn,
        received.jurisdiction,
        change.participant_id,
        change.enrolment,
        change.not_enrolled_reason,
        change.changed_at,
    )


async def charge_held(uow: UnitOfWork, received: ReceivedEvent) -> None:
    held = _event(received, ChargeHeld)
    await projection.charge_held(
        uow.conn, received.jurisdiction, held.referral_id, held.participant_id, held.prosecutor_agency
    )


async def intake_lapsed(uow: UnitOfWork, received: ReceivedEvent) -> None:
    lapse = _event(received, IntakeDeadlineLapsed)
    await projection.lapsed(
        uow.conn, received.jurisdiction, lapse.referral_id, lapse.participant_id, lapse.intake_deadline, lapse.lapsed_at
    )


async def charge_filed(uow: UnitOfWork, received: ReceivedEvent) -> None:
    filed = _event(received, HeldChargeFiled)
    await projection.resolved(
        uow.conn, received.jurisdiction, filed.referral_id, filed.participant_id, "filed", filed.filed_at
    )


async def charge_not_filed(uow: UnitOfWork, received: ReceivedEvent) -> None:
    decided = _event(received, HeldChargeNotFiled)
    await projection.resolved(
        uow.conn, received.jurisdiction, decided.referral_id, decided.participant_id, "not_filed", decided.decided_at
    )


async def charge_closed(uow: UnitOfWork, received: ReceivedEvent) -> None:
    """A late intake, while the prosecutor had not decided, closes the charge: nothing left to decide."""
    closed = _event(received, DivertedChargeClosed)
    await projection.resolved(
        uow.conn, received.jurisdiction, closed.referral_id, closed.participant_id, "closed", closed.closed_at
    )


async def deadline_moved(uow: UnitOfWork, received: ReceivedEvent) -> None:
    moved = _event(received, HeldChargeDeadlineMoved)
    await projection.resolved(
        uow.conn, received.jurisdiction, moved.referral_id, moved.participant_id, "extended", moved.moved_at
    )


async def intake_extended(uow: UnitOfWork, received: ReceivedEvent) -> None:
    extension = _event(received, IntakeDeadlineExtended)
    for referral_id in extension.referral_ids:
        await projection.resolved(
            uow.conn, received.jurisdiction, referral_id, extension.participant_id, "extended", extension.extended_at
        )


async def case_registered(uow: UnitOfWork, received: ReceivedEvent) -> None:
    case = _event(received, LegacyCaseRegistered)
    await projection.case_registered(
        uow.conn,
        received.jurisdiction,
        case_id=case.case_id,
        participant_id=case.participant_id,
        agency=case.agency or received.actor.agency,
        kind=case.kind,
        docket_number=case.docket_number,
        court=case.court,
        charge_codes=list(case.offense_codes),
        filed_at=case.filed_at,
        registered_at=case.registered_at,
    )


async def case_reviewed(uow: UnitOfWork, received: ReceivedEvent) -> None:
    review = _event(received, LegacyCaseReviewed)
    await projection.case_reviewed(
        uow.conn,
        received.jurisdiction,
        case_id=review.case_id,
        participant_id=review.participant_id,
        decision=review.decision,
        reviewed_at=review.reviewed_at,
        follow_up_on=review.follow_up_on,
    )


async def plan_updated(uow: UnitOfWork, received: ReceivedEvent) -> None:
    plan = _event(received, InterventionPlanUpdated)
    await projection.plan(
        uow.conn, received.jurisdiction, plan.participant_id, plan.plan_version, plan.goal_count, plan.updated_at
    )


async def contact_logged(uow: UnitOfWork, received: ReceivedEvent) -> None:
    contact = _event(received, ContactLogged)
    await projection.contact(
        uow.conn, received.jurisdiction, contact.contact_id, contact.participant_id, contact.occurred_on
    )
