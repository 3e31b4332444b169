"""One handler per command; event handlers for what police and case management publish; the lapse (a command, sent on a schedule).

Handlers decide and record events; they write no read model (prosecution.service_layer.projections does, from
the events). What events must not carry goes into the record tables here.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from uuid import uuid4

from divert_contracts.casemgmt import IntakeCompleted, IntakeDeadlineExtended
from divert_contracts.prosecution import ChargeHeld
from divert_contracts.referral import DiversionDeclined, DiversionOffered
from divert_kernel.clock import Clock
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.sites import Sites
from divert_kernel.uow import UnitOfWork
from prosecution.adapters import cases, held_charges, standing
from prosecution.domain import commands
from prosecution.domain.errors import CaseNotFound, HeldChargeNotFound, ParticipantNotYetKnown
from prosecution.domain.model import HeldCharge, ProsecutionCase
from prosecution.domain.standing import local_date
from prosecution.service_layer.people import People

log = logging.getLogger("divert.prosecution")


class Handlers:
    def __init__(self, clock: Clock, sites: Sites | None = None) -> None:
        self.clock = clock
        self.sites = sites or Sites()
        self.people = People(clock)

    def commands(self) -> dict[type, object]:
        return {
            commands.DecideHeldCharge: self.decide_held_charge,
            commands.RegisterCase: self.register_case,
            commands.ReviewCase: self.review_case,
            commands.ScheduleCourtDate: self.schedule_court_date,
            commands.LapseDueCharges: self.lapse_due,
        }

    def subscriptions(self) -> dict[str, dict[str, object]]:
        return {
            "referral": {
                "DiversionOffered": self.hold_diverted_charge,
                "SocialContactReferralSubmitted": self.projected_only,
                "DiversionDeclined": self.return_declined,
                "ParticipantsLinked": self.people.link,
                "EligibilityPolicyAmended": self.projected_only,
            },
            "casemgmt": {
                "IntakeCompleted": self.close_by_intake,
                "IntakeDeadlineExtended": self.extend_deadline,
                "EnrolmentChanged": self.people.standing_changed,
                "ParticipantStatusChanged": self.people.standing_changed,
            },
        }

    async def _charge(self, uow: UnitOfWork, referral_id: str) -> HeldCharge:
        charge = await uow.get(HeldCharge, referral_id)
        if charge is None:
            raise HeldChargeNotFound()
        return charge

    async def projected_only(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        """Nothing to decide: the event only feeds read models (projections, run by the consumer)."""

    async def decide_held_charge(self, cmd: commands.DecideHeldCharge, uow: UnitOfWork) -> str:
        charge = await self._charge(uow, cmd.referral_id)
        charge.decide(self.clock.now(), by_agency_type=cmd.decided_by_agency_type, file=cmd.file)
        return charge.status

    async def hold_diverted_charge(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        offer = received.event
        assert isinstance(offer, DiversionOffered)
        await standing.lock_site(uow.conn, received.jurisdiction)
        if offer.referral_type != "arrest_diversion":
            return  # a social-contact referral carries no charge at all
        await held_charges.lock_referrals(uow.conn, [offer.referral_id])
        now = self.clock.now()
        office = self._office(received.jurisdiction)
        held = ChargeHeld(
            referral_id=offer.referral_id,
            participant_id=offer.participant_id,
            offense_codes=offer.offense_codes,
            intake_deadline=offer.intake_deadline,
            held_at=now,
            charging_reference=offer.rms_incident_number,
            prosecutor_agency=office,
        )
        charge = HeldCharge.hold(held, received.jurisdiction)
        uow.add(charge)
        if await held_charges.intake_done(uow.conn, offer.referral_id):
            charge.close_by_intake(now)
        elif await self.people.in_program(uow, received.jurisdiction, offer.participant_id):
            charge.close_as_enrolled(now)  # already in the program: no new intake clock

    def _office(self, jurisdiction: str) -> str | None:
        """The site's prosecutor office, which holds every charge diverted in the jurisdiction."""
        site = self.sites.get(jurisdiction)
        office = site.prosecutor_office if site else None
        if office is None:
            # No one holds this charge.
            log.warning("prosecutor_office_unknown", extra={"jurisdiction": jurisdiction})
        return office

    async def return_declined(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        declined = received.event
        assert isinstance(declined, DiversionDeclined)
        await held_charges.lock_referrals(uow.conn, [declined.referral_id])
        charge = await uow.get(HeldCharge, declined.referral_id)
        if charge is not None and charge.jurisdiction == received.jurisdiction:
            charge.return_to_ordinary_processing(self.clock.now())

    async def close_by_intake(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        intake = received.event
        assert isinstance(intake, IntakeCompleted)
        await standing.lock_site(uow.conn, received.jurisdiction)
        await held_charges.lock_referrals(uow.conn, intake.referral_ids)
        _, person = await standing.person(uow.conn, received.jurisdiction, intake.participant_id)
        for referral_id in await held_charges.held_for(uow.conn, person, intake.referral_ids, received.jurisdiction):
            charge = await self._charge(uow, referral_id)
            charge.close_by_intake(self.clock.now())
        # Intake enrols the person (projections took that in): any other charge still held for them closes too.
        await self.people.close_if_in_program(uow, received.jurisdiction, intake.participant_id)

    async def extend_deadline(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        extension = received.event
        assert isinstance(extension, IntakeDeadlineExtended)
        await held_charges.lock_referrals(uow.conn, extension.referral_ids)
        _, person = await standing.person(uow.conn, received.jurisdiction, extension.participant_id)
        for referral_id in await held_charges.held_for(uow.conn, person, extension.referral_ids, received.jurisdiction):
            charge = await self._charge(uow, referral_id)
            charge.extend(extension.intake_deadline, self.clock.now())

    async def lapse_due(self, cmd: commands.LapseDueCharges, uow: UnitOfWork) -> int:
        """Record IntakeDeadlineLapsed for every held charge whose window passed at its site (local midnight);
        safe beside other replicas (a lost race is retried by the bus on fresh state)."""
        now = self.clock.now()
        lapsed = 0
        for jurisdiction in await held_charges.jurisdictions_holding(uow.conn):
            zone = await standing.site_zone(uow.conn, jurisdiction, self.sites)
            for referral_id in await held_charges.due_for_lapse(uow.conn, jurisdiction, local_date(now, zone)):
                charge = await self._charge(uow, referral_id)
                if charge.lapse_if_due(now, zone):
                    lapsed += 1
        return lapsed

    async def register_case(self, cmd: commands.RegisterCase, uow: UnitOfWork) -> str:
        jurisdiction = await held_charges.participant_jurisdiction(uow.conn, cmd.participant_id)
        if jurisdiction != cmd.jurisdiction:
            raise ParticipantNotYetKnown()
        # A merged record's case is the survivor's: every reader then finds it under the one person.
        cmd = replace(cmd, participant_id=await standing.survivor(uow.conn, jurisdiction, cmd.participant_id))
        case_id = str(uuid4())
        now = self.clock.now()
        uow.add(ProsecutionCase.register(case_id, cmd, now))
        await cases.keep_case_record(uow.conn, case_id, cmd)
        return case_id

    async def _case(self, uow: UnitOfWork, case_id: str) -> ProsecutionCase:
        case = await uow.get(ProsecutionCase, case_id)
        if case is None:
            raise CaseNotFound()
        return case

    async def review_case(self, cmd: commands.ReviewCase, uow: UnitOfWork) -> None:
        case = await self._case(uow, cmd.case_id)
        now = self.clock.now()
        today = local_date(now, await standing.site_zone(uow.conn, case.jurisdiction, self.sites))
        case.review(cmd.decision, now, today=today, follow_up_on=cmd.follow_up_on)
        await cases.keep_review_record(uow.conn, case.id, case.version, str(uuid4()), cmd.rationale, cmd.reviewed_by)

    async def schedule_court_date(self, cmd: commands.ScheduleCourtDate, uow: UnitOfWork) -> str:
        case = await self._case(uow, cmd.case_id)
        court_date_id = str(uuid4())
        case.schedule(court_date_id, cmd.scheduled_for, cmd.hearing, self.clock.now())
        return court_date_id
