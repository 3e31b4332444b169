"""mypy on what every service builds on: the kernel, the contracts and each domain package ([tool.mypy])."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


class TestTypes:
    def test_kernel_contracts_and_domains_type_check(self) -> None:
        result = _mypy()
        assert result.returncode == 0, result.stdout + result.stderr
        # Every package [tool.mypy] names was read (a typo in `files` would check nothing and pass).
        assert "Success: no issues found in" in result.stdout
        assert int(result.stdout.split(" in ")[1].split()[0]) >= 60, result.stdout

    def test_the_configuration_refuses_an_untyped_function(self, tmp_path: Path) -> None:
        # The strictness comes from pyproject: the same config must reject what it claims to reject.
        bad = tmp_path / "untyped.py"
        bad.write_text(
            "def f(x):\n    return x\n\n\nn: int = 'one'  # type: ignore[assignment]\nm: int = 1  # type: ignore\n"
        )
        result = _mypy(str(bad))
        assert result.returncode == 1
        assert "[no-untyped-def]" in result.stdout
        assert "[unused-ignore]" in result.stdout
