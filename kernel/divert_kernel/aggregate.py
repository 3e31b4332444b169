"""Event-sourced aggregate base: commands check rules and record events; only events change state."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from divert_kernel.events import Event


class Aggregate:
    """State rebuilt by applying events; `pending` holds what a command recorded."""

    stream_prefix: ClassVar[str]

    def __init__(self, aggregate_id: str, jurisdiction: str) -> None:
        self.id = aggregate_id
        self.jurisdiction = jurisdiction
        self.version = 0
        self.pending: list[Event] = []

    @property
    def stream_id(self) -> str:
        return f"{self.stream_prefix}-{self.id}"

    @property
    def committed_version(self) -> int:
        return self.version - len(self.pending)

    def _record(self, event: Event) -> None:
        self.apply(event)
        self.version += 1
        self.pending.append(event)

    def apply(self, event: Event) -> None:
        """Change state from one event; subclasses dispatch on the event type."""
        raise NotImplementedError

    @classmethod
    def replay(cls, aggregate_id: str, jurisdiction: str, history: Iterable[Event]) -> Aggregate:
        """Rebuild from history, running the same `apply` code as the commands did."""
        aggregate = cls(aggregate_id, jurisdiction)
        for event in history:
            aggregate.apply(event)
            aggregate.version += 1
        return aggregate
