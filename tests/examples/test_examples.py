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
    out = run_example("custom_calculator.py")
    assert "average=6.0" in out
    assert "rejected before running: <string>:3: node 'MovingAverageCalculator'" in out
    assert "window must be at least 1, got 0" in out


def test_embed_in_app_example():
    lines = run_example("embed_in_app.py").strip().splitlines()
    assert len(lines) == 10 and lines[0].startswith("t=0.000s")
    assert all(int(line.rsplit("=", 1)[1]) > 100 for line in lines)  # the square's outline


def test_embed_in_asyncio_example():
    lines = run_example("embed_in_asyncio.py").strip().splitlines()
    assert lines[:2] == ["t=0.000s size=320x240", "t=0.033s size=320x240"]
    assert len(lines) == 11 and lines[-1].startswith("heartbeat ticked")


def test_webcam_demo_without_a_camera_says_so():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "webcam_demo.py"), "7"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 1
    assert "camera" in out.stderr.lower() and "7" in out.stderr
