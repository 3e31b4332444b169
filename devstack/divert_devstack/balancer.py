"""A tiny TCP balancer for `DIVERT_REPLICAS=N`: one front port per service and for the gateway, as a Kubernetes
Service gives one address to a Deployment's pods.

Each connection goes to the next replica in turn; a replica that refuses the connection (dead, or restarting) is
skipped for the next, so a partner, the services' JWKS and consent URLs and `divert` keep one address each while
any replica is up. It runs on a thread of the launcher, which the supervisor never restarts. Bytes are copied as
they come; when either side closes, both are closed (HTTP/1.1 clients do not half-close).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from collections.abc import Mapping, Sequence

log = logging.getLogger("divert.balancer")

HOST = "127.0.0.1"
CONNECT_TIMEOUT = 2.0
CHUNK = 64 * 1024


class Balancer:
    """Listens on each front port of `routes` (front port -> replica ports) until `stop()`."""

    def __init__(self, routes: Mapping[int, Sequence[int]]) -> None:
        self._routes = {front: list(replicas) for front, replicas in routes.items()}
        self._turns = {front: itertools.count() for front in self._routes}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._stopping: asyncio.Event | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Listen on every front port; raises if one cannot be bound."""
        self._thread = threading.Thread(target=self._run, name="divert-balancer", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the balancer did not start")
        if self._failed is not None:
            raise self._failed

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # noqa: BLE001 - reported to start(), which re-raises it in the launcher
            self._failed = exc
            self._ready.set()
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        servers = []
        try:
            for front in self._routes:
                servers.append(await asyncio.start_server(self._handler(front), HOST, front))
            self._ready.set()
            await self._stopping.wait()
        finally:
            for server in servers:
                server.close()

    def _handler(self, front: int):  # type: ignore[no-untyped-def]
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._forward(front, reader, writer)

        return handle

    async def _forward(self, front: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await self._connect(front)
        if upstream is None:
            writer.close()  # no replica is up: the caller sees a refused-like close and retries
            return
        up_reader, up_writer = upstream
        pipes = [asyncio.ensure_future(_pipe(reader, up_writer)), asyncio.ensure_future(_pipe(up_reader, writer))]
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
            for w in (writer, up_writer):
                with contextlib.suppress(Exception):
                    w.close()

    async def _connect(self, front: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        replicas = self._routes[front]
        first = next(self._turns[front])
        for i in range(len(replicas)):
            port = replicas[(first + i) % len(replicas)]
            try:
                return await asyncio.wait_for(asyncio.open_connection(HOST, port), CONNECT_TIMEOUT)
            except (OSError, TimeoutError):
                continue  # refused or not answering: nothing was sent, so the next replica may have it
        log.warning("no replica behind port %d accepted a connection", front)
        return None


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while chunk := await source.read(CHUNK):
            sink.write(chunk)
            await sink.drain()
