"""Webhook endpoints (Standard Webhooks), managed only by the endpoint's own agency (DESIGN §7, §7a).

Another agency's endpoint reads exactly like an unknown id. Delivery is at least once: receivers dedupe on
`webhook-id`, the event id, which is the same on every retry and replay.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

import httpx
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from divert_contracts.entitlements import EVENT_TYPES
from divert_gateway.adapters import webhooks as store
from divert_gateway.domain import webhooks as rules
from divert_gateway.entrypoints.callers import Caller
from divert_gateway.entrypoints.keyed import KeyedRoute
from divert_kernel.auth import Principal
from divert_kernel.errors import InvalidInput, NotFound

log = logging.getLogger("divert.gateway.webhooks")

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhooks"], route_class=KeyedRoute)
_NOT_FOUND = "no such webhook endpoint"


def _event_types(value: list[str]) -> list[str]:
    unknown = sorted(set(value) - EVENT_TYPES)
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown[:5])}")
    return sorted(set(value))


class EndpointIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://rms.example.org/divert/webhooks",
                    "event_types": ["DiversionOffered", "CaseOpened"],
                    "description": "Records management system",
                }
            ]
        },
    )
    url: str = Field(min_length=8, max_length=2000)
    event_types: list[str] = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)

    _types = field_validator("event_types")(_event_types)


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"enabled": False}]})
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=100)
    enabled: bool | None = None
    description: str | None = Field(default=None, max_length=500)

    @field_validator("event_types")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _event_types(value)


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"since": "2026-11-20T00:00:00Z"}]})
    since: datetime | None = None
    after_event_id: UUID | None = None

    @model_validator(mode="after")
    def _one(self) -> ReplayIn:
        if (self.since is None) == (self.after_event_id is None):
            raise ValueError("give exactly one of since, after_event_id")
        if self.since is not None and self.since.tzinfo is None:
            raise ValueError("since needs a time zone")
        return self


class EndpointOut(BaseModel):
    endpoint_id: str
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime
    secret: str | None = Field(default=None, description="Only in the answers to create and secret-rotation.")


def _out(row: dict[str, Any], *, with_secret: bool = False) -> EndpointOut:
    fields = {k: row[k] for k in EndpointOut.model_fields if k in row and k != "secret"}
    fields["endpoint_id"] = str(row["endpoint_id"])
    return EndpointOut(**fields, secret=row["secret"] if with_secret else None)


def _clock(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.delivery_clock


async def _own(request: Request, endpoint_id: str, principal: Principal) -> dict[str, Any]:
    try:
        UUID(endpoint_id)
    except ValueError:
        raise NotFound(_NOT_FOUND, field="endpoint_id") from None
    found = await store.get(request.app.state.engine, endpoint_id, principal.agency)
    if found is None:
        raise NotFound(_NOT_FOUND, field="endpoint_id")
    return found


async def _target(request: Request, url: str) -> rules.Target:
    allow = request.app.state.settings.webhook_allow_private_targets
    try:
        return await asyncio.to_thread(rules.resolve_target, url, allow_private=allow)
    except rules.TargetRefused as refused:
        raise InvalidInput(str(refused), field="url") from None


@router.post("", status_code=201, response_model=EndpointOut)
async def create_endpoint(body: EndpointIn, request: Request, principal: Caller, response: Response) -> EndpointOut:
    """Subscribe the caller's agency; the answer carries the signing secret (`whsec_…`)."""
    fields = {
        "agency": principal.agency,
        "agency_type": principal.agency_type,
        "jurisdictions": sorted(principal.jurisdictions),
        "url": (await _target(request, body.url)).url,
        "description": body.description,
        "event_types": body.event_types,
        "secret": rules.new_secret(),
    }
    created = _out(await store.create(request.app.state.engine, fields, _clock(request).now()), with_secret=True)
    response.headers["Location"] = f"/v1/webhook-endpoints/{created.endpoint_id}"
    return created


@router.get("", response_model=list[EndpointOut])
async def list_endpoints(request: Request, principal: Caller) -> list[EndpointOut]:
    return [_out(r) for r in await store.list_for(request.app.state.engine, principal.agency)]


@router.get("/{endpoint_id}", response_model=EndpointOut)
async def read_endpoint(endpoint_id: str, request: Request, principal: Caller) -> EndpointOut:
    return _out(await _own(request, endpoint_id, principal))


@router.patch("/{endpoint_id}", response_model=EndpointOut)
async def update_endpoint(endpoint_id: str, body: EndpointPatch, request: Request, principal: Caller) -> EndpointOut:
    """Change event types, description, or enable/disable; enabling clears the failure record."""
    await _own(request, endpoint_id, principal)
    changes: dict[str, Any] = body.model_dump(exclude_none=True)
    if body.enabled is True:
        changes |= {"disabled_reason": None, "failing_since": None}
    elif body.enabled is False:
        changes["disabled_reason"] = "disabled_by_agency"
    if changes:
        await store.update(request.app.state.engine, endpoint_id, principal.agency, changes, _clock(request).now())
    return _out(await _own(request, endpoint_id, principal))


@router.delete("/{endpoint_id}", status_code=204)
async def delete_endpoint(endpoint_id: str, request: Request, principal: Caller) -> Response:
    await _own(request, endpoint_id, principal)
    await store.delete(request.app.state.engine, endpoint_id, principal.agency)
    return Response(status_code=204)


@router.post("/{endpoint_id}/secret-rotation", response_model=EndpointOut)
async def rotate_secret(endpoint_id: str, request: Request, principal: Caller) -> EndpointOut:
    """A new secret; the old one keeps signing beside it for 24 hours."""
    row = await _own(request, endpoint_id, principal)
    now = _clock(request).now()
    changes = {
        "secret": rules.new_secret(),
        "previous_secret": row["secret"],
        "previous_until": now + rules.ROTATION_OVERLAP,
    }
    await store.update(request.app.state.engine, endpoint_id, principal.agency, changes, now)
    return _out(await _own(request, endpoint_id, principal), with_secret=True)


class TestOut(BaseModel):
    event_id: str
    status_code: int | None
    duration_ms: int


@router.post("/{endpoint_id}/test", response_model=TestOut)
async def test_endpoint(endpoint_id: str, request: Request, principal: Caller) -> TestOut:
    """Send one signed test event now (type org.divert.gateway.WebhookEndpointTested.v1, no personal data)."""
    row = await _own(request, endpoint_id, principal)
    now = _clock(request).now()
    event_id = str(uuid4())
    envelope = {
        "specversion": "1.0",
        "id": event_id,
        "source": "/divert/gateway",
        "type": "org.divert.gateway.WebhookEndpointTested.v1",
        "time": now.isoformat(timespec="milliseconds"),
        "datacontenttype": "application/json",
        "data": {"endpoint_id": str(row["endpoint_id"])},
    }
    body = json.dumps(envelope, separators=(",", ":"))
    previous = row["previous_secret"] if row["previous_until"] and row["previous_until"] > now else None
    headers = rules.sign(event_id, datetime.now(UTC), body, row["secret"], previous)
    started = time.monotonic()
    code = None
    try:
        url, pinned, extensions = (await _target(request, row["url"])).request()
        async with httpx.AsyncClient(timeout=10, follow_redirects=False) as http:
            sent = {**headers, **pinned, "content-type": "application/json"}
            code = (await http.post(url, content=body, headers=sent, extensions=extensions)).status_code
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the target does, the test reports "no answer", never a 500
        log.info("webhook_test_failed", extra={"error": type(exc).__name__})
        code = None
    return TestOut(event_id=event_id, status_code=code, duration_ms=int((time.monotonic() - started) * 1000))


class AttemptOut(BaseModel):
    attempt_id: int
    event_id: str
    attempted_at: datetime
    outcome: str
    status_code: int | None
    duration_ms: int | None
    next_retry_at: datetime | None


class AttemptPage(BaseModel):
    items: list[AttemptOut]
    next_cursor: str | None


@router.get("/{endpoint_id}/deliveries", response_model=AttemptPage)
async def deliveries(
    endpoint_id: str,
    request: Request,
    principal: Caller,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AttemptPage:
    """Every attempt, newest first, cursor-paginated."""
    await _own(request, endpoint_id, principal)
    after = _cursor(cursor)
    rows = await store.attempts_page(request.app.state.engine, endpoint_id, after=after, limit=limit + 1)
    items = [AttemptOut(**{**r, "event_id": str(r["event_id"])}) for r in rows[:limit]]
    more = len(rows) > limit
    token = base64.urlsafe_b64encode(str(items[-1].attempt_id).encode()).decode() if more and items else None
    return AttemptPage(items=items, next_cursor=token)


def _cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        value = int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("cursor is not one this API gave", field="cursor") from None
    if value < 1 or value > 2**62:
        raise InvalidInput("cursor is not one this API gave", field="cursor")
    return value


class ReplayOut(BaseModel):
    queued: int


@router.post("/{endpoint_id}/replay", status_code=202, response_model=ReplayOut)
async def replay(endpoint_id: str, body: ReplayIn, request: Request, principal: Caller) -> ReplayOut:
    """Deliver again every event of this endpoint from a time, or after an event id (each decided again)."""
    await _own(request, endpoint_id, principal)
    queued = await store.replay(
        request.app.state.engine,
        endpoint_id,
        since=body.since,
        after_event=str(body.after_event_id) if body.after_event_id else None,
        now=_clock(request).now(),
    )
    if queued is None:
        raise InvalidInput("after_event_id names no event delivered to this endpoint", field="after_event_id")
    return ReplayOut(queued=queued)
