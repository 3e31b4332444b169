"""Resolving a person match: two participant records found to be one person become one (DESIGN §3).

The survivor is the participant indexed first (then the smaller id, so the rule is total): partners already
hold that id (charges, consents, case-management records are older), and an id once given out keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from divert_contracts.referral import ParticipantsLinked
from divert_kernel.aggregate import Aggregate
from divert_kernel.events import Event
from referral.domain.errors import IneligibleReferral, WrongState


@dataclass(frozen=True)
class Indexed:
    """A participant as the person index knows it."""

    participant_id: str
    indexed_at: datetime


def survivor_of(first: Indexed, second: Indexed) -> tuple[Indexed, Indexed]:
    """(survivor, merged): the participant indexed earlier survives."""
    ordered = sorted((first, second), key=lambda p: (p.indexed_at, p.participant_id))
    return ordered[0], ordered[1]


class PersonLink(Aggregate):
    """One review's resolution as the same person; a review links once."""

    stream_prefix = "person-match"

    def __init__(self, review_id: str, jurisdiction: str) -> None:
        super().__init__(review_id, jurisdiction)
        self.linked = False

    def link(self, participant: Indexed, same_as: Indexed, now: datetime) -> ParticipantsLinked:
        if self.linked:
            raise WrongState("this review was already resolved", field="review_id")
        if participant.participant_id == same_as.participant_id:
            raise IneligibleReferral("these records are already one participant", field="same_as")
        survivor, merged = survivor_of(participant, same_as)
        linked = ParticipantsLinked(
            review_id=self.id,
            survivor_participant_id=survivor.participant_id,
            merged_participant_id=merged.participant_id,
            linked_at=now,
        )
        self._record(linked)
        return linked

    def apply(self, event: Event) -> None:
        if isinstance(event, ParticipantsLinked):
            self.linked = True
