"""CPU time per request in each process (utime + stime from /proc, idle rate subtracted).

    python benchmarks/cpu.py

Less sensitive to a shared machine than latency: a process preempted while it waits for a core spends no CPU.
Not part of `make bench` (Linux only); used to compare branches for benchmarks/PROFILE.md.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import aiohttp
from _load import referral, token
from _system import running_system

TICK = os.sysconf("SC_CLK_TCK")


def cpu(pids: dict[str, int]) -> dict[str, float]:
    out = {}
    for name, pid in pids.items():
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        out[name] = (int(f[11]) + int(f[12])) / TICK
    return out


async def phase(label, pids, n, call, idle):
    before, t = cpu(pids), time.monotonic()
    for i in range(n):
        await call(i)
    dt, after = time.monotonic() - t, cpu(pids)
    per = {k: ((after[k] - before[k]) - idle[k] * dt) / n * 1e3 for k in pids}
    total = sum(v for v in per.values())
    shown = "  ".join(f"{k} {v:5.2f}" for k, v in per.items() if abs(v) >= 0.05)
    print(f"{label:34s} total {total:6.2f} ms CPU/request | {shown}   ({n / dt:.0f}/s)", flush=True)


async def measure(running):  # type: ignore[no-untyped-def]
    pids = running.pids()
    await asyncio.sleep(5)
    a, t0 = cpu(pids), time.monotonic()
    await asyncio.sleep(20)
    b = cpu(pids)
    dt = time.monotonic() - t0
    idle = {k: (b[k] - a[k]) / dt for k in pids}
    print("idle CPU, % of a core per process: " + "  ".join(f"{k} {v * 100:.1f}" for k, v in idle.items()), flush=True)
    print(f"idle total: {sum(idle.values()) * 100:.1f} % of a core", flush=True)
    async with aiohttp.ClientSession(running.gateway_url) as gw:
        police = {"Authorization": f"Bearer {await token(gw, running.clients['seattle-pd'])}"}
        async with aiohttp.ClientSession(running.stack.service_url("referral"), headers=police) as ref:

            async def check(i):
                async with ref.get("/auth/check") as r:
                    assert r.status == 200
                    await r.read()

            async def proxied(i):
                async with gw.get("/v1/referrals/00000000-0000-0000-0000-000000000000", headers=police) as r:
                    assert r.status < 500, r.status
                    await r.read()

            async def refer(i):
                async with gw.post(
                    "/v1/referrals", data=referral(i), headers={**police, "Content-Type": "application/json"}
                ) as r:
                    assert r.status == 201, await r.text()
                    await r.read()

            for _ in range(2):
                await phase("referral GET /auth/check, direct", pids, 1000, check, idle)
                await phase("gateway GET (proxied, refused)", pids, 1000, proxied, idle)
                await phase("POST /v1/referrals via gateway", pids, 200, refer, idle)
                await asyncio.sleep(10)  # consumers catch up before the next round


if __name__ == "__main__":
    with running_system(quiet=True) as running:
        asyncio.run(measure(running))
