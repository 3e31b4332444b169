"""The gateway's view of a replicated service, and the launcher's balanced front, on real loopback sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import httpx
import pytest
from pydantic import ValidationError

from divert_devstack.balancer import Balancer
from divert_devstack.procs import free_port
from divert_gateway.adapters.upstreams import Replicas
from divert_gateway.config import GatewaySettings


async def _replica(name: str) -> tuple[asyncio.Server, int]:
    """An HTTP/1.1 server on loopback that answers every request with its own name."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = name.encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.fixture
async def two_up_one_down() -> AsyncIterator[list[int]]:
    (a, port_a), (b, port_b) = await _replica("a"), await _replica("b")
    yield [port_a, free_port(), port_b]  # the middle one: nothing listens there (a killed replica)
    a.close()
    b.close()


async def test_requests_take_turns_and_skip_a_replica_that_refuses(two_up_one_down: list[int]) -> None:
    replicas = Replicas([f"http://127.0.0.1:{p}" for p in two_up_one_down], timeout=5)
    try:
        answers = [(await replicas.request("POST", "/v1/x", content=b"{}")).text for _ in range(6)]
    finally:
        await replicas.aclose()
    assert set(answers) == {"a", "b"}  # both live replicas served, and no request failed for the dead one
    assert answers.count("a") >= 2 and answers.count("b") >= 2


async def test_the_proxys_forwards_take_turns_and_skip_a_replica_that_refuses(two_up_one_down: list[int]) -> None:
    replicas = Replicas([f"http://127.0.0.1:{p}" for p in two_up_one_down], timeout=5)
    try:
        answers = [(await replicas.forward("POST", "/v1/x?a=%2F", b"{}", {})).body for _ in range(6)]
        every = Replicas([f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"], timeout=5)
        with pytest.raises(aiohttp.ClientConnectorError):
            await every.forward("GET", "/readyz", b"", {})
        await every.aclose()
    finally:
        await replicas.aclose()
    assert set(answers) == {b"a", b"b"}
    assert answers.count(b"a") >= 2 and answers.count(b"b") >= 2


async def test_when_every_replica_refuses_the_caller_gets_the_connect_error() -> None:
    replicas = Replicas([f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"], timeout=5)
    try:
        with pytest.raises(httpx.ConnectError):
            await replicas.get("/readyz")
    finally:
        await replicas.aclose()


async def test_the_launchers_front_spreads_connections_and_skips_a_dead_replica(two_up_one_down: list[int]) -> None:
    front = free_port()
    balancer = Balancer({front: two_up_one_down})
    await asyncio.to_thread(balancer.start)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{front}", timeout=5) as http:
            answers = [(await http.get("/healthz")).text for _ in range(6)]
    finally:
        await asyncio.to_thread(balancer.stop)
    assert set(answers) == {"a", "b"}


def test_a_service_url_setting_is_one_url_or_a_comma_separated_list() -> None:
    one = GatewaySettings(referral_url="http://127.0.0.1:8101/")
    many = GatewaySettings(referral_url=" http://127.0.0.1:8106, http://127.0.0.1:8107 ")
    assert one.upstreams()["referral"] == ["http://127.0.0.1:8101"]
    assert many.upstreams()["referral"] == ["http://127.0.0.1:8106", "http://127.0.0.1:8107"]
    assert many.gate_url == "http://127.0.0.1:8103"
    with pytest.raises(ValidationError, match="referral_url"):
        GatewaySettings(referral_url="http://127.0.0.1:8106,127.0.0.1:8107")
