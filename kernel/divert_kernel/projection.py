"""Read models as projections: functions of events, run in the transaction that appends or consumes them.

A service declares which tables are its read models and, per event type (its own and the foreign events it
consumes), the projector functions that write them. The unit of work runs a service's projectors for each event
it appends, and for each foreign event a consumer takes in (after storing it in `consumed_events`), so a rebuild
that replays both in the same order (divert_kernel.rebuild) yields the same tables. Projectors read nothing but
the event and the database: no clock, no settings, no command. What events must not carry (names, notes, free
text) lives in the service's record tables, written by command handlers and kept by a rebuild.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from divert_kernel.context import Actor
from divert_kernel.envelope import ReceivedEvent, aggregate_id
from divert_kernel.events import Event


@dataclass(frozen=True)
class Fact:
    """One event as a projector sees it: the (upcast) event and where it sits in the service's one order."""

    event: Event
    event_id: str
    actor: Actor  # who caused it, as its metadata (own) or envelope (foreign) says
    source: str  # the publishing service
    jurisdiction: str
    subject: str  # the aggregate id
    time: datetime  # when the publishing service recorded it
    version: int  # the event's place in its aggregate's stream
    position: int  # events.position of an own event; consumed_events.seq of a foreign one (one sequence)
    # True when a rebuild replays it into private copies: locks that order live writers are not needed there,
    # and taking them would stall the live service for the whole replay.
    replaying: bool = False


Projector = Callable[[AsyncConnection, Fact], Awaitable[None]]
P = TypeVar("P", bound=Projector)
# Takes consecutive facts of its event types at once (all of one append, or a page of a rebuild), e.g. to write
# them in one multi-row statement: it must leave the same rows however the facts are split between calls.
BatchProjector = Callable[[AsyncConnection, Sequence[Fact]], Awaitable[None]]
B = TypeVar("B", bound=BatchProjector)


@dataclass(frozen=True)
class History:
    """Where a rebuild reads a service's facts, when not from its event store and kept consumed events.

    `select` is a query with an `:after` parameter whose rows have a `position` column (one increasing order);
    `fact` turns a row into what the projectors take (None: nothing to project)."""

    select: str
    fact: Callable[[Any], Fact | None]


@dataclass
class Projections:
    """A service's read-model tables, its record tables (kept by a rebuild), and projectors per event type."""

    service: str
    tables: Sequence[str]
    records: Sequence[str] = ()
    history: History | None = None  # None: the event store and the consumed events (divert_kernel.rebuild)
    _projectors: dict[tuple[str, str], list[Projector | _Batched]] = field(default_factory=dict)

    def on(self, *event_types: type[Event]) -> Callable[[P], P]:
        """Decorate a projector of these event types (own or foreign: the contract names its service)."""

        def register(fn: P) -> P:
            for cls in event_types:
                self._projectors.setdefault((cls.service, cls.__name__), []).append(fn)
            return fn

        return register

    def on_each_run(self, *event_types: type[Event]) -> Callable[[B], B]:
        """Decorate a batch projector: it takes each run of consecutive facts of these types in one call."""

        def register(fn: B) -> B:
            for cls in event_types:
                self._projectors.setdefault((cls.service, cls.__name__), []).append(_Batched(fn))
            return fn

        return register

    def on_each_batch(self, *event_types: type[Event], tables: Sequence[str]) -> Callable[[B], B]:
        """Decorate a batch projector that reads and writes `tables` alone. A rebuild's page (`apply_batch`)
        hands it every fact of its types at once, moved ahead of facts of other types whose projectors touch
        none of these tables (so the rows come out as if each fact were applied in order); elsewhere it takes
        runs like `on_each_run`."""

        def register(fn: B) -> B:
            for cls in event_types:
                self._projectors.setdefault((cls.service, cls.__name__), []).append(_Batched(fn, frozenset(tables)))
            return fn

        return register

    def handles(self, source: str, event_type: str) -> bool:
        return (source, event_type) in self._projectors

    async def apply(self, conn: AsyncConnection, fact: Fact) -> None:
        await self.apply_all(conn, [fact])

    async def apply_all(self, conn: AsyncConnection, facts: Sequence[Fact]) -> None:
        """Project facts in order. A run of consecutive facts of one type that has a batch projector goes to each
        of the type's projectors in turn: the batch ones once with the whole run, the others fact by fact."""
        start = 0
        while start < len(facts):
            key = (facts[start].source, type(facts[start].event).__name__)
            projectors = self._projectors.get(key, ())
            end = start + 1
            if any(isinstance(p, _Batched) for p in projectors):
                while end < len(facts) and (facts[end].source, type(facts[end].event).__name__) == key:
                    end += 1
            await _project_run(conn, projectors, facts[start:end])
            start = end

    async def apply_batch(self, conn: AsyncConnection, facts: Sequence[Fact]) -> None:
        """Project facts as if in order, with fewer calls: a fact joins the earlier run of facts with the same
        projectors when every run since touches other tables than those (declared with `on_each_batch`)."""
        for projectors, run in self._commuting_runs(facts):
            await _project_run(conn, projectors, run)

    def _commuting_runs(self, facts: Sequence[Fact]) -> list[tuple[_Group, list[Fact]]]:
        runs: list[tuple[_Group, list[Fact]]] = []
        run_tables: list[frozenset[str] | None] = []
        open_runs: dict[_Group, int] = {}  # groups whose last run nothing conflicting has followed
        known: dict[tuple[str, str], tuple[_Group, frozenset[str] | None]] = {}
        for fact in facts:
            key = (fact.source, type(fact.event).__name__)
            if key not in known:
                group = tuple(self._projectors.get(key, ()))
                known[key] = (group, _tables(group))
            group, tables = known[key]
            at = open_runs.get(group)
            if tables is not None and at is not None:
                runs[at][1].append(fact)
                continue
            open_runs = {g: i for g, i in open_runs.items() if _commute(run_tables[i], tables)}
            runs.append((group, [fact]))
            run_tables.append(tables)
            if tables is not None:
                open_runs[group] = len(runs) - 1
        return runs


_Group = tuple["Projector | _Batched", ...]  # the projectors of an event type: facts with the same run together


def _tables(group: _Group) -> frozenset[str] | None:
    """The tables a group of projectors touches, if every one of them declares them (None: unknown)."""
    if not all(isinstance(p, _Batched) and p.tables is not None for p in group):
        return None
    return frozenset().union(*(p.tables for p in group if isinstance(p, _Batched) and p.tables))


def _commute(a: frozenset[str] | None, b: frozenset[str] | None) -> bool:
    """Whether projectors touching tables `a` and ones touching `b` may run in either order."""
    return a is not None and b is not None and not (a & b)


@dataclass(frozen=True)
class _Batched:
    fn: BatchProjector
    tables: frozenset[str] | None = None  # declared by on_each_batch: the only tables it reads or writes


_BY_SERVICE: dict[str, Projections] = {}


def register(projections: Projections) -> Projections:
    """Make these the service's projections (its unit of work runs them); the last registration wins."""
    _BY_SERVICE[projections.service] = projections
    return projections


def of(service: str) -> Projections | None:
    return _BY_SERVICE.get(service)


# The shared order: a consumed event takes its place from the event store's own sequence (k0002).
_STORE_CONSUMED = sa.text(
    "INSERT INTO consumed_events (consumer, event_id, envelope) "
    "VALUES (:consumer, CAST(:event_id AS uuid), CAST(:envelope AS jsonb)) RETURNING seq"
)


def foreign_fact(received: ReceivedEvent, position: int, *, replaying: bool = False) -> Fact | None:
    if received.event is None:
        return None
    return Fact(
        event=received.event,
        event_id=received.id,
        actor=received.actor,
        source=received.service,
        jurisdiction=received.jurisdiction,
        subject=received.subject,
        time=received.time,
        version=int(received.envelope.get("streamversion", 0)),
        position=position,
        replaying=replaying,
    )


async def consumed(conn: AsyncConnection, service: str, consumer: str, received: ReceivedEvent) -> None:
    """Keep a consumed foreign event (so a rebuild can replay it) and run the service's projectors of it.

    Only a service that declares projections keeps what it consumes: the others (and the gateway's delivery,
    whose database has no kernel migrations) have nothing to rebuild. One that declares them later starts with
    history it did not keep, which a rebuild refuses (divert_kernel.rebuild)."""
    projections = of(service)
    if projections is None:
        return
    params = {"consumer": consumer, "event_id": received.id, "envelope": json.dumps(received.envelope)}
    seq = (await conn.execute(_STORE_CONSUMED, params)).scalar_one()
    fact = foreign_fact(received, seq)
    if fact is not None:
        await projections.apply(conn, fact)


def own_fact(
    service: str, event: Event, jurisdiction: str, stream_id: str, row: Any, actor: Actor, *, replaying: bool = False
) -> Fact:
    """An own event as appended (`row` from eventstore.append) or as stored (a row of the events table)."""
    return Fact(
        event=event,
        event_id=str(row.event_id),
        actor=actor,
        source=service,
        jurisdiction=jurisdiction,
        subject=aggregate_id(stream_id),
        time=row.recorded_at,
        version=row.version,
        position=row.position,
        replaying=replaying,
    )


def stored_actor(metadata: dict[str, Any] | None) -> Actor:
    actor = (metadata or {}).get("actor") or {}
    return Actor(
        client_id=actor.get("client_id", "system"),
        agency=actor.get("agency", "divert"),
        agency_type=actor.get("agency_type", "system"),
        person=actor.get("person"),
    )


async def _project_run(conn: AsyncConnection, projectors: Iterable[Any], run: Sequence[Fact]) -> None:
    """Each projector over a run of facts: a batch projector in one call, any other fact by fact."""
    for projector in projectors:
        if isinstance(projector, _Batched):
            await projector.fn(conn, run)
        else:
            for fact in run:
                await projector(conn, fact)
