"""The outbox relay: publish committed events to JetStream, mark them only after the ack."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging

import sqlalchemy as sa
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.errors import NoStreamResponseError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from divert_kernel import bus, envelope
from divert_kernel.eventstore import StoredEvent

log = logging.getLogger("divert.outbox")

_PENDING = sa.text(
    """
    SELECT e.position, e.event_id::text AS event_id, e.stream_id, e.version, e.type, e.schema_version,
           e.jurisdiction, e.data, e.metadata, e.recorded_at
    FROM outbox o JOIN events e ON e.position = o.position
    WHERE o.published_at IS NULL
    ORDER BY o.position
    LIMIT :limit
    """
)
# Outside a transaction, on the partial index outbox_unpublished: an idle round is this one statement, not a
# transaction around the leader lock and the pending query (four round trips, several times a second per service).
_ANY_PENDING = "SELECT EXISTS (SELECT 1 FROM outbox WHERE published_at IS NULL)"
_MARK = sa.text("UPDATE outbox SET published_at = now() WHERE position = ANY(CAST(:positions AS bigint[]))")
ACK_TIMEOUT_SECONDS = 5
# One relay publishes at a time per database, so JetStream receives each service's events in order.
_LEADER = sa.text("SELECT pg_try_advisory_xact_lock(hashtext('divert-outbox-relay'))")


async def _any_pending(conn: AsyncConnection) -> bool:
    """Whether any event waits to be published, asked on the driver before `conn` begins a transaction (so no
    BEGIN and COMMIT around it). A row committed just after is not missed: its commit wakes the relay again."""
    raw = await conn.get_raw_connection()
    adapted = raw.dbapi_connection
    try:
        async with adapted._execute_mutex:  # type: ignore[union-attr]
            return bool(await adapted._connection.fetchval(_ANY_PENDING))  # type: ignore[union-attr]
    except Exception:
        # SQLAlchemy did not see this statement fail, so would pool a connection the database may have dropped.
        await conn.invalidate()
        raise


class _PendingAcks:
    """JetStream publishes sent without waiting, their acks answered to one inbox subscription of this relay.

    Not nats-py's `publish_async`: in 2.16 an error answer from JetStream (e.g. a message over the stream's size
    limit) raises inside its reply callback and leaves that publish's future unresolved, a wait of the full timeout.
    """

    def __init__(self, nc: Client) -> None:
        self._nc = nc
        self._inbox: str | None = None
        self._tokens = itertools.count()
        self._waiting: dict[str, asyncio.Future[None]] = {}

    async def send(self, subject: str, payload: bytes, headers: dict[str, str]) -> tuple[str, asyncio.Future[None]]:
        if self._inbox is None:
            inbox = self._nc.new_inbox()  # under this user's inbox prefix, which its permissions allow
            await self._nc.subscribe(f"{inbox}.*", cb=self._answered)
            self._inbox = inbox
        token = str(next(self._tokens))
        future = self._waiting[token] = asyncio.get_running_loop().create_future()
        try:
            await self._nc.publish(subject, payload, reply=f"{self._inbox}.{token}", headers=headers)
        except BaseException:
            self.forget(token)
            raise
        return token, future

    def forget(self, token: str) -> None:
        future = self._waiting.pop(token, None)
        if future is not None and not future.done():
            future.cancel()

    async def _answered(self, msg: Msg) -> None:
        future = self._waiting.pop(msg.subject.rsplit(".", 1)[-1], None)
        if future is None or future.done():
            return
        if msg.headers and msg.headers.get("Status") == "503":
            future.set_exception(NoStreamResponseError())
            return
        try:
            error = json.loads(msg.data).get("error")
        except ValueError as exc:
            future.set_exception(exc)
            return
        if error:
            future.set_exception(RuntimeError(f"JetStream refused the event: {error.get('description', error)}"))
        else:
            future.set_result(None)


class OutboxRelay:
    """Runs beside the service; `wake()` after a commit makes it publish within `gather` seconds.

    Waiting a few milliseconds after the first wake lets a burst of commits go out as one batch (one
    query, one mark) instead of one relay round per request competing with the requests for the CPU.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        service: str,
        nc: Client,
        *,
        batch: int = 256,
        idle: float = 0.25,
        gather: float = 0.005,
        public_base_url: str = envelope.DEFAULT_PUBLIC_BASE_URL,
    ) -> None:
        self._engine = engine
        self._service = service
        self._js = nc.jetstream()
        self._acks = _PendingAcks(nc)
        self._batch = batch
        self._idle = idle
        self._gather = gather
        self._wake = asyncio.Event()
        self._public_base_url = public_base_url

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        await self._ensure_stream()
        while True:
            self._wake.clear()  # before the round: a commit during it wakes the next one
            try:
                published = await self.publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox_relay_backing_off", extra={"error": type(exc).__name__})
                published = 0
                await asyncio.sleep(0.5)
            if published < self._batch:
                try:
                    await asyncio.wait_for(self._wake.wait(), self._idle)
                    await asyncio.sleep(self._gather)
                except TimeoutError:
                    pass

    async def _ensure_stream(self) -> None:
        while True:
            try:
                await bus.ensure_stream(self._js, self._service)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox_stream_not_ready", extra={"error": type(exc).__name__})
                await asyncio.sleep(0.5)

    async def publish_pending(self) -> int:
        """Publish one batch; rows are marked published only for events JetStream acknowledged."""
        async with self._engine.connect() as conn:
            if not await _any_pending(conn):
                return 0
            async with conn.begin():
                if not (await conn.execute(_LEADER)).scalar():
                    return 0
                rows = (await conn.execute(_PENDING, {"limit": self._batch})).mappings().all()
                sent: list[tuple[int, str, asyncio.Future[None]]] = []
                try:
                    for row in rows:
                        sent.append((row["position"], *await self._send(StoredEvent(**row))))
                finally:
                    acked = await self._acknowledged(sent)
                    if acked:
                        await conn.execute(_MARK, {"positions": acked})
                return len(acked)

    async def _send(self, stored: StoredEvent) -> tuple[str, asyncio.Future[None]]:
        """Send without waiting for its ack: the batch's acks are awaited together (one round trip, not one each).

        The messages leave in order on one connection, so JetStream stores them in order. If one in the middle
        fails (refused, or its ack times out) while later ones are stored, it is sent again next round and lands
        after them: consumers already cope with that, since an event that needs an earlier one is retried with
        backoff until the earlier one is applied. Nats-Msg-Id (the event id) makes a resend of a stored event a
        no-op, so nothing is stored twice whatever was or was not acknowledged.
        """
        ce = envelope.to_cloudevent(self._service, stored, self._public_base_url)
        return await self._acks.send(
            envelope.subject(stored.jurisdiction, self._service, stored.type),
            json.dumps(ce, separators=(",", ":")).encode(),
            headers={"Nats-Msg-Id": stored.event_id},
        )

    async def _acknowledged(self, sent: list[tuple[int, str, asyncio.Future[None]]]) -> list[int]:
        """The positions JetStream acknowledged within the timeout; the rest are given up (sent again later)."""
        waiting = [future for _, _, future in sent if not future.done()]
        if waiting:
            await asyncio.wait(waiting, timeout=ACK_TIMEOUT_SECONDS)
        acked = []
        for position, token, future in sent:
            if not future.done():
                self._acks.forget(token)
            elif not future.cancelled() and future.exception() is None:
                acked.append(position)
        if len(acked) < len(sent):
            log.warning("outbox_publish_unacknowledged", extra={"events": len(sent) - len(acked)})
        return acked
