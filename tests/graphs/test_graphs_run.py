"""The CLI runs each media graph in graphs/ on generated media; outputs checked with PyAV."""

from __future__ import annotations

import os
import signal
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mediagraph.testing import samples

ROOT = Path(__file__).resolve().parents[2]
GRAPHS = ROOT / "graphs"
pytestmark = pytest.mark.timeout(180)


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "mediagraph", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=ROOT)


def probe(path: Path) -> tuple[int, tuple[int, int], bool]:
    """(video frames, (width, height), has audio) of a media file."""
    import av

    with av.open(str(path)) as container:
        has_audio = bool(container.streams.audio)
        frames = [f for f in container.decode(video=0)]
    return len(frames), (frames[0].width, frames[0].height), has_audio


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return samples.make_video(tmp_path_factory.mktemp("media") / "clip.mp4", frames=45,
                              width=320, height=240, fps=30, audio=True)


@pytest.mark.parametrize("graph, size, audio", [
    ("video_passthrough.pbtxt", (320, 240), True),
    ("video_resize.pbtxt", (320, 240), False),
    ("edge_detection.pbtxt", (320, 240), False),
])
def test_media_graph_runs_from_the_cli(graph, size, audio, clip, tmp_path):
    out = tmp_path / f"{graph}.mp4"
    result = cli("run", str(GRAPHS / graph), "--input", str(clip), "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert "frames 45" in result.stdout and f"wrote {out}" in result.stdout
    frames, got_size, has_audio = probe(out)
    assert frames == 45 and got_size == size and has_audio == audio


def test_resize_graph_changes_the_size(tmp_path):
    big = samples.make_video(tmp_path / "big.mp4", frames=10, width=640, height=360, fps=30,
                             audio=False)
    out = tmp_path / "small.mp4"
    assert cli("run", str(GRAPHS / "video_resize.pbtxt"), "-i", str(big), "-o",
               str(out)).returncode == 0
    assert probe(out)[:2] == (10, (320, 240))


def test_missing_input_file_is_named(tmp_path):
    result = cli("run", str(GRAPHS / "video_passthrough.pbtxt"), "--input",
                 str(tmp_path / "missing.mp4"), "--output", str(tmp_path / "out.mp4"))
    assert result.returncode == 1
    assert "missing.mp4" in result.stderr


def test_side_value_of_the_wrong_type_is_named(tmp_path, clip):
    result = cli("run", str(GRAPHS / "video_passthrough.pbtxt"), "--side",
                 "input_video_path=5", "--output", str(tmp_path / "out.mp4"))
    assert result.returncode == 1
    assert "input_video_path" in result.stderr and "int" in result.stderr


def test_webcam_graph_without_a_camera_says_so():
    result = cli("run", str(GRAPHS / "webcam_preview.pbtxt"), "--input", "9", timeout=60)
    assert result.returncode == 1
    assert "camera" in result.stderr.lower() or "display" in result.stderr.lower()


def test_ctrl_c_mid_run_leaves_a_playable_file(tmp_path):
    long_clip = samples.make_video(tmp_path / "long.mp4", frames=1500, width=320, height=240,
                                   fps=30, audio=False)
    out = tmp_path / "partial.mp4"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "mediagraph", "run",
                             str(GRAPHS / "edge_detection.pbtxt"), "-i", str(long_clip),
                             "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, cwd=ROOT)
    progress = bytearray()
    started = threading.Event()

    def read_progress() -> None:  # the progress bar on stderr says when frames flow
        assert proc.stderr is not None
        while chunk := proc.stderr.read1(256):
            progress.extend(chunk)
            if re.search(rb"\b([3-9]\d|\d{3,})/1500", progress):
                started.set()

    reader = threading.Thread(target=read_progress, daemon=True)
    reader.start()
    try:
        assert started.wait(60), progress.decode(errors="replace")
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        reader.join(10)
        assert proc.returncode == 130, progress.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
    assert b"interrupted" in progress
    frames, size, _ = probe(out)
    assert 30 <= frames < 1500 and size == (320, 240)
