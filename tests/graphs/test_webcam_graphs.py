"""Every live graph (graphs/webcam_*.pbtxt) on a video file played in real time.

The camera is CameraSourceCalculator given a generated clip of real media with
`realtime: true` (the graphs set it), so frames come at the clip's frame rate in
wall-clock time whatever the graph does; the window is a MemoryWindow, which keeps
each frame's capture timestamp and display time. A stage slower than the camera is
put between the FlowLimiter and the model (it sleeps SLOW_PERIODS frame periods, no
CPU). With one frame in flight the limiter must drop frames instead of letting a lag
grow: capture-to-screen latency stays under 3 frame periods at p95, every frame of the
clip is shown or counted as dropped, and the drops the frames show are the limiter's.

The bound is in camera frame periods, and the camera's rate is set for the machine as
it is now: a first, short run without the slow stage measures what the graph's own
stages take (p90 latency), and the camera period is at least twice that. The slow
stage then takes 1.25 periods and the models about half a period, which leaves 1.25
periods (2.5x the models' time) of room for a busy machine's jitter below the bound;
without the limiter a lag would grow by a quarter period a frame, past the bound
within a dozen frames.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

import numpy as np
import pytest

import mediagraph as mg
import mediagraph.calculators  # noqa: F401  (registers the calculators)
from mediagraph import Calculator, Input, Output, registry
from mediagraph.config import library
from mediagraph.calculators.io.display import DisplayCalculator, MemoryWindow
from mediagraph.formats import ImageFrame
from mediagraph.testing import samples

GRAPHS = Path(__file__).resolve().parents[2] / "graphs"
SLOW_PERIODS = 1.25   # the slow stage takes this many camera frame periods
CLIP_FPS = 30
CLIP_FRAMES = 90      # the clip: 3 s at 30 fps; a run plays the first frames of it
RUN_SECONDS = 4      # the measured run: this long, within MIN_FRAMES..MAX_FRAMES frames
MIN_FRAMES, MAX_FRAMES = 12, CLIP_FRAMES  # (about half of them are shown)

# graph: (clip maker, the fastest camera rate it runs at, the subgraph it needs)
WEBCAM = {
    "webcam_preview": (samples.make_face_video, 30, None),
    "webcam_face_detection": (samples.make_face_video, 30, "FaceDetectionShortRangeCpu"),
    "webcam_hand_tracking": (samples.make_hand_video, 15, "HandLandmarkTrackingCpu"),
    "webcam_selfie_segmentation": (samples.make_person_video, 15, "SelfieSegmentationCpu"),
    "webcam_face_mesh": (samples.make_face_video, 15, "FaceLandmarkFrontCpu"),
    "webcam_pose_tracking": (samples.make_person_video, 8, "PoseLandmarkCpu"),
    "webcam_holistic_tracking": (samples.make_person_video, 4, "HolisticLandmarkCpu"),
}


class SlowStageCalculator(Calculator):
    """Passes frames on after `delay_s`: a stage slower than the camera."""

    delay_s = 0.0
    frames = Input(ImageFrame, tag="")
    out = Output(ImageFrame, tag="")

    def process(self, cc):
        time.sleep(type(self).delay_s)
        cc.send(self.out, cc.get(self.frames))


def live_graph(name: str, *, fps: float, frames: int, slow_s: float = 0.0,
               unlimited: bool = False) -> mg.Graph:
    """The graph with its camera playing `frames` frames at `fps`; with slow_s > 0,
    SlowStageCalculator between the FlowLimiter and the nodes it feeds; `unlimited`:
    the limiter lets every frame in (the counter-example)."""
    text = (GRAPHS / f"{name}.pbtxt").read_text()
    assert text.count("{ realtime: true }") == 1
    config = mg.parse_config(text.replace(
        "{ realtime: true }", f"{{ realtime: true fps: {fps} max_frames: {frames} }}"))
    [limiter] = [n for n in config.node if n.calculator == "FlowLimiterCalculator"]
    if unlimited:
        limiter.input_side_packet.append("MAX_IN_FLIGHT:max_in_flight")
        config.input_side_packet.append("max_in_flight")
    if slow_s:
        limited = limiter.output_stream[0]
        limiter.output_stream[0] = f"{limited}_before_slow_stage"
        slow = config.node.add(calculator="SlowStageCalculator", name="slow_stage")
        slow.input_stream.append(f"{limited}_before_slow_stage")
        slow.output_stream.append(limited)
        SlowStageCalculator.delay_s = slow_s
    return mg.Graph(config)


def play(graph: mg.Graph, clip: Path, **side_packets) -> None:
    graph.run(side_packets={"input_camera": str(clip), **side_packets}, timeout=45)


def own_latency_ms(name: str, clip: Path, fps: float, monkeypatch) -> float:
    """The capture-to-screen latency of the graph as it is (no slow stage) over one
    second at `fps`, 90th percentile: what its own stages take on this machine now (a
    tracking graph's slow frames, when it detects again, included)."""
    window = MemoryWindow(keep_images=0)
    monkeypatch.setattr(DisplayCalculator, "window_backend", window)
    play(live_graph(name, fps=fps, frames=round(fps)), clip)
    return float(np.percentile(window.latencies_ms()[1:], 90))  # the first warms the models up


def _needs(subgraph: str | None) -> None:
    if subgraph and registry.find_calculator(subgraph) is None \
            and subgraph not in library.subgraph_names():
        pytest.skip(f"{subgraph} is not registered")


def test_every_webcam_graph_is_covered():
    assert sorted(p.stem for p in GRAPHS.glob("webcam_*.pbtxt")) == sorted(WEBCAM)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", sorted(WEBCAM))
def test_latency_stays_bounded_and_drops_are_counted_while_a_stage_is_slower_than_the_camera(
        name, tmp_path, monkeypatch):
    make_clip, fastest_fps, subgraph = WEBCAM[name]
    _needs(subgraph)
    clip = make_clip(tmp_path / "clip.mp4", frames=CLIP_FRAMES, fps=CLIP_FPS, audio=False)
    own_ms = own_latency_ms(name, clip, fastest_fps, monkeypatch)
    period_ms = max(1e3 / fastest_fps, 2 * own_ms)
    fps = 1e3 / period_ms
    frames = min(MAX_FRAMES, max(MIN_FRAMES, round(RUN_SECONDS * fps)))
    window = MemoryWindow(keep_images=8)
    monkeypatch.setattr(DisplayCalculator, "window_backend", window)
    graph = live_graph(name, fps=fps, frames=frames, slow_s=SLOW_PERIODS * period_ms / 1e3)
    stats, allowed = [], []
    inputs: deque = deque(maxlen=32)  # the frames the model got, to compare with the window
    graph.observe_output_stream("live_stats", stats.append)
    graph.observe_output_stream("allowed", allowed.append)
    graph.observe_output_stream("input_video", inputs.append)
    play(graph, clip)

    profile = graph.profile()
    [limiter] = [r for r in profile.nodes if r.calculator == "FlowLimiterCalculator"]
    [camera] = [r for r in profile.nodes if r.calculator == "CameraSourceCalculator"]
    shown = window.shown
    latency = window.latencies_ms()
    p50, p95 = np.percentile(latency, [50, 95])
    print(f"\n{name}: own latency {own_ms:.0f} ms; camera {fps:.1f} fps ({period_ms:.0f} ms), "
          f"slow stage {SLOW_PERIODS * period_ms:.0f} ms: {len(shown)} shown, "
          f"{limiter.dropped} dropped by the limiter, {camera.dropped} skipped by the camera; "
          f"latency p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {latency.max():.0f} ms")

    # Latency is bounded in camera frame periods: no lag builds up.
    assert p95 < 3 * period_ms, profile.table()
    # The stage is slower than the camera, so the limiter dropped frames, and every frame
    # of the clip was either shown or dropped (at the limiter, or skipped by the camera
    # while the graph held it back), none lost or shown twice.
    assert limiter.dropped > 0
    assert len(shown) + limiter.dropped + camera.dropped == frames
    assert len({f.timestamp for f in shown}) == len(shown)
    assert sum(1 for p in allowed if p.value is False) == limiter.dropped
    # The drops drawn are the limiter's: on each frame, at least every drop decided
    # before that frame was captured, and never more than the run's total.
    assert [s.value.frames for s in stats] == list(range(1, len(shown) + 1))
    drawn = [s.value.dropped for s in stats]
    assert drawn == sorted(drawn) and drawn[-1] <= limiter.dropped
    for s in stats:
        before = sum(1 for p in allowed if p.value is False and p.timestamp < s.timestamp)
        assert before <= s.value.dropped
    # The frame rate drawn is the rate frames were shown: at most the camera's.
    assert 0 < stats[-1].value.fps <= fps * 1.2

    # What the window showed: the figures in the top-left corner, and for the model graphs
    # the model's drawing elsewhere on the frame.
    by_ts = {p.timestamp: p.value.to_ndarray() for p in inputs}
    ts, bgr = window.images[-1]
    model_input = by_ts[mg.Timestamp(ts)][..., ::-1]  # RGB -> BGR
    assert bgr.shape == model_input.shape
    changed = np.any(bgr != model_input, axis=2)
    height, width = changed.shape
    text = changed[:height // 6, :width // 3]
    assert text.mean() > 0.02  # the stats drawn
    rest = changed.copy()
    rest[:height // 6, :width // 3] = False
    if subgraph is None:
        assert not rest.any()  # the preview draws nothing else
    else:
        assert rest.sum() > 50, "nothing of the model was drawn"


@pytest.mark.timeout(60)
def test_without_dropping_the_lag_grows_past_the_bound(tmp_path, monkeypatch):
    """The counter-example that keeps the bound above meaningful: the same slow stage
    with a limiter that lets every frame in queues frames, and latency passes 3 frame
    periods within the run."""
    clip = samples.make_face_video(tmp_path / "clip.mp4", frames=CLIP_FRAMES, fps=CLIP_FPS,
                                   audio=False)
    window = MemoryWindow(keep_images=0)
    monkeypatch.setattr(DisplayCalculator, "window_backend", window)
    period_ms = 1e3 / CLIP_FPS
    graph = live_graph("webcam_preview", fps=CLIP_FPS, frames=60,
                       slow_s=SLOW_PERIODS * period_ms / 1e3, unlimited=True)
    play(graph, clip, max_in_flight=1000)
    latency = window.latencies_ms()
    [limiter] = [r for r in graph.profile().nodes if r.calculator == "FlowLimiterCalculator"]
    assert limiter.dropped == 0 and latency.size == 60  # every frame shown, late
    assert np.percentile(latency, 95) > 3 * period_ms
    assert latency[-1] > latency[0] + 10 * (SLOW_PERIODS - 1) * period_ms  # the lag grew
