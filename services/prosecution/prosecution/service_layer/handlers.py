"""One handler per command; event handlers for what other services publish."""

from __future__ import annotations

from divert_contracts.casemgmt import IntakeCompleted
from divert_contracts.referral import DiversionOffered
from divert_kernel.clock import Clock
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.uow import UnitOfWork
from prosecution.adapters import store
from prosecution.domain.commands import FileHeldCharge
from prosecution.domain.errors import HeldChargeNotFound
from prosecution.domain.model import HeldCharge


class Handlers:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def commands(self) -> dict[type, object]:
        return {FileHeldCharge: self.file_held_charge}

    def subscriptions(self) -> dict[str, dict[str, object]]:
        return {
            "referral": {"DiversionOffered": self.hold_diverted_charge},
            "casemgmt": {"IntakeCompleted": self.close_by_intake},
        }

    async def file_held_charge(self, cmd: FileHeldCharge, uow: UnitOfWork) -> str:
        charge = await uow.get(HeldCharge, cmd.referral_id)
        if charge is None:
            raise HeldChargeNotFound()
        now = self.clock.now()
        charge.file(now, by_agency_type=cmd.filed_by_agency_type)
        await store.set_status(uow.conn, charge.id, charge.status, now)
        return charge.status

    async def hold_diverted_charge(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        offer = received.event
        assert isinstance(offer, DiversionOffered)
        if offer.referral_type != "arrest_diversion":
            return  # a social-contact referral carries no charge at all
        await store.lock_referrals(uow.conn, [offer.referral_id])
        now = self.clock.now()
        charge = HeldCharge.hold(
            offer.referral_id,
            received.jurisdiction,
            offer.participant_id,
            offer.offense_codes,
            offer.intake_deadline,
            now,
        )
        uow.add(charge)
        await store.add(
            uow.conn,
            referral_id=offer.referral_id,
            jurisdiction=received.jurisdiction,
            participant_id=offer.participant_id,
            offense_codes=offer.offense_codes,
            intake_deadline=offer.intake_deadline,
            held_at=now,
        )
        if await store.intake_done(uow.conn, offer.referral_id):
            charge.close_by_intake(now)
            await store.set_status(uow.conn, charge.id, charge.status, now)

    async def close_by_intake(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        intake = received.event
        assert isinstance(intake, IntakeCompleted)
        now = self.clock.now()
        await store.lock_referrals(uow.conn, intake.referral_ids)
        await store.note_intake(uow.conn, intake.participant_id, intake.referral_ids, intake.completed_at)
        for referral_id in await store.held_for(uow.conn, intake.participant_id, intake.referral_ids):
            charge = await uow.get(HeldCharge, referral_id)
            if charge is not None:
                charge.close_by_intake(now)
                await store.set_status(uow.conn, referral_id, charge.status, now)
