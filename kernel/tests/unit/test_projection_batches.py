"""A rebuild's page (Projections.apply_batch) applies every fact once, in fewer calls, and never reorders two
facts whose projectors share a table (or either of which has a projector that declares none)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from divert_kernel.context import Actor
from divert_kernel.projection import Fact, Projections

T = datetime(2026, 11, 1, tzinfo=UTC)


class Offered:  # stand-ins for contracts: dispatch reads only the class name and its service
    service = "referral"


class Held:
    service = "prosecution"


class Enrolled:
    service = "casemgmt"


class Linked:
    service = "referral"


class Exited:  # shares Enrolled's batch projector
    service = "casemgmt"


TABLES = {Offered: {"known"}, Held: {"held"}, Enrolled: {"standing", "known"}}  # Linked: a plain projector


def _projections(calls: list[tuple[str, list[int]]]) -> Projections:
    projections = Projections(service="prosecution", tables=("known", "held", "standing"))
    for kind, tables in TABLES.items():

        async def batch(conn: Any, facts: Any, name: str = kind.__name__) -> None:
            calls.append((name, [f.position for f in facts]))

        kinds = (kind, Exited) if kind is Enrolled else (kind,)
        projections.on_each_batch(*kinds, tables=sorted(tables))(batch)  # type: ignore[arg-type]

    @projections.on(Linked)  # type: ignore[arg-type]
    async def plain(conn: Any, fact: Fact) -> None:
        calls.append(("Linked", [fact.position]))

    return projections


def _facts(kinds: list[type]) -> list[Fact]:
    return [Fact(k(), f"e{i}", Actor(), k.service, "j", "s", T, 1, i) for i, k in enumerate(kinds)]  # type: ignore[arg-type]


async def _applied(kinds: list[type]) -> list[tuple[str, list[int]]]:
    calls: list[tuple[str, list[int]]] = []
    await _projections(calls).apply_batch(None, _facts(kinds))  # type: ignore[arg-type]
    return calls


async def test_interleaved_facts_of_disjoint_tables_go_in_one_call_per_type() -> None:
    assert await _applied([Offered, Held, Offered, Held, Offered]) == [("Offered", [0, 2, 4]), ("Held", [1, 3])]


async def test_a_fact_never_moves_ahead_of_one_that_shares_a_table() -> None:
    # Enrolled shares `known` with Offered: the second offer waits for the enrolment before it.
    assert await _applied([Offered, Held, Enrolled, Offered, Held]) == [
        ("Offered", [0]),
        ("Held", [1, 4]),
        ("Enrolled", [2]),
        ("Offered", [3]),
    ]


async def test_a_projector_that_declares_no_tables_is_a_barrier() -> None:
    assert await _applied([Held, Linked, Held, Linked]) == [
        ("Held", [0]),
        ("Linked", [1]),
        ("Held", [2]),
        ("Linked", [3]),
    ]


async def test_types_of_one_batch_projector_go_in_one_call_in_their_order() -> None:
    assert await _applied([Enrolled, Held, Exited, Held, Enrolled]) == [("Enrolled", [0, 2, 4]), ("Held", [1, 3])]


def _conflict(a: type, b: type) -> bool:
    tables = TABLES | {Exited: TABLES[Enrolled]}
    return a is Linked or b is Linked or bool(tables[a] & tables[b])


@given(st.lists(st.sampled_from([Offered, Held, Enrolled, Exited, Linked]), max_size=40))
async def test_each_fact_once_and_conflicting_ones_in_their_order(kinds: list[type]) -> None:
    calls = await _applied(kinds)
    order = [p for _, positions in calls for p in positions]
    assert sorted(order) == list(range(len(kinds)))  # once each
    place = {p: i for i, p in enumerate(order)}
    for a in range(len(kinds)):
        for b in range(a + 1, len(kinds)):
            if _conflict(kinds[a], kinds[b]):
                assert place[a] < place[b], (kinds, calls)
