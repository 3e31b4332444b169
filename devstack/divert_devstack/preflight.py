"""Before `make run` starts or deletes anything: one launcher per home, and every port it will listen on is free."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

LOCK_FILE = "launcher.lock"


class AlreadyRunning(Exception):
    """Another launcher holds the home's lock: its files are its own."""

    def __init__(self, home: Path, pid: int | None) -> None:
        self.home, self.pid = home, pid
        who = f"launcher pid {pid}" if pid else "a launcher whose pid is not written yet"
        stop = f"kill {pid}" if pid else "Ctrl-C in its terminal"
        super().__init__(
            f"Divert is already running on {home} ({who}); nothing was started or changed. "
            f"Stop it first ({stop}), or run this one with another DIVERT_HOME and other ports."
        )


class HomeLock:
    """An exclusive flock on `<home>/launcher.lock`, held for the launcher's life, with its pid written inside.

    The kernel drops the lock when the launcher exits, however it exits, so a crash never leaves a stale lock;
    the file itself is left in place (unlinking a locked file lets two launchers lock two different files).
    Children never inherit it: Python opens descriptors non-inheritable and Popen closes the rest.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self.path = home / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> HomeLock:
        self.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise AlreadyRunning(self.home, holder) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> HomeLock:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None


class PortsTaken(Exception):
    """Something already listens on (or holds) a port the launcher needs."""

    def __init__(self, taken: Mapping[str, int], hints: Mapping[str, str]) -> None:
        self.taken = dict(taken)
        lines = [
            "cannot start Divert: these ports on 127.0.0.1 are in use (or given to two parts of Divert); nothing was started or changed."
        ]
        for name, port in taken.items():
            holders = _holders(port)
            held = f" (held by pid {', '.join(holders)})" if holders else ""
            lines.append(f"  port {port} for {name}{held}: free it or set {hints.get(name, 'another port')}")
        lines.append("  (another `make run` with another DIVERT_HOME? `lsof -nP -iTCP -sTCP:LISTEN` lists listeners)")
        super().__init__("\n".join(lines))


def check_ports(ports: Mapping[str, int], hints: Mapping[str, str]) -> None:
    """Raise PortsTaken naming every port in `ports` (name → port) that is in use or named twice."""
    taken = {name: port for name, port in ports.items() if _in_use(port)}
    seen: dict[int, str] = {}
    for name, port in ports.items():
        if port in seen and name not in taken:
            taken[name] = port  # two parts of Divert cannot share one port
        seen.setdefault(port, name)
    if taken:
        raise PortsTaken(taken, hints)


def _in_use(port: int) -> bool:
    # Connect first: on macOS a bind with SO_REUSEADDR succeeds beside a listener on 0.0.0.0.
    with socket.socket() as probe:
        probe.settimeout(0.5)
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return True
    # Then bind as the servers do (SO_REUSEADDR: a port left in TIME_WAIT by our last run is free to them).
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _holders(port: int) -> list[str]:
    """Best effort: the pids listening on `port`, when lsof is installed and may see them."""
    lsof = shutil.which("lsof")
    if lsof is None:
        return []
    try:
        found = subprocess.run(
            [lsof, "-t", "-nP", f"-iTCP:{port}", "-sTCP:LISTEN"], capture_output=True, text=True, timeout=3
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return found.stdout.split()
