"""Small-cell suppression decided over a whole family of tables at once, deterministically.

Primary: every count from 1 to `threshold` is suppressed. Complementary: then, until no published relation
isolates a suppressed count, partners are suppressed. "Isolates" is exact: a suppressed cell is exposed when its
unit vector lies in the row space of the published equations restricted to the suppressed cells (each equation
`whole - sum(parts) = 0`, published values moved to the right-hand side). Rank is computed by exact rational
elimination, so there is no tolerance to argue about.

What this does not defend against: bounds. Knowing counts are non-negative, an outsider can narrow a suppressed
cell to an interval; partners are chosen non-zero where possible so that interval stays wide.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from fractions import Fraction
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
Equation = tuple[K, Sequence[K]]

THRESHOLD = 10


def primary(values: Mapping[K, int], threshold: int = THRESHOLD) -> set[K]:
    return {k for k, v in values.items() if 1 <= v <= threshold}


def _rows(equations: Iterable[Equation[K]], hidden: set[K]) -> list[dict[K, int]]:
    """Each equation over its hidden cells only (published cells are known constants)."""
    rows = []
    for whole, parts in equations:
        row: dict[K, int] = {}
        for cell, sign in [(whole, 1), *((p, -1) for p in parts)]:
            if cell in hidden:
                row[cell] = row.get(cell, 0) + sign
        row = {k: v for k, v in row.items() if v}
        if row:
            rows.append(row)
    return rows


def exposed(equations: Iterable[Equation[K]], hidden: set[K]) -> set[K]:
    """The hidden cells the equations determine exactly (a row of the reduced echelon form with one entry)."""
    order = {k: i for i, k in enumerate(sorted(hidden, key=repr))}
    basis: dict[K, dict[K, Fraction]] = {}  # pivot -> fully reduced row
    holders: dict[K, set[K]] = {}  # column -> pivots whose row has it
    for raw in _rows(equations, hidden):
        row = {k: Fraction(v) for k, v in raw.items()}
        for pivot in [k for k in row if k in basis]:
            factor = row.pop(pivot)
            for col, value in basis[pivot].items():
                if col != pivot:
                    new = row.get(col, 0) - factor * value
                    if new:
                        row[col] = new
                    else:
                        row.pop(col, None)
        if not row:
            continue
        pivot = min(row, key=order.__getitem__)
        scale = row[pivot]
        row = {k: v / scale for k, v in row.items()}
        for other in list(holders.get(pivot, ())):
            _eliminate(basis, holders, other, pivot, row)
        basis[pivot] = row
        for col in row:
            holders.setdefault(col, set()).add(pivot)
    return {pivot for pivot, row in basis.items() if len(row) == 1}


def _eliminate(
    basis: dict[K, dict[K, Fraction]], holders: dict[K, set[K]], other: K, pivot: K, row: dict[K, Fraction]
) -> None:
    """Clear column `pivot` from the basis row of `other`, keeping the column index in step."""
    target = basis[other]
    factor = target.pop(pivot)
    holders[pivot].discard(other)
    for col, value in row.items():
        if col == pivot:
            continue
        new = target.get(col, 0) - factor * value
        if new:
            target[col] = new
            holders.setdefault(col, set()).add(other)
        else:
            target.pop(col, None)
            holders[col].discard(other)


def suppress(
    values: Mapping[K, int],
    equations: Sequence[Equation[K]],
    threshold: int = THRESHOLD,
    forced: Iterable[K] = (),
) -> set[K]:
    """Primary suppression, then partners until no published relation recovers a suppressed count.

    `forced`: cells suppressed in an earlier release of the same family, kept suppressed so that two releases
    read together say no more than either (see `views`)."""
    hidden = primary(values, threshold) | {k for k in forced if k in values}
    touching: dict[K, list[int]] = {}
    for i, (whole, parts) in enumerate(equations):
        for cell in (whole, *parts):
            touching.setdefault(cell, []).append(i)
    while True:
        _pair_lone_cells(values, equations, hidden)
        loose = exposed(equations, hidden)
        if not loose:
            return hidden
        added = False
        for cell in sorted(loose, key=repr):
            partner = _partner(values, equations, touching, hidden, cell)
            if partner is not None:
                hidden.add(partner)
                added = True
        if not added:
            return hidden  # fixed by the structure alone (a cell equal to 0 by definition): nothing to protect


def _choice(values: Mapping[K, int], cells: Iterable[K]) -> K | None:
    """The partner that costs least and hides most: the smallest non-zero count, then zeros; ties by key."""
    ranked = sorted(cells, key=lambda k: (values[k] == 0, values[k], repr(k)))
    return ranked[0] if ranked else None


def _pair_lone_cells(values: Mapping[K, int], equations: Sequence[Equation[K]], hidden: set[K]) -> None:
    """The cheap, common case first: an equation with one suppressed cell gets a second."""
    changed = True
    while changed:
        changed = False
        for whole, parts in equations:
            cells = (whole, *parts)
            if sum(1 for c in cells if c in hidden) == 1:
                partner = _choice(values, (c for c in cells if c not in hidden))
                if partner is not None:
                    hidden.add(partner)
                    changed = True


def _partner(
    values: Mapping[K, int], equations: Sequence[Equation[K]], touching: dict[K, list[int]], hidden: set[K], cell: K
) -> K | None:
    """A published cell sharing an equation with `cell`, or else with the hidden cells linked to it."""
    seen, frontier = {cell}, [cell]
    while frontier:
        candidates, following = [], []
        for current in frontier:
            for i in touching.get(current, ()):
                whole, parts = equations[i]
                for other in (whole, *parts):
                    if other not in hidden:
                        candidates.append(other)
                    elif other not in seen:
                        seen.add(other)
                        following.append(other)
        if (choice := _choice(values, candidates)) is not None:
            return choice
        frontier = following
    return None
