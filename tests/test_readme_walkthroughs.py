"""The README's walkthroughs run as written: each `<!-- walkthrough -->` block, in order, in one Python process
started in a directory whose `.divert/` is the running system's home (as it is in the project's root on `make run`).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import System

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"<!-- walkthrough -->\s*```python\n(.*?)```", re.DOTALL)


def walkthrough_blocks() -> list[str]:
    return BLOCK.findall(README.read_text())


def test_the_readme_has_a_walkthrough_for_every_role() -> None:
    text = README.read_text()
    for role in (
        "Police RMS integrator",
        "Case manager",
        "Prosecutor",
        "Project manager",
        "Auditor",
        "Partner developer",
    ):
        assert f"### {role}" in text, role
    assert len(walkthrough_blocks()) >= 7  # the shared start, then one per role


def test_the_walkthroughs_run_as_written(system: System, tmp_path: Path) -> None:
    (tmp_path / ".divert").symlink_to(system.home)
    script = "\n\n".join(walkthrough_blocks())
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-4000:]
    out = done.stdout
    assert "enrolled" in out
    assert "held charge: closed_by_intake" in out
    assert "intake read: 200" in out
    assert "chain valid: True" in out
    assert "verified" in out
    assert "report: 200" in out and "extract rows:" in out
