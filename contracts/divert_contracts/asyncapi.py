"""/asyncapi.json and the OpenAPI `webhooks`, generated from the event contracts (DESIGN §7a).

Divert sends every event type two ways: to a partner agency's NATS feed `feeds.<jurisdiction>.<agency>.<EventType>`
and to its webhook endpoints (Standard Webhooks). Both carry the same CloudEvents envelope; `data` is the
event's contract, also served alone at the envelope's `dataschema` URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from divert_contracts.published import component_name, component_schemas, event_types
from divert_kernel.events import Event

ASYNCAPI_VERSION = "3.0.0"
_REFS = "#/components/schemas/"

WEBHOOK_HEADERS: dict[str, str] = {
    "webhook-id": "The event id (the CloudEvent `id`): the same on every retry, so receivers dedupe on it.",
    "webhook-timestamp": "Seconds since the epoch when this attempt was signed; reject stale ones.",
    "webhook-signature": (
        "Space-separated `v1,<base64 HMAC-SHA256>` of `{webhook-id}.{webhook-timestamp}.{body}` with the "
        "endpoint's `whsec_` secret; during a rotation, one signature per valid secret."
    ),
}
DELIVERY_NOTE = (
    "At least once: retried immediately, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h; "
    "`410 Gone`, or five days of failures, disables the endpoint, and the agency receives WebhookEndpointDisabled "
    "on its feed (and at its endpoints subscribed to it). Verify the signature (e.g. with the `standardwebhooks` library) and "
    "dedupe on `webhook-id`."
)


def _key(cls: type[Event]) -> str:
    return f"{cls.service}.{cls.__name__}.v{cls.schema_version}"


def _summary(cls: type[Event]) -> str:
    return (cls.__doc__ or cls.__name__).strip().splitlines()[0]


def asyncapi(public_base_url: str, nats_url: str) -> dict[str, Any]:
    """An AsyncAPI 3.0 document: Divert (the application) sends each event to feeds and to webhooks."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for cls in event_types():
        key = _key(cls)
        payload = {"$ref": _REFS + component_name(cls, ".envelope")}
        messages[key] = {
            "name": cls.__name__,
            "title": cls.cloudevents_type(),
            "summary": _summary(cls),
            "contentType": "application/json",
            "payload": payload,
        }
        messages[f"{key}.webhook"] = {
            **messages[key],
            "traits": [{"$ref": "#/components/messageTraits/standardWebhooks"}],
        }
        channels[f"feed.{key}"] = {
            "address": "feeds.{jurisdiction}.{agency}." + cls.__name__,
            "title": f"{cls.__name__} feed",
            "description": "A partner agency's own feed; its credential may read only its own feeds.",
            "servers": [{"$ref": "#/servers/nats"}],
            "parameters": {
                "jurisdiction": {"$ref": "#/components/parameters/jurisdiction"},
                "agency": {"$ref": "#/components/parameters/agency"},
            },
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        channels[f"webhook.{key}"] = {
            "address": None,
            "title": f"{cls.__name__} webhook",
            "description": "POSTed to each endpoint subscribed to this event type (POST /v1/webhook-endpoints).",
            "servers": [{"$ref": "#/servers/webhooks"}],
            "messages": {key: {"$ref": f"#/components/messages/{key}.webhook"}},
        }
        for kind in ("feed", "webhook"):
            operations[f"{kind}.{key}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{kind}.{key}"},
                "messages": [{"$ref": f"#/channels/{kind}.{key}/messages/{key}"}],
                "summary": f"{_summary(cls)} ({'NATS feed' if kind == 'feed' else 'webhook'})",
            }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:divert:events",
        "info": {
            "title": "Divert events",
            "version": "1",
            "description": (
                "What partners receive without polling: each event type they are entitled and permitted to, on "
                f"their agency's NATS feed and at their webhook endpoints. {DELIVERY_NOTE} The HTTP API: "
                f"[{public_base_url}/openapi.json]({public_base_url}/openapi.json), [docs]({public_base_url}/docs)."
            ),
        },
        "defaultContentType": "application/json",
        "servers": _servers(nats_url),
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": component_schemas(_REFS),
            "messages": messages,
            "messageTraits": {"standardWebhooks": {"headers": _headers_schema()}},
            "parameters": {
                "jurisdiction": {"description": "The site, as in the token's `jurisdiction` claim."},
                "agency": {"description": "The receiving agency's id, as in the token's `agency` claim."},
            },
            "securitySchemes": _security_schemes(),
        },
    }


def _servers(nats_url: str) -> dict[str, Any]:
    nats = urlsplit(nats_url if "://" in nats_url else f"nats://{nats_url}")
    # Host and port only: a URL carrying a credential must never put it in a public document.
    host = f"{nats.hostname}:{nats.port}" if nats.port else str(nats.hostname)
    return {
        "nats": {
            "host": host,
            "protocol": "nats",
            "description": "Each partner agency's credential may read only its own feeds, with replay.",
            "security": [
                {"$ref": "#/components/securitySchemes/natsUserPassword"},
                {"$ref": "#/components/securitySchemes/natsToken"},
            ],
        },
        "webhooks": {
            "host": "{receiver}",
            "protocol": "https",
            "description": "The partner's receiver: the URL of a webhook endpoint. " + DELIVERY_NOTE,
            "variables": {"receiver": {"description": "Host (and port) of the endpoint's registered URL."}},
            "security": [{"$ref": "#/components/securitySchemes/standardWebhooks"}],
        },
    }


def _security_schemes() -> dict[str, Any]:
    return {
        "natsUserPassword": {
            "type": "userPassword",
            "description": "The agency's NATS credential, issued with its client (`nats_credentials`).",
        },
        "natsToken": {"type": "apiKey", "in": "user", "description": "A NATS token credential, where issued."},
        "standardWebhooks": {
            "type": "httpApiKey",
            "name": "webhook-signature",
            "in": "header",
            "description": "Standard Webhooks signature, with `webhook-id` and `webhook-timestamp`: "
            + WEBHOOK_HEADERS["webhook-signature"],
        },
    }


def _headers_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(WEBHOOK_HEADERS),
        "properties": {name: {"type": "string", "description": text} for name, text in WEBHOOK_HEADERS.items()},
    }


def openapi_webhooks() -> tuple[dict[str, Any], dict[str, Any]]:
    """The OpenAPI 3.1 `webhooks` (one per event type) and the component schemas they refer to."""
    webhooks: dict[str, Any] = {}
    for cls in event_types():
        webhooks[cls.cloudevents_type()] = {
            "post": {
                "operationId": f"webhook_{cls.service}_{cls.__name__}_v{cls.schema_version}",
                "tags": ["webhooks"],
                "summary": _summary(cls),
                "description": f"Sent to endpoints subscribed to `{cls.__name__}`. {DELIVERY_NOTE}",
                "parameters": [
                    {"name": name, "in": "header", "required": True, "description": text, "schema": {"type": "string"}}
                    for name, text in WEBHOOK_HEADERS.items()
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": _REFS + component_name(cls, ".envelope")}}},
                },
                "responses": {
                    "2XX": {"description": "Received: any 2xx acknowledges the delivery."},
                    "410": {"description": "Gone: the endpoint is disabled and receives nothing more."},
                    "default": {"description": "Anything else, or no answer in time: retried on the schedule."},
                },
                "security": [],
            }
        }
    return webhooks, component_schemas(_REFS)
