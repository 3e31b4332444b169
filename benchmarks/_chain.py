"""The audit chain the load filled, verified as `divert audit verify` walks it; projection rebuilds if they exist.

The walk is the CLI's own: audit.adapters.store.verify (one REPEATABLE READ snapshot, every entry's RFC 8785
canonical form hashed and compared, checkpoints checked with the key the audit service publishes), timed
in-process so the command's start-up (imports, the progress bar) is not charged to the entries.
"""

from __future__ import annotations

import time

import httpx
from _report import not_measured, target
from _system import Running


async def measure(running: Running) -> None:
    await _audit_verify(running)
    _projection_rebuild()


async def _audit_verify(running: Running) -> None:
    from audit.adapters import store
    from divert_cli.audit import _verifier
    from divert_kernel.db import make_engine

    document = httpx.get(f"{running.stack.service_url('audit')}/v1/audit/checkpoint-key", timeout=10).json()
    engine = make_engine(running.database_url("audit", "postgresql+asyncpg"))
    try:
        started = time.perf_counter()
        report = await store.verify(engine, _verifier(list(document.get("keys", [document]))))
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    state = "valid" if report.valid else f"INVALID ({report.problem})"
    print(f"audit chain filled by the load: {report.entries} entries, {state}, walked in {elapsed:.2f} s")
    if report.entries < 1000:
        not_measured("audit verification entries/s", f"only {report.entries} entries in the chain")
        return
    target("audit verification entries/s", report.entries / elapsed, "/s", 30_000, higher_is_better=True)


def _projection_rebuild() -> None:
    from divert_cli import projections

    commands = {c.name or (c.callback.__name__ if c.callback else "") for c in projections.app.registered_commands}
    if "rebuild" not in commands:
        not_measured("projection rebuild events/s", "no rebuild yet (`divert projections rebuild` is not built)")
        return
    not_measured("projection rebuild events/s", "`divert projections rebuild` exists; its benchmark is not written")
