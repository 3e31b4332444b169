"""Replay of a partner's own NATS feed (DESIGN §7a): Divert repositions the one durable it made on the calling
agency's feed stream, from a time or after a stream sequence (each feed message carries its stream sequence in
its metadata: the position to ask for). Only the caller's own feed: no body field names an agency, and a
jurisdiction not in the caller's token, or one whose site has no feed for it, reads like one that does not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime

import nats.errors
import nats.js.errors
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from divert_gateway.adapters import feeds
from divert_gateway.entrypoints.callers import Caller
from divert_gateway.entrypoints.keyed import KeyedRoute
from divert_kernel import bus
from divert_kernel.errors import InvalidInput, NotFound, Unavailable
from divert_kernel.sites import load_sites

router = APIRouter(prefix="/v1/feeds", tags=["feeds"], route_class=KeyedRoute)
MAX_SEQUENCE = 2**53


class FeedReplayIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"jurisdiction": "seattle-king-county", "from_time": "2026-11-20T00:00:00Z"}]},
    )
    jurisdiction: str | None = Field(
        default=None, min_length=1, max_length=100, description="Needed when the caller's token names several."
    )
    from_time: datetime | None = Field(default=None, description="Deliver again every message from this time.")
    after_sequence: int | None = Field(
        default=None, ge=0, le=MAX_SEQUENCE, description="Deliver again every message after this stream sequence."
    )


class FeedReplayOut(BaseModel):
    jurisdiction: str
    stream: str
    durable: str
    from_time: datetime | None
    start_sequence: int | None


@router.post("/replay", response_model=FeedReplayOut)
async def replay_feed(body: FeedReplayIn, request: Request, principal: Caller) -> FeedReplayOut:
    """Restart the caller's own feed durable from a time or after a stream sequence (exactly one)."""
    start_time, start_sequence = _position(body)
    jurisdiction = _jurisdiction(request, body.jurisdiction, principal.agency, principal.jurisdictions)
    nc = getattr(request.app.state, "delivery_nc", None)
    if nc is None or not nc.is_connected:
        raise Unavailable("partner feeds are not reachable right now; try again shortly")
    try:
        await feeds.replay(
            nc.jetstream(timeout=5),
            jurisdiction,
            principal.agency,
            start_sequence=start_sequence,
            start_time=start_time,
        )
    except (nats.errors.Error, nats.js.errors.Error):
        raise Unavailable("the feed could not be repositioned; try again shortly") from None
    return FeedReplayOut(
        jurisdiction=jurisdiction,
        stream=bus.feed_stream(jurisdiction, principal.agency),
        durable=bus.feed_durable(jurisdiction, principal.agency),
        from_time=start_time,
        start_sequence=start_sequence,
    )


def _position(body: FeedReplayIn) -> tuple[datetime | None, int | None]:
    if body.from_time is None and body.after_sequence is None:
        raise InvalidInput("give from_time or after_sequence", field="from_time")
    if body.from_time is not None and body.after_sequence is not None:
        raise InvalidInput("give only one of from_time and after_sequence", field="after_sequence")
    if body.from_time is not None:
        if body.from_time.tzinfo is None:
            raise InvalidInput("from_time needs a time zone", field="from_time")
        try:
            return body.from_time.astimezone(UTC), None
        except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00 is before the first representable time
            raise InvalidInput("from_time is out of range", field="from_time") from None
    assert body.after_sequence is not None
    return None, body.after_sequence + 1


def _jurisdiction(request: Request, asked: str | None, agency: str, mine: frozenset[str]) -> str:
    if asked is None:
        if len(mine) != 1:
            raise InvalidInput("name the jurisdiction of the feed to replay", field="jurisdiction")
        (asked,) = mine
    site = load_sites(request.app.state.settings.sites_file).get(asked) if asked in mine else None
    if site is None or agency not in {a.agency_id for a in site.agencies}:
        raise NotFound("no such feed", field="jurisdiction")
    return asked
