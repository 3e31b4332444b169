"""Partner feeds on NATS (DESIGN §7a): per agency, one stream and one durable consumer that Divert creates.

The delivery component publishes each entitled, permitted event to `feeds.<jurisdiction>.<agency>.<EventType>`
(header `Nats-Msg-Id: <event id>:<agency>`); the agency's stream `FEEDS_<agency>_IN_<jurisdiction>` captures
exactly that agency's subjects. The partner's credential may only pull from and ack the durable made here
(divert_devstack.nats), so it can never choose what it reads: Divert decides where its durable starts.

The gateway makes them at start-up, from the site directory: it is the one component that publishes feeds,
its credential is the one allowed to create feed streams and their durables, and it runs in every deployment
(the launcher only on one machine). An agency added to the directory while it runs (`divert clients add`) gets
its feed within seconds (`keep_up`), as soon as NATS lets the gateway create it: at once where `divert` reloads
the local nats-server, after the operator's upgrade of the NATS release in a deployment.

Replay from a position: `replay()` recreates the agency's durable to start at a stream sequence (each message
a partner receives carries its stream sequence in its metadata: the position to ask for) or at a time.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError
from pydantic_settings import BaseSettings, SettingsConfigDict

from divert_kernel import bus
from divert_kernel.sites import Sites, load_sites

log = logging.getLogger("divert.gateway.feeds")

ACK_WAIT_SECONDS = 30


class FeedSettings(BaseSettings):
    """Read beside GatewaySettings, with the same prefix: no NATS URL, no feeds (e.g. the gateway's unit tests)."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    nats_url: str | None = None
    sites_file: str | None = None


def stream_config(jurisdiction: str, agency: str, replicas: int | None = None) -> StreamConfig:
    """`replicas`: how many NATS servers keep the feed; by default the setting every Divert stream follows."""
    return StreamConfig(
        name=bus.feed_stream(jurisdiction, agency),
        subjects=[bus.feed_subject(jurisdiction, agency)],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=bus.DUPLICATE_WINDOW_SECONDS,
        num_replicas=replicas or bus.stream_replicas(),
    )


def consumer_config(
    jurisdiction: str, agency: str, *, start_sequence: int | None = None, start_time: datetime | None = None
) -> ConsumerConfig:
    """A pull durable (no deliver subject: nothing is pushed anywhere), acked one by one, redelivered forever."""
    policy = DeliverPolicy.ALL
    if start_sequence is not None:
        policy = DeliverPolicy.BY_START_SEQUENCE
    elif start_time is not None:
        policy = DeliverPolicy.BY_START_TIME
    return ConsumerConfig(
        durable_name=bus.feed_durable(jurisdiction, agency),
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=policy,
        opt_start_seq=start_sequence,
        opt_start_time=start_time.isoformat() if start_time is not None else None,
        ack_wait=ACK_WAIT_SECONDS,
        max_deliver=-1,
    )


async def ensure_feed(js: JetStreamContext, jurisdiction: str, agency: str, replicas: int | None = None) -> None:
    """The agency's feed stream and its durable, created if absent; an existing one is left as it is."""
    stream = bus.feed_stream(jurisdiction, agency)
    try:
        await js.stream_info(stream)
    except NotFoundError:
        await bus.add_stream(js, stream_config(jurisdiction, agency, replicas))
    try:
        await js.consumer_info(stream, bus.feed_durable(jurisdiction, agency))
    except NotFoundError:
        await js.add_consumer(stream, consumer_config(jurisdiction, agency))


async def ensure_feeds(js: JetStreamContext, sites: Sites) -> int:
    """Every agency of every site gets its feed; returns how many there are."""
    count = 0
    for site in sites.sites:
        for agency in site.agencies:
            await ensure_feed(js, site.jurisdiction, agency.agency_id)
            count += 1
    return count


async def keep_up(js: JetStreamContext, sites: Sites, every: float = 2.0) -> None:
    """For the gateway's life: every agency of the directory, as it is now, has its feed. A feed NATS does not
    let the gateway create yet (its account not configured yet) is tried again each round, logged once."""
    made: set[tuple[str, str]] = set()
    failing: set[tuple[str, str]] = set()
    while True:
        sites.refresh()
        for site in sites.sites:
            for agency in site.agencies:
                feed = (site.jurisdiction, agency.agency_id)
                if feed in made:
                    continue
                try:
                    await ensure_feed(js, *feed)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - denied until NATS is configured, or NATS away: retry
                    if feed not in failing:
                        log.warning(
                            "feed of %s in %s not made yet (%s); retrying", feed[1], feed[0], type(exc).__name__
                        )
                    failing.add(feed)
                    continue
                if feed in failing:
                    log.info("feed_made", extra={"agency": feed[1], "jurisdiction": feed[0]})
                failing.discard(feed)
                made.add(feed)
        await asyncio.sleep(every)


async def replay(
    js: JetStreamContext,
    jurisdiction: str,
    agency: str,
    *,
    start_sequence: int | None = None,
    start_time: datetime | None = None,
) -> None:
    """Restart the agency's durable at a stream sequence or a time (nothing given: from the first message)."""
    stream = bus.feed_stream(jurisdiction, agency)
    try:
        await js.delete_consumer(stream, bus.feed_durable(jurisdiction, agency))
    except NotFoundError:
        pass
    config = consumer_config(jurisdiction, agency, start_sequence=start_sequence, start_time=start_time)
    await js.add_consumer(stream, config)


async def provision(settings: FeedSettings) -> None:
    """Connect as the gateway, make its own stream and every agency's feed, then let go of the connection."""
    assert settings.nats_url is not None
    sites = load_sites(settings.sites_file)
    while True:
        try:
            nc = await bus.connect(settings.nats_url, "divert-gateway-feeds")
            try:
                js = nc.jetstream()
                await bus.ensure_stream(js, "gateway")
                count = await ensure_feeds(js, sites)
            finally:
                await nc.close()
            log.info("partner_feeds_ready", extra={"feeds": count})
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - NATS may not be up yet: retry, naming only the error's class
            log.warning("partner_feeds_not_provisioned", extra={"error": type(exc).__name__})
            await asyncio.sleep(1)


def start(settings: FeedSettings | None = None) -> asyncio.Task[None] | None:
    """Provision in the background (the gateway serves meanwhile); None when no NATS URL is configured."""
    settings = settings or FeedSettings()
    if settings.nats_url is None:
        return None
    return asyncio.create_task(provision(settings), name="divert-feeds-provisioning")
