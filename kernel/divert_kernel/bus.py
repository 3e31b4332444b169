"""NATS JetStream connection and the one-stream-per-publishing-service convention."""

from __future__ import annotations

import logging

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

log = logging.getLogger("divert.bus")

PUBLISHING_SERVICES = ("referral", "casemgmt", "consent", "prosecution", "audit", "gateway")
DUPLICATE_WINDOW_SECONDS = 24 * 3600


def stream_name(service: str) -> str:
    return f"DIVERT_{service.upper()}"


def stream_subjects(service: str) -> list[str]:
    return [f"lead.*.{service}.>"]


async def connect(url: str, name: str) -> Client:
    """A client that keeps reconnecting forever; the outbox holds events while it is away."""

    async def _disconnected() -> None:
        log.warning("NATS disconnected")

    async def _reconnected() -> None:
        log.info("NATS reconnected")

    async def _error(exc: Exception) -> None:
        log.debug("NATS error: %s", type(exc).__name__)

    return await nats.connect(
        url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=2,
        allow_reconnect=True,
        disconnected_cb=_disconnected,
        reconnected_cb=_reconnected,
        error_cb=_error,
    )


async def ensure_stream(js: JetStreamContext, service: str) -> None:
    """Create the service's stream if absent; file storage, long dedup window for relay retries."""
    config = StreamConfig(
        name=stream_name(service),
        subjects=stream_subjects(service),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        # Already exists with another config (e.g. an operator tuned it): use it as it is.
        await js.stream_info(config.name)
