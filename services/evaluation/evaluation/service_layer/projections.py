"""The evaluation read model as a projection: each event that moves someone along the LEAD continuum, consumed
from the referral, case-management and prosecution services, leaves its facts in `evaluation_facts` in the
transaction that consumes it; `divert projections rebuild evaluation` replays the consumed events the kernel
keeps (consumed_events) into the same rows.

The service's own events feed no table: a data-use agreement is loaded from its own stream, and each extract
released under it is an event on that stream (LimitedDataSetExtracted). Nothing is written by a command, so
there are no records to keep either."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from divert_contracts import casemgmt, prosecution, referral
from divert_kernel.events import Event
from divert_kernel.projection import Fact, Projections
from evaluation.adapters import store
from evaluation.domain.intake import FACTS, facts_of

# Registered by bootstrap (the consumer's unit of work runs them); the rebuild takes them from here.
projections = Projections(service="evaluation", tables=("evaluation_facts",))

_CONTRACTS = {"referral": referral, "casemgmt": casemgmt, "prosecution": prosecution}
# Every event type the facts are made of, as contract classes (a name FACTS has and the contracts lack fails here,
# at import, rather than silently on the first event).
CONSUMED: tuple[type[Event], ...] = tuple(
    getattr(_CONTRACTS[service], name) for service, types in FACTS.items() for name in types
)


@projections.on_each_run(*CONSUMED)
async def moved_along(conn: AsyncConnection, seen: Sequence[Fact]) -> None:
    """Each event's facts, keyed by the event id (a second fact of one event by `id/i`: an extension moves each
    of its referrals' deadlines), in one statement per run. Keys make it insert-once, whatever the split."""
    rows = [
        (s.event_id if i == 0 else f"{s.event_id}/{i}", s.jurisdiction, made)
        for s in seen
        for i, made in enumerate(facts_of(s.source, type(s.event).__name__, s.event))
    ]
    await store.add_all(conn, rows)
