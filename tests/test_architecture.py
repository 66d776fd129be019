"""The layers are a contract: import-linter checks pyproject.toml's contracts on every run.

The contracts name the installed layout (`mediagraph.calculators`, `mediagraph.graphs`),
which a checkout keeps in top-level folders, so the check runs on a copy laid out as the
wheel installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()"]

pytestmark = pytest.mark.timeout(300)


def _installed_layout(target: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    package = target / "mediagraph"
    shutil.copytree(ROOT / "mediagraph", package, ignore=ignore)
    shutil.copytree(ROOT / "calculators", package / "calculators", ignore=ignore)
    shutil.copytree(ROOT / "graphs", package / "graphs", ignore=ignore)
    return package


def _lint(staged: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(staged)}
    return subprocess.run([*LINT, "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                          cwd=staged, env=env, capture_output=True, text=True, timeout=240)


def test_import_contracts_are_kept(tmp_path):
    _installed_layout(tmp_path)
    result = _lint(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, upward", [
    ("scheduler.py", "from mediagraph.calculators.core import pass_through"),
    ("graph.py", "from mediagraph import cli"),
    ("registry.py", "from mediagraph.config import loader"),
    ("config/loader.py", "from mediagraph import calculator"),
])
def test_an_upward_import_breaks_the_contract(tmp_path, module, upward):
    package = _installed_layout(tmp_path)
    path = package / module
    path.write_text(path.read_text() + f"\n{upward}  # planted by the test\n")
    result = _lint(tmp_path)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout
