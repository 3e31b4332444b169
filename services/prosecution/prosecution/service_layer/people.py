"""Event handlers for who a participant is and where they stand: enrolment (case management), linked records
and the site's time zone (referral). A participant already in the program has no charge held for them."""

from __future__ import annotations

import logging

from divert_contracts.casemgmt import EnrolmentChanged, ParticipantStatusChanged
from divert_contracts.referral import EligibilityPolicyAmended, ParticipantsLinked
from divert_kernel.clock import Clock
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.uow import UnitOfWork
from prosecution.adapters import held_charges, standing
from prosecution.domain.model import HeldCharge
from prosecution.domain.standing import in_program, zone_named

log = logging.getLogger("divert.prosecution")


async def sync_charge(uow: UnitOfWork, charge: HeldCharge, clock: Clock) -> None:
    """Bring the held-charges read model in line with the aggregate after a change."""
    await held_charges.sync(uow.conn, charge.id, charge.status, charge.intake_deadline, clock.now())


class People:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def in_program(self, uow: UnitOfWork, jurisdiction: str, participant_id: str) -> bool:
        """Enrolled and not exited, under any of the person's linked records."""
        _, ids = await standing.person(uow.conn, jurisdiction, participant_id)
        return in_program(await standing.standings(uow.conn, jurisdiction, ids))

    async def close_if_in_program(self, uow: UnitOfWork, jurisdiction: str, participant_id: str) -> None:
        """Close every undecided charge of a person in the program, whichever record it was held under: an
        offer that arrived before the news of their enrolment (streams are not ordered against each other)
        closes when that news comes."""
        _, ids = await standing.person(uow.conn, jurisdiction, participant_id)
        if not in_program(await standing.standings(uow.conn, jurisdiction, ids)):
            return
        for referral_id in await held_charges.undecided_of(uow.conn, jurisdiction, ids):
            charge = await uow.get(HeldCharge, referral_id)
            assert charge is not None  # the read model holds only charges the store holds
            charge.close_as_enrolled(self.clock.now())
            await sync_charge(uow, charge, self.clock)

    async def take_in(self, uow: UnitOfWork, received: ReceivedEvent, participant_id: str) -> None:
        """Record what case management said of the participant, unless we already hold a newer fact."""
        assert received.event is not None
        current = await standing.standing(uow.conn, received.jurisdiction, participant_id)
        updated = current.after(received.event, received.time)
        if updated != current:
            await standing.put_standing(uow.conn, received.jurisdiction, participant_id, updated)

    async def standing_changed(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        changed = received.event
        assert isinstance(changed, (EnrolmentChanged, ParticipantStatusChanged))
        await standing.lock_site(uow.conn, received.jurisdiction)
        await self.take_in(uow, received, changed.participant_id)
        await self.close_if_in_program(uow, received.jurisdiction, changed.participant_id)

    async def link(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        linked = received.event
        assert isinstance(linked, ParticipantsLinked)
        if linked.survivor_participant_id == linked.merged_participant_id:
            return
        await standing.lock_site(uow.conn, received.jurisdiction)
        survivor, merged = linked.survivor_participant_id, linked.merged_participant_id
        if await standing.link(uow.conn, received.jurisdiction, survivor, merged, linked.review_id, linked.linked_at):
            # The survivor is a participant of this site, whichever record's referral reached us first.
            await held_charges.know_participant(uow.conn, survivor, received.jurisdiction)
            await self.close_if_in_program(uow, received.jurisdiction, survivor)

    async def note_time_zone(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        policy = received.event
        assert isinstance(policy, EligibilityPolicyAmended)
        if zone_named(policy.time_zone) is None:
            # Kept out of the read model: the site directory's zone (or UTC) stays in force.
            extra = {"policy_version": policy.policy_version, "jurisdiction": received.jurisdiction}
            log.warning("policy_time_zone_unknown", extra=extra)
            return
        await standing.put_time_zone(uow.conn, received.jurisdiction, policy.policy_version, policy.time_zone)
