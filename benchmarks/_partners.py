"""A webhook subscriber per demo agency, as a deployment runs partner delivery: every event type, one receiver.

Each demo client subscribes its agency (POST /v1/webhook-endpoints, all event types) to a receiver this process
serves on 127.0.0.1 (allowed by the demo's development setting), so the gateway decides every event for every
subscriber and delivers what the consent gate permits, during the load. The receiver answers 204 at once and
counts deliveries by `webhook-id`: `twice` counts an event delivered twice to one endpoint (at-least-once
delivery allows it after a failure; under load it should stay 0).
"""

from __future__ import annotations

import logging
from collections import Counter

import aiohttp
from _load import token
from aiohttp import web

from divert_contracts.entitlements import EVENT_TYPES


class Subscribers:
    def __init__(self) -> None:
        self.deliveries: Counter[tuple[str, str]] = Counter()  # (endpoint path, webhook-id) -> deliveries
        self.endpoints = 0
        self._runner: web.AppRunner | None = None

    @property
    def delivered(self) -> int:
        return len(self.deliveries)

    @property
    def twice(self) -> int:
        return sum(1 for n in self.deliveries.values() if n > 1)

    async def start(self, gateway_url: str, clients: dict[str, dict]) -> None:  # type: ignore[type-arg]
        # Deliveries still in flight when the benchmark stops the receiver are the gateway's to retry, not news.
        logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
        app = web.Application()
        app.router.add_post("/hook/{agency}", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        async with aiohttp.ClientSession(gateway_url) as gw:
            for agency, client in clients.items():
                bearer = {"Authorization": f"Bearer {await token(gw, client)}"}
                body = {
                    "url": f"http://127.0.0.1:{port}/hook/{agency}",
                    "event_types": sorted(EVENT_TYPES),
                    "description": "benchmark subscriber",
                }
                async with gw.post("/v1/webhook-endpoints", json=body, headers=bearer) as reply:
                    assert reply.status == 201, f"{agency}: {reply.status} {await reply.text()}"
                self.endpoints += 1

    async def _receive(self, request: web.Request) -> web.Response:
        await request.read()
        self.deliveries[(request.path, request.headers.get("webhook-id", ""))] += 1
        return web.Response(status=204)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
