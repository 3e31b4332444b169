"""The audit log's intake: every event of every service, chained in the order received."""

from __future__ import annotations

from audit.adapters import store
from audit.domain import chain
from divert_kernel.bus import PUBLISHING_SERVICES
from divert_kernel.clock import Clock
from divert_kernel.consumer import ANY_EVENT
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.uow import UnitOfWork


class Handlers:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def subscriptions(self) -> dict[str, dict[str, object]]:
        return {source: {ANY_EVENT: self.record} for source in PUBLISHING_SERVICES if source != "audit"}

    async def record(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        now = self.clock.now()
        entry = chain.entry_from_envelope(received.envelope, now.isoformat(timespec="milliseconds"))
        seq, prev = await store.head_for_update(uow.conn)
        await store.append(uow.conn, seq + 1, received.id, now, entry, prev, chain.link(prev, seq + 1, entry))
