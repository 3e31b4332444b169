"""Audit verification and projection rebuild alone, on a fresh system after a short load:

    python benchmarks/rebuild.py [--referrals N]

`make bench` measures the same after its end-to-end ramp (benchmarks/e2e.py calls _chain.measure); this runs only
these two, for work on them. The load's referrals go through the gateway as in e2e.py, so the audit chain and
the prosecution history hold what a deployment's would; _chain grows both from them before timing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import _chain
import aiohttp
from _load import Load, token
from _system import Running, running_system


async def _load(running: Running, referrals: int) -> None:
    async with aiohttp.ClientSession(running.gateway_url) as session:
        tokens = {
            kind: await token(session, running.clients[agency])
            for kind, agency in (("police", "seattle-pd"), ("prosecutor", "kc-prosecutor"))
        }
    load = Load(running.gateway_url, tokens, read_every=10)
    await load.open(running.operator_nats_url)
    try:
        records, _, _ = await load.step(40, referrals / 40, 30)
    finally:
        await load.close()
    held = sum(1 for r in records if r.referral_id in load.watch.first)
    print(f"load: {len(records)} referrals sent, {held} held by the prosecutor", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=400, help="referrals sent before measuring")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with running_system() as running:
        print(f"   system up in {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)
        asyncio.run(_load(running, args.referrals))
        time.sleep(3)  # the audit service and the prosecution consumers take in the load's last events
        asyncio.run(_chain.measure(running))


if __name__ == "__main__":
    main()
