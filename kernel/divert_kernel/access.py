"""DESIGN §5's read rule, in one place, for every read path (single, list, export, agenda, roster, feed).

The owner of a record is (jurisdiction, agency). The owner reads in full; anyone else reads only through a
consent-gate decision; an unknown record, or one in a jurisdiction the caller does not act in, reads exactly
like a withheld one. An agency of the same type, or the same agency id in another jurisdiction, is another
agency.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from divert_kernel.auth import Principal
from divert_kernel.errors import Forbidden
from divert_kernel.gate import ConsentGate, Decision, not_permitted

Row = TypeVar("Row")


@dataclass(frozen=True)
class Owner:
    """Who holds a record: an agency in a jurisdiction. `agency` None: no agency holds it (yet)."""

    jurisdiction: str
    agency: str | None


def owns(principal: Principal, owner: Owner | None) -> bool:
    """True when the caller is the record's owner: the same agency id in the record's own jurisdiction."""
    return (
        owner is not None
        and owner.agency is not None
        and owner.agency == principal.agency
        and owner.jurisdiction in principal.jurisdictions
    )


def in_reach(principal: Principal, owner: Owner | None) -> bool:
    """True when the record exists in a jurisdiction the caller acts in (else it reads as unknown)."""
    return owner is not None and owner.jurisdiction in principal.jurisdictions


@dataclass(frozen=True)
class Read:
    """What a caller may see of one record: all of it (owner) or what `decision` permits."""

    owner: bool
    decision: Decision | None = None

    @property
    def obligations(self) -> list[dict[str, Any]]:
        return [] if self.decision is None else self.decision.obligations


OWN = Read(owner=True)


async def read_one(
    gate: ConsentGate, principal: Principal, owner: Owner | None, *, participant_id: str, category: str, purpose: str
) -> Read:
    """The caller's read of one record, or Forbidden (withheld or unknown, alike) / Unavailable (no answer).

    `owner` is None when no such record exists. The gate is asked for every non-owner, even for an unknown or
    out-of-jurisdiction record, so refusals cost and read the same whatever the reason.
    """
    if owns(principal, owner):
        return OWN
    known = in_reach(principal, owner)
    decision = await gate.require(
        principal,
        participant_id=participant_id,
        jurisdiction=owner.jurisdiction if known and owner else min(principal.jurisdictions),
        category=category,
        purpose=purpose,
    )
    if not known:
        raise not_permitted()
    return Read(owner=False, decision=decision)


async def may_read(
    gate: ConsentGate, principal: Principal, owner: Owner, *, participant_id: str, category: str, purpose: str
) -> Read | None:
    """Like `read_one` for an optional part of a response whose record is known: None when withheld."""
    try:
        return await read_one(gate, principal, owner, participant_id=participant_id, category=category, purpose=purpose)
    except Forbidden:
        return None


@dataclass(frozen=True)
class Column:
    """A part of a meeting-view or list row and the data category it discloses."""

    name: str
    category: str


async def read_rows(
    gate: ConsentGate,
    principal: Principal,
    rows: Sequence[Row],
    *,
    owner_of: Callable[[Row], Owner | None],
    participant_of: Callable[[Row], str],
    categories: Iterable[str],
    purpose: str,
) -> list[tuple[Row, dict[str, Read]]]:
    """Each row the caller may see, with its read per category; rows whose first category is withheld are absent.

    The caller's own records pass whole; every other row is decided in one batch per category (each decision
    recorded, so each served row is in that participant's accounting of disclosures). Rows outside the
    caller's jurisdictions are absent without asking.
    """
    wanted = list(dict.fromkeys(categories))
    others = [r for r in rows if in_reach(principal, owner_of(r)) and not owns(principal, owner_of(r))]
    asks = [(r, c) for c in wanted for r in others]
    decisions = await gate.decide_requests(
        principal,
        [(participant_of(r), _jurisdiction(owner_of(r)), c) for r, c in asks],
        purpose=purpose,
    )
    reads: dict[tuple[int, str], Read] = {
        (id(r), c): Read(owner=False, decision=d) for (r, c), d in zip(asks, decisions, strict=True) if d.permitted
    }
    served: list[tuple[Row, dict[str, Read]]] = []
    for row in rows:
        owner = owner_of(row)
        if not in_reach(principal, owner):
            continue
        if owns(principal, owner):
            served.append((row, dict.fromkeys(wanted, OWN)))
            continue
        per_category = {c: reads[(id(row), c)] for c in wanted if (id(row), c) in reads}
        if wanted and wanted[0] in per_category:
            served.append((row, per_category))
    return served


def _jurisdiction(owner: Owner | None) -> str:
    assert owner is not None
    return owner.jurisdiction
