"""`make bench`: every benchmark in turn, then each figure of issue 15's target list in one table.

Each benchmark starts its own PostgreSQL (and, where it needs them, NATS and the services) on free loopback
ports in a temporary home, so a `make run` on the same machine is never touched. Bounded: a few minutes.
Figures on a machine other processes share are indicative; a benchmark never asserts one.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from _report import MARK

HERE = Path(__file__).parent
RUNS = (
    ("event-store appends", ["append.py"]),
    ("consent decisions", ["decisions.py"]),
    ("end to end", ["e2e.py"]),
)


def main() -> int:
    figures: list[str] = []
    failed = []
    for name, argv in RUNS:
        print(f"\n== {name}: python benchmarks/{' '.join(argv)}", flush=True)
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, str(HERE / argv[0]), *argv[1:]], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if line.startswith(MARK):
                figures.append(line.rstrip())
        if proc.wait():
            failed.append(name)
        print(f"   ({time.monotonic() - started:.0f} s)", flush=True)
    print("\n== issue 15's targets (ratio = figure / target: >= 1 meets a floor, <= 1 meets a ceiling)")
    print("\n".join(figures))
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
