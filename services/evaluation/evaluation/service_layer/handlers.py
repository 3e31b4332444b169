"""Event handlers: each event that moves someone along the continuum is kept as a fact, once."""

from __future__ import annotations

import logging

from divert_kernel.envelope import ReceivedEvent
from divert_kernel.uow import UnitOfWork
from evaluation.adapters import store
from evaluation.domain.intake import FACTS, facts_of

log = logging.getLogger("divert.evaluation")


class Handlers:
    def commands(self) -> dict[type, object]:
        return {}  # the evaluation service takes no commands: it only counts

    def subscriptions(self) -> dict[str, dict[str, object]]:
        return {service: {event_type: self.record for event_type in types} for service, types in FACTS.items()}

    async def record(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        if received.event is None:
            log.warning("evaluation skipped %s v%s: no contract known", received.type, received.version)
            return
        for i, fact in enumerate(facts_of(received.service, received.type, received.event)):
            # One event may leave several facts (an extension moves each of its referrals' deadlines).
            await store.add(uow.conn, received.id if i == 0 else f"{received.id}/{i}", received.jurisdiction, fact)
