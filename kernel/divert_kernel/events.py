"""Domain event base, the registry of versioned contracts, and upcasting of old versions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

JsonDict = dict[str, Any]
Upcaster = Callable[[JsonDict], JsonDict]

_REGISTRY: dict[tuple[str, str, int], type[Event]] = {}
_UPCASTERS: dict[tuple[str, str, int], Upcaster] = {}


class Event(BaseModel):
    """A past-tense fact. Thin: ids, codes, dates, statuses, demographic category codes; never names or notes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.service:
            _REGISTRY[(cls.service, cls.__name__, cls.schema_version)] = cls

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__

    @classmethod
    def cloudevents_type(cls) -> str:
        return f"org.divert.{cls.service}.{cls.__name__}.v{cls.schema_version}"


def upcaster(service: str, name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function that lifts `data` of one contract version to the next."""

    def register(fn: Upcaster) -> Upcaster:
        _UPCASTERS[(service, name, from_version)] = fn
        return fn

    return register


def parse_type(ce_type: str) -> tuple[str, str, int]:
    """`org.divert.<service>.<Name>.v<N>` -> (service, Name, N)."""
    parts = ce_type.split(".")
    if len(parts) != 5 or parts[:2] != ["org", "divert"] or not parts[4].startswith("v"):
        raise ValueError(f"not a Divert event type: {ce_type!r}")
    return parts[2], parts[3], int(parts[4][1:])


def load_event(service: str, name: str, version: int, data: JsonDict) -> Event | None:
    """Rebuild an event from stored data, upcasting to the newest known version; None if unknown."""
    while (service, name, version) not in _REGISTRY or (service, name, version + 1) in _REGISTRY:
        lift = _UPCASTERS.get((service, name, version))
        if lift is None:
            break
        data, version = lift(data), version + 1
    cls = _REGISTRY.get((service, name, version))
    return cls.model_validate(data) if cls else None
