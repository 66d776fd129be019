"""LiveStatsCalculator: frame rate, latency and the FlowLimiter's drops, drawn on a copy."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.render.live_stats import LiveStats, LiveStatsCalculator
from mediagraph.formats import ImageFormat, ImageFrame
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)

MS = 1000  # µs


def frame(fmt=ImageFormat.SRGB, size=(120, 160)):
    channels = 4 if fmt != ImageFormat.SRGB else 3
    return ImageFrame(np.full(size + (channels,), 90, np.uint8), fmt)


@pytest.fixture
def clock(monkeypatch):
    """The calculator's clock reads `now` (ns); each frame's test sets it."""
    state = {"times": []}
    monkeypatch.setattr(LiveStatsCalculator, "clock", lambda: state["times"].pop(0))
    return state


def run(inputs, options=None, outputs=("IMAGE", "STATS")):
    return CalculatorRunner("LiveStatsCalculator", options=options,
                            outputs=list(outputs)).run(inputs)


def test_latency_is_the_frames_age_and_fps_the_rate_through_the_node(clock):
    # frames captured every 100 ms, each drawn 30 ms after its capture
    captured = [1_000 * MS, 1_100 * MS, 1_200 * MS]
    clock["times"] = [(t + 30 * MS) * 1000 for t in captured]
    out = run({"IMAGE": [(frame(), t) for t in captured]})
    stats = [p.value for p in out["STATS"]]
    assert [s.latency_ms for s in stats] == pytest.approx([30, 30, 30])
    assert [s.fps for s in stats] == pytest.approx([0, 10, 10])
    assert [s.frames for s in stats] == [1, 2, 3] and {s.dropped for s in stats} == {0}
    assert [int(p.timestamp) for p in out["IMAGE"]] == captured


def test_fps_counts_only_the_frames_of_the_sliding_window(clock):
    captured = [0, 100 * MS, 200 * MS, 2_000 * MS, 2_100 * MS]
    clock["times"] = [t * 1000 for t in captured]
    out = run({"IMAGE": [(frame(), t) for t in captured]}, options={"window_seconds": 0.5})
    # 10 fps, then one frame in 1.8 s: the last two frames count even beyond the window
    assert [p.value.fps for p in out["STATS"]] == pytest.approx([0, 10, 10, 1 / 1.8, 10])


def test_drops_are_the_allow_false_packets_of_the_flow_limiter(clock):
    clock["times"] = [t * 1000 for t in (10 * MS, 210 * MS)]
    out = run({"IMAGE": [(frame(), 0), (frame(), 200 * MS)],
               "ALLOW": [(True, 0), (False, 100 * MS), (True, 200 * MS), (False, 300 * MS),
                         (False, 400 * MS)]})
    stats = [p.value for p in out["STATS"]]
    # packets are taken in timestamp order: the drop at 100 ms came before the frame at 200
    assert [s.dropped for s in stats] == [0, 1]


@pytest.mark.parametrize("fmt", [ImageFormat.SRGB, ImageFormat.SRGBA, ImageFormat.SBGRA])
def test_the_figures_are_drawn_on_a_copy_in_the_frames_format(clock, fmt):
    clock["times"] = [5_000_000]
    image = frame(fmt)
    [drawn] = run({"IMAGE": [(image, 0)]}, outputs=["IMAGE"])["IMAGE"]
    assert drawn.value.format == fmt
    pixels = drawn.value.to_ndarray()
    changed = np.any(pixels != 90, axis=2)
    assert changed[:40, :80].mean() > 0.05  # three lines of text, top left
    assert not changed[60:, :].any()         # nothing elsewhere
    assert (image.to_ndarray() == 90).all()  # the input is untouched


def test_without_drawing_the_frame_passes_unchanged(clock):
    clock["times"] = [5_000_000]
    image = frame()
    out = run({"IMAGE": [(image, 0)]}, options={"draw": False})
    assert out["IMAGE"][0].value is image
    assert out["STATS"][0].value == LiveStats(fps=0.0, latency_ms=5.0, frames=1, dropped=0)
