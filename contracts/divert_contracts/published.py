"""The contracts as partners read them: each event type's JSON Schema and the CloudEvents envelope around it.

Generated from the pydantic models, so a schema can never drift from what the services publish. The gateway
serves them at each event's `dataschema` URL and builds /asyncapi.json and the OpenAPI `webhooks` from them
(divert_contracts.asyncapi).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import Any

from divert_kernel.envelope import SCHEMA_PATH, dataschema_url
from divert_kernel.events import Event

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@cache
def event_types() -> tuple[type[Event], ...]:
    """Every published event contract, ordered by (service, name, version)."""
    import divert_contracts

    for module in pkgutil.iter_modules(divert_contracts.__path__):
        importlib.import_module(f"divert_contracts.{module.name}")
    found: list[type[Event]] = []
    pending = list(Event.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        # Only the contracts package: test doubles and service-internal subclasses are no contract.
        if cls.service and cls.__module__.startswith("divert_contracts."):
            found.append(cls)
    return tuple(sorted(found, key=lambda c: (c.service, c.__name__, c.schema_version)))


def find(service: str, name: str, version: int) -> type[Event] | None:
    for cls in event_types():
        if (cls.service, cls.__name__, cls.schema_version) == (service, name, version):
            return cls
    return None


def schema_path(cls: type[Event]) -> str:
    return f"{SCHEMA_PATH}/{cls.service}/{cls.__name__}/v{cls.schema_version}.json"


def data_schema(cls: type[Event], public_base_url: str) -> dict[str, Any]:
    """The standalone JSON Schema (2020-12) of an event's `data`, identified by its `dataschema` URL."""
    schema = cls.model_json_schema()
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": dataschema_url(public_base_url, cls.service, cls.__name__, cls.schema_version),
        **schema,
        "x-cloudevents-type": cls.cloudevents_type(),
    }


def component_name(cls: type[Event], suffix: str = "") -> str:
    """A name for an event's schema among other documents' component schemas (letters, digits, `.`, `_`)."""
    return f"divert.{cls.service}.{cls.__name__}.v{cls.schema_version}{suffix}"


def component_schemas(ref_prefix: str) -> dict[str, dict[str, Any]]:
    """Each event's data schema and envelope schema, for a document's components; nested models shared.

    `ref_prefix` is where components live in the target document (`#/components/schemas/`).
    """
    out: dict[str, dict[str, Any]] = {}
    for cls in event_types():
        schema = cls.model_json_schema(ref_template=ref_prefix + "divert.defs.{model}")
        for name, definition in schema.pop("$defs", {}).items():
            key = f"divert.defs.{name}"
            if out.setdefault(key, definition) != definition:
                raise ValueError(f"two contracts define {name} differently")
        out[component_name(cls)] = schema
        out[component_name(cls, ".envelope")] = envelope_schema(cls, {"$ref": ref_prefix + component_name(cls)})
    return out


def envelope_schema(cls: type[Event], data: dict[str, Any]) -> dict[str, Any]:
    """The CloudEvents 1.0 structured-mode envelope (divert_kernel.envelope.to_cloudevent) carrying `data`."""
    text = {"type": "string"}
    return {
        "type": "object",
        "title": f"{cls.__name__} (CloudEvent)",
        "description": (cls.__doc__ or cls.__name__).strip().splitlines()[0],
        "required": ["specversion", "id", "source", "type", "time", "datacontenttype", "dataschema", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {**text, "description": "The event id; also `webhook-id`, the key receivers dedupe on."},
            "source": {**text, "description": "/divert/{jurisdiction}/{service}"},
            "type": {"const": cls.cloudevents_type()},
            "subject": {**text, "description": "The id of the record the event is about."},
            "time": {**text, "format": "date-time"},
            "datacontenttype": {"const": "application/json"},
            "dataschema": {**text, "format": "uri", "description": f"…{schema_path(cls)} at the gateway."},
            "data": data,
            "jurisdiction": text,
            "correlationid": text,
            "causationid": text,
            "traceparent": text,
            "streamversion": {"type": "integer", "minimum": 1},
            "actoragency": text,
            "actoragencytype": text,
            "actorclient": text,
            "actorperson": text,
        },
    }
