"""`make bench`'s end-to-end benchmark runs: a tiny rate for 2 s on a system of its own, every figure printed,
nothing refused, lost or held twice. No figure's value is asserted: speed is measured, never tested."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
FIGURES = (
    "TARGET e2e sustained diversions/s, nothing lost",
    "TARGET e2e ChargeHeld p99 at 150/s",
    "lost (acknowledged, no ChargeHeld",
    "webhook deliveries to 14 subscribers (one per demo agency, every event type):",
    "raw asyncpg one-row commits, same PostgreSQL:",
    "e2e sustained / raw commits",
    "audit chain filled by the load:",
    "TARGET audit verification entries/s",
    "TARGET projection rebuild events/s",
)


def test_e2e_prints_every_figure_and_loses_nothing() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "e2e.py"), "--rates", "3", "--seconds", "2", "--drain", "30"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    for figure in FIGURES:
        assert figure in out, f"{figure!r} missing from:\n{out}"
    [row] = [line for line in out.splitlines() if line.split()[:2] == ["3", "6"]]  # the step: 3/s, 6 sent
    columns = row.replace("|", " ").split()
    refused, late, twice = (int(c) for c in columns[10:13])
    assert (refused, late, twice) == (0, 0, 0), row
    assert re.search(r"^webhook deliveries to .*: [1-9]\d*, 0 delivered twice", out, re.M), out
    assert re.search(r"^lost \(acknowledged, no ChargeHeld 60 s after the last step\): 0 of \d+$", out, re.M), out
