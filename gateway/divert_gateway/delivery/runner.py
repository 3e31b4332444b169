"""The delivery component as the gateway's background job: a durable consumer of every service's stream, and the
webhook dispatcher. Restarted if it fails; NATS and the consent service may come and go."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from fastapi import FastAPI
from nats.aio.client import Client

from divert_gateway.adapters import feeds as feed_streams
from divert_gateway.delivery import intake, schedule, tokens
from divert_gateway.delivery.dispatch import Dispatcher
from divert_gateway.delivery.publish import FeedPublisher
from divert_kernel import bus
from divert_kernel.clock import Clock
from divert_kernel.consumer import ANY_EVENT, Consumer
from divert_kernel.gate import ConsentGate
from divert_kernel.outbox import OutboxRelay
from divert_kernel.sites import load_sites

log = logging.getLogger("divert.gateway.delivery")

# The gateway's own events (WebhookEndpointDisabled) go to their agency's feed by the same path as every other.
SOURCES = ("referral", "casemgmt", "consent", "prosecution", "gateway")
SUBSCRIBER = "gateway-delivery"


def dispatcher_for(app: FastAPI, key, clock: Clock) -> Dispatcher:  # type: ignore[no-untyped-def]
    settings = app.state.settings
    app.state.delivery_gate = ConsentGate(settings.gate_url, timeout=5.0)
    app.state.delivery_mint = tokens.minter(key, settings.issuer, settings.audience)
    return Dispatcher(
        app.state.engine,
        app.state.delivery_gate,
        app.state.delivery_mint,
        clock=clock,
        allow_private=settings.webhook_allow_private_targets,
    )


async def run(app: FastAPI, dispatcher: Dispatcher, clock: Clock) -> None:
    """Consume every stream and dispatch, for the app's life."""
    settings = app.state.settings
    nc = None
    while nc is None:
        try:
            nc = await bus.connect(settings.nats_url, "divert-gateway-delivery")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - not reachable yet: keep trying
            log.warning("nats_unreachable", extra={"error": type(exc).__name__})
            await asyncio.sleep(0.5)
    app.state.delivery_nc = nc  # feed replay (POST /v1/feeds/replay) repositions durables over it
    try:
        await asyncio.gather(schedule.scheduler(app.state.engine, dispatcher).run(), *workers(app, nc, clock))
    finally:
        app.state.delivery_nc = None
        with contextlib.suppress(Exception):
            await nc.close()


def workers(app: FastAPI, nc: Client, clock: Clock) -> list[Coroutine[Any, Any, None]]:
    """Everything but the webhook dispatcher: the gateway's outbox relay, the consumers, the feed publisher, and
    the feeds of agencies added to the site directory while the gateway runs."""
    settings = app.state.settings
    sites = load_sites(settings.sites_file)  # kept current with its file: a new agency is a subscriber at once
    handlers = {ANY_EVENT: intake.handler(clock, sites)}
    consumers = [
        Consumer(app.state.engine, nc, subscriber=SUBSCRIBER, source=source, handlers=handlers) for source in SOURCES
    ]
    relay = OutboxRelay(app.state.engine, "gateway", nc, public_base_url=settings.public_base)
    feeds = FeedPublisher(app.state.engine, nc, app.state.delivery_gate, app.state.delivery_mint, clock)
    made = feed_streams.keep_up(nc.jetstream(), sites)
    return [relay.run(), feeds.run(), made, *(c.run() for c in consumers)]
