"""py-spy attached to each running uvicorn process for one load step, and what its samples say.

py-spy reads the process's memory from outside (ptrace): nothing in the services changes and nothing is
imported into them. `--nonblocking` never pauses the target, so the profile costs a core's fraction for the
sampler itself, not latency inside the services; figures of a profiled run are still marked as such.
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
from pathlib import Path

RATE = 67  # samples a second per process: six processes at 67 Hz cost the sampler itself a few % of a core

# Where a frame's code lives, so each sample is charged to the library (or our package) running at its top.
_OURS = (
    "divert_kernel",
    "divert_gateway",
    "divert_contracts",
    "referral",
    "casemgmt",
    "consent",
    "prosecution",
    "audit",
)
# Top frames that wait rather than work (an idle worker thread, the event loop's poll): py-spy's --nonblocking mode
# cannot always tell them idle, so they are counted apart, not charged to anything.
_WAITING = {"select", "wait", "get", "sleep", "_worker", "poll"}
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]*)(?::\d+)?\)$")


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if Path(found).exists() else None


def attach(pids: dict[str, int], seconds: float, out: Path) -> list[subprocess.Popen[bytes]]:
    binary = py_spy()
    if binary is None:
        raise RuntimeError("py-spy is not installed (pip install -e '.[bench]')")
    out.mkdir(parents=True, exist_ok=True)
    argv = [binary, "record", "--nonblocking", "--rate", str(RATE), "--format", "raw", "--duration"]
    return [
        subprocess.Popen(
            [*argv, str(max(1, round(seconds))), "--pid", str(pid), "-o", str(out / f"{name}.txt")],
            stdout=subprocess.DEVNULL,
            stderr=open(out / f"{name}.py-spy.log", "wb"),
        )
        for name, pid in pids.items()
    ]


def _package(file: str) -> str:
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    for ours in _OURS:
        if f"/{ours}/" in file or file.startswith(f"{ours}/"):
            return ours
    return "python stdlib" if "/lib/python" in file or file.startswith("<") else file.rsplit("/", 1)[-1]


def _stacks(path: Path) -> list[tuple[list[tuple[str, str]], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        frames_text, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = []
        for frame in frames_text.split(";"):
            m = _FRAME.match(frame)
            if m:
                frames.append((m["func"], m["file"]))
        stacks.append((frames, int(count)))
    return stacks


def summary(name: str, path: Path, top: int = 12) -> str:
    """Samples charged by library at the top of the stack, top own-time frames, and our heaviest functions."""
    stacks = _stacks(path) if path.exists() else []
    total = sum(c for _, c in stacks)
    if not total:
        return f"### {name}\n\nno samples (see {path.name}.py-spy.log)\n"
    by_package: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    ours: collections.Counter[str] = collections.Counter()
    waiting = 0
    for frames, count in stacks:
        if not frames:
            continue
        func, file = frames[-1]
        if func.rsplit(".", 1)[-1] in _WAITING:
            waiting += count
            continue
        by_package[_package(file)] += count
        leaf[f"{func} ({_short(file)})"] += count
        for f, fl in {(f, fl) for f, fl in frames if _package(fl) in _OURS}:
            ours[f"{f} ({_short(fl)})"] += count
    lines = [
        f"### {name}: {total} samples at {RATE} Hz, {waiting / total:.0%} of them waiting (poll, idle worker "
        "threads: left out); shares are of all samples"
    ]
    lines += ["", "| where the top frame is | share |", "| --- | ---: |"]
    lines += [f"| {pkg} | {c / total:5.1%} |" for pkg, c in by_package.most_common(top)]
    lines += ["", "| own time (top frame) | share |", "| --- | ---: |"]
    lines += [f"| `{f}` | {c / total:5.1%} |" for f, c in leaf.most_common(top)]
    lines += ["", "| our functions, inclusive | share |", "| --- | ---: |"]
    lines += [f"| `{f}` | {c / total:5.1%} |" for f, c in ours.most_common(top)]
    return "\n".join(lines) + "\n"


def _short(file: str) -> str:
    return file.split("site-packages/", 1)[-1] if "site-packages/" in file else "/".join(file.split("/")[-3:])
