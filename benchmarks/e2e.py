"""End to end through the gateway of a freshly started Divert: open-loop arrest diversions at rising rates.

    make bench                       (or: python benchmarks/e2e.py [--rates 50,100,150,200,300] [--seconds 10])
    python benchmarks/e2e.py --profile 150      (py-spy on every uvicorn process during the 150/s step)

Each step sends referrals at a fixed rate for a fixed time (POST /v1/referrals with an Idempotency-Key, as the
police partner), then waits a bounded time for what follows. Per step: the achieved rates, the request's p50/p99,
end to end to the prosecutor's ChargeHeld on NATS and to the prosecutor's read (GET /v1/held-charges/{id} 200,
every n-th referral), all from the scheduled send time; refused (no 201), lost (201 but no ChargeHeld by the end
of the drain) and twice (two ChargeHeld events for one referral). Then, on the same PostgreSQL and with the
concurrency the system had in flight, raw asyncpg one-row commits per second, and the audit chain the load
filled, verified as `divert audit verify` walks it. The ramp stops at the first step that loses or refuses
anything or whose end-to-end p99 passes --break-at: higher rates would only queue.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from pathlib import Path

import aiohttp
from _load import Load, Sent, token
from _partners import Subscribers
from _report import ms, not_measured, quantile, target
from _system import Running, running_system

SUSTAINED_P99 = 1.0  # a step "keeps up" with nothing refused or lost and ChargeHeld p99 under this (the queue held)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rates", default=env("BENCH_RATES", "25,50,75,100,150,200,300"), help="referrals/s per step")
    parser.add_argument("--seconds", type=float, default=float(env("BENCH_SECONDS", "10")), help="each step's length")
    parser.add_argument("--drain", type=float, default=float(env("BENCH_DRAIN", "15")), help="wait after a step, s")
    parser.add_argument("--read-every", type=int, default=int(env("BENCH_READ_EVERY", "10")), help="sample reads")
    parser.add_argument("--break-at", type=float, default=float(env("BENCH_BREAK_AT", "5")), help="stop ramp, p99 s")
    parser.add_argument("--profile", type=float, default=None, help="py-spy every process during this rate's step")
    parser.add_argument("--profile-dir", type=Path, default=Path(__file__).parent / "profiles")
    parser.add_argument("--final-drain", type=float, default=float(env("BENCH_FINAL_DRAIN", "60")), help="lost after")
    parser.add_argument("--no-baseline", action="store_true", help="skip the raw commits and the audit walk")
    return parser.parse_args(argv)


HEADER = (
    f"{'rate/s':>7} {'sent':>6} {'acked/s':>8} {'held/s':>7} | {'req p50':>7} {'p99':>6} | {'held p50':>8} "
    f"{'p99':>6} | {'read p50':>8} {'p99':>6} | {'refused':>7} {'late':>5} {'twice':>5} | {'hooks':>6} | {'lag':>5} "
    f"{'cpu':>5}"
)


def _row(rate: float, seconds: float, records: list[Sent], load: Load, cpu: float, lag: float, hooks: int) -> dict:  # type: ignore[type-arg]
    first = min(r.scheduled for r in records)
    acked = [r for r in records if r.status == 201]
    seen = [(r, load.watch.first[r.referral_id]) for r in acked if r.referral_id in load.watch.first]
    request = [r.answered - r.scheduled for r in records if r.answered is not None]
    held = [at - r.scheduled for r, at in seen]
    read = [r.read_at - r.scheduled for r in acked if r.read_at is not None]
    row = {
        "rate": rate,
        "refused": len(records) - len(acked),
        "lost": len(acked) - len(seen),
        "twice": load.watch.twice([r.referral_id for r in acked if r.referral_id]),
        "held_p99": quantile(held, 0.99),
        "inflight": sum(request) / seconds,  # Little's law: the mean number of requests the system held at once
    }
    acked_rate = len(acked) / max(1e-9, max((r.answered or first for r in acked), default=first) - first)
    held_rate = len(seen) / max(1e-9, max((at for _, at in seen), default=first) - first)
    print(
        f"{rate:7.0f} {len(records):6d} {acked_rate:8.1f} {held_rate:7.1f} | {ms(quantile(request, 0.5)):>7} "
        f"{ms(quantile(request, 0.99)):>6} | {ms(quantile(held, 0.5)):>8} {ms(row['held_p99']):>6} | "
        f"{ms(quantile(read, 0.5)):>8} {ms(quantile(read, 0.99)):>6} | {row['refused']:7d} {row['lost']:5d} "
        f"{row['twice']:5d} | {hooks:6d} | {ms(lag):>5} {cpu / (seconds or 1):5.0%}",
        flush=True,
    )
    return row


async def _ramp(running: Running, args: argparse.Namespace) -> list[dict]:  # type: ignore[type-arg]
    rates = [float(r) for r in str(args.rates).split(",") if r.strip()]
    async with aiohttp.ClientSession(running.gateway_url) as session:
        tokens = {
            kind: await token(session, running.clients[agency])
            for kind, agency in (("police", "seattle-pd"), ("prosecutor", "kc-prosecutor"))
        }
    load = Load(running.gateway_url, tokens, args.read_every)
    await load.open(running.operator_nats_url)
    partners = Subscribers()
    await partners.start(running.gateway_url, running.clients)
    rows = []
    try:
        await load.step(5, 1, 10)  # warm every path (connections, statement caches, consumers) before measuring
        print(f"-- end to end through the gateway: {args.seconds:g} s a step, times in ms from the scheduled send")
        print(HEADER, flush=True)
        for rate in rates:
            profilers = _start_profile(running, args, rate)
            delivered = partners.delivered
            records, cpu, lag = await load.step(rate, args.seconds, args.drain)
            for proc in profilers:
                await asyncio.to_thread(proc.wait)
            rows.append(_row(rate, args.seconds, records, load, cpu, lag, partners.delivered - delivered))
            if profilers:
                _write_profile(args, rate)
            last = rows[-1]
            if last["refused"] or last["lost"] or not last["held_p99"] <= args.break_at:
                print(f"   (the ramp stops here: the system fell behind at {rate:g}/s; higher rates would only queue)")
                break
        await _final_drain(load, args.final_drain)
        print(
            f"webhook deliveries to {partners.endpoints} subscribers (one per demo agency, every event type): "
            f"{partners.delivered}, {partners.twice} delivered twice to one endpoint"
        )
    finally:
        await partners.stop()
        await load.close()
    print("   refused: no 201 (an error, or no answer by the end of the drain); late: 201 but no ChargeHeld by then")
    print("   hooks: webhook deliveries the subscribers received during the step and its drain")
    print("   lag: the client's latest send behind its schedule; cpu: the client's own CPU over the step")
    return rows


async def _final_drain(load: Load, seconds: float) -> None:
    """Lost means acknowledged and never seen: late ones get a last, bounded wait before they are called lost."""
    acked = [rid for rid in load.acked if rid]
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline and not all(rid in load.watch.first for rid in acked):
        await asyncio.sleep(0.1)
    lost = sum(1 for rid in acked if rid not in load.watch.first)
    print(f"lost (acknowledged, no ChargeHeld {seconds:g} s after the last step): {lost} of {len(acked)}")


def _start_profile(running: Running, args: argparse.Namespace, rate: float) -> list:  # type: ignore[type-arg]
    if args.profile is None or not math.isclose(args.profile, rate):
        return []
    import _profile

    return _profile.attach(running.pids(), args.seconds, args.profile_dir / f"{rate:g}")


def _write_profile(args: argparse.Namespace, rate: float) -> None:
    import _profile

    folder = args.profile_dir / f"{rate:g}"
    text = "\n".join(_profile.summary(name, folder / f"{name}.txt") for name in _PROCESSES)
    (folder / "summary.md").write_text(text)
    print(f"   profile of the {rate:g}/s step: {folder / 'summary.md'}")


_PROCESSES = ("gateway", "referral", "prosecution", "consent", "casemgmt", "audit")


async def _baselines(running: Running, rows: list[dict]) -> tuple[float, int]:  # type: ignore[type-arg]
    """Raw one-row commits on the same PostgreSQL, with as many writers as the system had requests in flight at
    its highest rate that kept up (at a rate it did not, the queue, not the load, sets what is in flight)."""
    from append import raw_commits

    from divert_devstack.postgres import ensure_databases

    kept = [r for r in rows if r["rate"] == _sustained(rows)] or rows[:1]
    writers = max(1, min(64, math.ceil(max((r["inflight"] for r in kept), default=1))))
    await ensure_databases(running.database_url("postgres"), ["bench_raw"])
    return await raw_commits(running.database_url("bench_raw"), 4000, writers), writers


def _sustained(rows: list[dict]) -> float:  # type: ignore[type-arg]
    kept = [r["rate"] for r in rows if not r["refused"] and not r["lost"] and r["held_p99"] < SUSTAINED_P99]
    return max(kept, default=0.0)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    started = time.monotonic()
    with running_system() as running:
        print(f"   system up in {time.monotonic() - started:.0f}s; measuring", file=sys.stderr, flush=True)
        rows = asyncio.run(_ramp(running, args))
        sustained = _sustained(rows)
        target("e2e sustained diversions/s, nothing lost", sustained, "/s", 300, higher_is_better=True)
        at_150 = [r for r in rows if math.isclose(r["rate"], 150)]
        if at_150:
            target("e2e ChargeHeld p99 at 150/s", at_150[0]["held_p99"] * 1000, "ms", 100, higher_is_better=False)
        else:
            not_measured("e2e ChargeHeld p99 at 150/s", "no 150/s step was run (or the ramp stopped before it)")
        if not args.no_baseline:
            raw, writers = asyncio.run(_baselines(running, rows))
            print(f"raw asyncpg one-row commits, same PostgreSQL: {raw:8.0f}/s  ({writers} writers, matched)")
            print(f"e2e sustained / raw commits                 : {sustained / raw:8.3f}")
            import _chain

            asyncio.run(_chain.measure(running))


if __name__ == "__main__":
    main()
