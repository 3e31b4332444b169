"""The import-linter contracts (pyproject): services never import one another; the kernel knows no service."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports)], capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


SERVICES = ("referral", "casemgmt", "consent", "prosecution", "audit", "evaluation")


def test_no_service_file_imports_another_service_tests_included() -> None:
    """import-linter sees packages only; a service's tests (not a package) must not reach into another service
    either: what they need of another service they start as a process (divert_devstack.testing)."""
    import re

    root = Path(__file__).parent.parent / "services"
    crossings = []
    for service in SERVICES:
        others = "|".join(s for s in SERVICES if s != service)
        pattern = re.compile(rf"^\s*(from|import)\s+({others})(\.|\s|$)", re.MULTILINE)
        for path in (root / service).rglob("*.py"):
            if pattern.search(path.read_text()):
                crossings.append(str(path.relative_to(root)))
    assert crossings == []
