"""NATS JetStream connection, the one-stream-per-publishing-service convention, and partner feed names.

Every credential's replies come to its own inbox, `_INBOX.<user>.>` (DESIGN §7a): NATS permissions grant each
user that prefix only, so no credential can read the replies (the fetched events) of another.
"""

from __future__ import annotations

import asyncio
import logging
import os
from urllib.parse import urlsplit

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

log = logging.getLogger("divert.bus")

PUBLISHING_SERVICES = ("referral", "casemgmt", "consent", "prosecution", "audit", "gateway", "evaluation")
DUPLICATE_WINDOW_SECONDS = 24 * 3600


def stream_name(service: str) -> str:
    return f"DIVERT_{service.upper()}"


def stream_subjects(service: str) -> list[str]:
    return [f"lead.*.{service}.>"]


def feed_subject(jurisdiction: str, agency: str, event_type: str = ">") -> str:
    """The subject an agency's feed carries an event type on (`>`: all of them)."""
    return f"feeds.{jurisdiction}.{agency}.{event_type}"


def feed_stream(jurisdiction: str, agency: str) -> str:
    """One stream per (jurisdiction, agency). Ids are lowercase, so the `_IN_` separator is unambiguous."""
    return f"FEEDS_{agency}_IN_{jurisdiction}"


def feed_durable(jurisdiction: str, agency: str) -> str:
    """The one durable consumer Divert creates on an agency's feed stream; the partner may only pull and ack it."""
    return agency


def feed_user(jurisdiction: str, agency: str) -> str:
    """The partner's NATS user name (services are `divert-<service>`: never an `@`)."""
    return f"{agency}@{jurisdiction}"


def inbox_prefix(user: str) -> str:
    return f"_INBOX.{user}"


# How many servers keep each stream: 1 on one nats-server, 3 on a three-node JetStream cluster (`make run` with
# DIVERT_NATS_CLUSTER=3 sets it for every process; a deployment sets it beside its NATS URL).
STREAM_REPLICAS_SETTING = "DIVERT_NATS_STREAM_REPLICAS"


def stream_replicas() -> int:
    return int(os.environ.get(STREAM_REPLICAS_SETTING, "1"))


def servers(url: str) -> list[str]:
    """A NATS URL, or a cluster's URLs separated by commas: the client's server pool, tried in turn."""
    return [part.strip() for part in url.split(",") if part.strip()]


def _pool(url: str) -> tuple[list[str], dict[str, str]]:
    """The server pool without credentials, and the user/password that go with every server of it.

    A cluster's servers tell each client of their peers (INFO `connect_urls`, without credentials); nats-py adds
    those to its pool and would log in there with none. Given as options, one user/password serves every server,
    so a client that lost its server reconnects to any peer, listed or discovered."""
    pool = servers(url)
    first = urlsplit(pool[0])
    if not (first.username and first.password):
        return pool, {}  # no credential, or a token: left in the URLs as given
    return [_without_login(u) for u in pool], {"user": first.username, "password": first.password}


def _without_login(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"{parts.hostname}:{parts.port or 4222}").geturl()


def _inbox_for(url: str) -> str:
    """The inbox prefix a user/password URL's user is granted; a token URL keeps the default."""
    parts = urlsplit(url)
    if parts.username and parts.password:
        return inbox_prefix(parts.username)
    return "_INBOX"


async def connect(url: str, name: str) -> Client:
    """A client that keeps reconnecting forever; the outbox holds events while it is away."""

    async def _disconnected() -> None:
        log.warning("nats_disconnected")

    async def _reconnected() -> None:
        log.info("nats_reconnected")

    async def _error(exc: Exception) -> None:
        log.debug("nats_error", extra={"error": type(exc).__name__})

    pool, login = _pool(url)
    return await nats.connect(
        pool,
        **login,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=2,
        allow_reconnect=True,
        inbox_prefix=_inbox_for(servers(url)[0]),
        disconnected_cb=_disconnected,
        reconnected_cb=_reconnected,
        error_cb=_error,
    )


async def ensure_stream(js: JetStreamContext, service: str) -> None:
    """Create the service's stream if absent; file storage, long dedup window for relay retries.

    Looked up first: a service's credential may create only its own stream, and a consumer waits (retrying)
    until the publishing service has created its own."""
    try:
        await js.stream_info(stream_name(service))
        return
    except NotFoundError:
        pass
    config = StreamConfig(
        name=stream_name(service),
        subjects=stream_subjects(service),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=stream_replicas(),
    )
    await add_stream(js, config)


NO_PEERS_YET = 10005  # JetStream: "no suitable peers for placement"


async def add_stream(js: JetStreamContext, config: StreamConfig, patience: float = 30.0) -> None:
    """Add the stream; in a cluster whose JetStream peers are still joining, wait for them (a meta leader may be
    elected before every node has announced itself, and a stream at R3 needs three)."""
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        try:
            await js.add_stream(config)
            return
        except BadRequestError as exc:
            if exc.err_code == NO_PEERS_YET and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.5)
                continue
            # Already exists with another config (e.g. an operator tuned it): use it as it is.
            await js.stream_info(str(config.name))
            return
