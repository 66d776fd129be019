"""graphs/audio_level_meter.pbtxt from the CLI: the meter is drawn and both tracks kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mediagraph.testing import samples

ROOT = Path(__file__).resolve().parents[2]
GRAPH = ROOT / "graphs" / "audio_level_meter.pbtxt"
pytestmark = pytest.mark.timeout(120)
FPS = 30


def decode(path: Path) -> tuple[list[np.ndarray], float, float]:
    """(RGB frames, video seconds, audio seconds) of a media file."""
    import av

    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        audio = sum(f.samples for f in container.decode(audio=0)) / stream.rate
    return frames, len(frames) / FPS, audio


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("meter")
    clip = samples.make_video(folder / "in.mp4", frames=30, width=160, height=120, fps=FPS,
                              audio=True)
    out = folder / "out.mp4"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-m", "mediagraph", "run", str(GRAPH),
                          "--input", str(clip), "--output", str(out)],
                         check=False, capture_output=True, text=True, env=env, timeout=100,
                         cwd=ROOT)
    assert run.returncode == 0, run.stderr
    return decode(clip), decode(out)


def test_audio_and_video_durations_match(result):
    _, (frames, video_s, audio_s) = result
    assert len(frames) == 30
    assert abs(audio_s - video_s) <= 1.0 / FPS + 0.025  # within a frame (plus AAC padding)


def test_meter_is_drawn_over_the_video(result):
    (before, _, _), (after, _, _) = result
    diff = np.abs(np.stack(after).astype(int) - np.stack(before).astype(int)).mean(axis=(0, 3))
    meter = diff[int(0.86 * 120):int(0.92 * 120), int(0.06 * 160):int(0.40 * 160)]
    top = diff[:int(0.5 * 120)]
    assert meter.mean() > 40 and top.mean() < 8
    # a 0.3-amplitude tone reads about -13.5 dBFS: the bar stops near 78% of the meter
    row = np.stack(after)[:, int(0.89 * 120), :int(0.55 * 160)].astype(int)  # the meter box
    green = (row[:, :, 1] > 150) & (row[:, :, 0] < 100)
    right_edge = np.flatnonzero(green.mean(axis=0) > 0.5).max() / 160
    assert 0.40 < right_edge < 0.47
