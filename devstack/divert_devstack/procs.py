"""Child processes that die with their parent and stop cleanly."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Linux only: if the launcher is killed outright, the kernel sends SIGTERM to each child, so no orphans.
    # Elsewhere (macOS) a launcher killed by SIGKILL leaves its children running; Ctrl-C and SIGTERM stop them.
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)  # the C library already loaded: glibc or musl
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    os.setpgrp()  # POSIX: the child and its own children are stopped together, by process group


def spawn(
    argv: Sequence[str],
    *,
    log: Path,
    env: dict[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a child in its own process group that is signalled when its parent dies."""
    log.parent.mkdir(parents=True, exist_ok=True)
    out = open(log, "ab")  # noqa: SIM115 - the child owns the file from here on
    return subprocess.Popen(
        list(argv),
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        user=user,
        cwd=cwd,
        preexec_fn=_die_with_parent,
    )


def stop(proc: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Signal a child's process group and wait; kill it if it will not go."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, *, proc: subprocess.Popen[bytes] | None = None, timeout: float = 30.0) -> None:
    """Block until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port} after {timeout}s")


@dataclass
class _Backoff:
    failures: int = 0
    next_try: float = 0.0
    started: float = 0.0


@dataclass
class Supervisor:
    """Restarts children that exit, waiting `first` seconds, doubling per quick death up to `most`.

    A child that stayed up for `settled` seconds before dying is restarted after `first` again.
    """

    first: float = 0.5
    most: float = 30.0
    settled: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _state: dict[str, _Backoff] = field(default_factory=dict)

    def check(
        self, children: Mapping[str, subprocess.Popen[bytes] | None], restart: Callable[[str], None]
    ) -> list[str]:
        lines = []
        now = self.clock()
        for name, proc in children.items():
            state = self._state.setdefault(name, _Backoff(started=now))
            if proc is not None and proc.poll() is None:
                continue
            if state.next_try == 0.0:
                quick = now - state.started < self.settled
                state.failures = state.failures + 1 if quick else 1
                state.next_try = now + min(self.most, self.first * 2 ** (state.failures - 1))
                code = proc.returncode if proc is not None else "?"
                lines.append(f"{name} exited ({code}); restarting in {state.next_try - now:.1f}s")
            if now < state.next_try:
                continue
            try:
                restart(name)
            except Exception as exc:  # noqa: BLE001 - a failed restart is retried later, never fatal
                lines.append(f"{name} did not restart ({type(exc).__name__}); will retry")
                state.next_try = 0.0
                state.started = self.clock()
                continue
            state.next_try, state.started = 0.0, self.clock()
            lines.append(f"restarted {name} (restart {state.failures})")
        return lines
