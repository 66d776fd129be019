"""Every example runs and prints what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(120)


def run_example(name: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, str(ROOT / "examples" / name)], capture_output=True,
                         text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_custom_calculator_example():
    assert "average=6.0" in run_example("custom_calculator.py")


def test_embed_graph_example():
    lines = run_example("embed_graph.py").strip().splitlines()
    assert lines[0] == "0: 0" and lines[-1] == "9: 81" and len(lines) == 10
