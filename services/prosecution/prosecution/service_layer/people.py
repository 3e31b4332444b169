"""Event handlers for who a participant is and where they stand: enrolment (case management), linked records
and the site's time zone (referral). A participant already in the program has no charge held for them."""

from __future__ import annotations

import logging

from divert_contracts.casemgmt import EnrolmentChanged, ParticipantStatusChanged
from divert_contracts.referral import ParticipantsLinked
from divert_kernel.clock import Clock
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.uow import UnitOfWork
from prosecution.adapters import held_charges, standing
from prosecution.domain.model import HeldCharge
from prosecution.domain.standing import in_program

log = logging.getLogger("divert.prosecution")


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

    async def standing_changed(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        changed = received.event
        assert isinstance(changed, (EnrolmentChanged, ParticipantStatusChanged))
        await standing.lock_site(uow.conn, received.jurisdiction)
        await self.close_if_in_program(uow, received.jurisdiction, changed.participant_id)

    async def link(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        """The projection linked the records; a charge held under either closes if the person is in the program."""
        linked = received.event
        assert isinstance(linked, ParticipantsLinked)
        await standing.lock_site(uow.conn, received.jurisdiction)
        await self.close_if_in_program(uow, received.jurisdiction, linked.survivor_participant_id)
