"""Every example runs and prints what it promises."""

from __future__ import annotations

import os
import re
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


def webcam_demo(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(ROOT / "examples" / "webcam_demo.py"), *args],
                          capture_output=True, text=True, env=env, timeout=60)


def test_webcam_demo_without_a_camera_says_so():
    out = webcam_demo("--camera", "7", "--headless")
    assert out.returncode == 1
    assert "no camera at index 7" in out.stderr


def test_webcam_demo_runs_face_detection_headless_on_a_file_in_real_time(tmp_path):
    from mediagraph.testing import samples

    clip = samples.make_face_video(tmp_path / "face.mp4", frames=45, fps=30, audio=False)
    out = webcam_demo("--graph", "webcam_face_detection", "--file", str(clip), "--headless")
    assert out.returncode == 0, out.stderr
    # e.g. "shown 44 frames, dropped 1 at the FlowLimiter and 0 at the camera; latency
    # p50 6 ms, p95 9 ms"
    match = re.fullmatch(r"shown (\d+) frames, dropped (\d+) at the FlowLimiter and (\d+) at "
                         r"the camera; latency p50 (\d+) ms, p95 (\d+) ms\n", out.stdout)
    assert match, out.stdout
    shown, limiter, camera, p50, p95 = map(int, match.groups())
    assert shown + limiter + camera == 45  # every frame of the file shown or dropped
    assert shown > 0 and p50 <= p95


def test_webcam_demo_names_a_missing_file():
    out = webcam_demo("--file", "no_such_clip.mp4", "--headless")
    assert out.returncode == 2 and "--file no_such_clip.mp4: no such file" in out.stderr
