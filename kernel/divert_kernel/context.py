"""Who is acting and which request or event caused the work, carried alongside it."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from uuid import uuid4


@dataclass(frozen=True)
class Actor:
    """The calling system and the person acting through it: ids only, for audit."""

    client_id: str = "system"
    agency: str = "divert"
    agency_type: str = "system"
    person: str | None = None


@dataclass(frozen=True)
class Causation:
    actor: Actor = field(default_factory=Actor)
    correlation_id: str = field(default_factory=lambda: str(uuid4()))
    causation_id: str | None = None


_current: ContextVar[Causation] = ContextVar("divert_causation", default=Causation())  # noqa: B039


def current() -> Causation:
    return _current.get()


def set_current(causation: Causation) -> None:
    _current.set(causation)


def caused_by(event_id: str, correlation_id: str | None, actor: Actor) -> Causation:
    """The context for work done because of a consumed event."""
    return replace(current(), actor=actor, correlation_id=correlation_id or event_id, causation_id=event_id)
