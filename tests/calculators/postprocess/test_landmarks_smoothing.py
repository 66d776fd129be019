"""LandmarksSmoothingCalculator: MediaPipe's One Euro and relative-velocity filters on landmarks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mediagraph.calculators  # noqa: F401
from mediagraph import Graph, GraphConfigError, parse_config
from mediagraph.calculators.postprocess.landmarks_smoothing import (
    LandmarksSmoothingCalculatorOptions,
    NoFilter,
    OneEuroFilterOptions,
    VelocityFilter,
)
from mediagraph.formats import (
    Landmark,
    LandmarkList,
    NormalizedLandmark,
    NormalizedLandmarkList,
    NormalizedRect,
)
from mediagraph.testing import CalculatorRunner, timestamps

pytestmark = pytest.mark.timeout(120)

SIZE = (640, 480)
FRAME_US = 33_333
NORM = ["NORM_FILTERED_LANDMARKS"]
WORLD = ["FILTERED_LANDMARKS"]


def one_euro(**fields) -> LandmarksSmoothingCalculatorOptions:
    return LandmarksSmoothingCalculatorOptions(one_euro_filter=OneEuroFilterOptions(**fields))


def velocity(**fields) -> LandmarksSmoothingCalculatorOptions:
    return LandmarksSmoothingCalculatorOptions(velocity_filter=VelocityFilter(**fields))


NO_FILTER = LandmarksSmoothingCalculatorOptions(no_filter=NoFilter())


def lms(points, visibility=None, presence=None) -> NormalizedLandmarkList:
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    return NormalizedLandmarkList(tuple(
        NormalizedLandmark(x, y, z, visibility, presence) for x, y, z in points.tolist()))


def xyz(value) -> np.ndarray:
    value = getattr(value, "value", value)
    return np.array([(p.x, p.y, p.z) for p in value.landmark]).reshape(-1, 3)


def run_norm(options, frames, *, ts=None, roi=None):
    """Run NORM_LANDMARKS frames (None: no packet at that timestamp); outputs by timestamp."""
    ts = ts or [i * FRAME_US for i in range(len(frames))]
    inputs = {"NORM_LANDMARKS": [(f, t) for f, t in zip(frames, ts) if f is not None],
              "IMAGE_SIZE": [(SIZE, t) for t in ts]}
    if roi is not None:
        inputs["OBJECT_SCALE_ROI"] = [(roi, t) for t in ts]
    out = CalculatorRunner("LandmarksSmoothingCalculator", options=options,
                           outputs=NORM).run(inputs)["NORM_FILTERED_LANDMARKS"]
    return out


def run_world(options, frames, ts=None):
    ts = ts or [i * FRAME_US for i in range(len(frames))]
    inputs = {"LANDMARKS": [(f, t) for f, t in zip(frames, ts)]}
    return CalculatorRunner("LandmarksSmoothingCalculator", options=options,
                            outputs=WORLD).run(inputs)["FILTERED_LANDMARKS"]


# -- plain scalar transcriptions of MediaPipe's filters, to check the vectorized ones --------


class ScalarOneEuro:
    def __init__(self, frequency, min_cutoff, beta, dcutoff):
        self.f, self.min_cutoff, self.beta, self.dcutoff = frequency, min_cutoff, beta, dcutoff
        self.last = None
        self.raw = self.x = self.dx = None

    def alpha(self, cutoff):
        return 1.0 / (1.0 + (1.0 / (2 * math.pi * cutoff)) * self.f)

    def __call__(self, t_ns, scale, value):
        if self.last is not None and self.last != 0 and t_ns != 0:
            self.f = 1e9 / (t_ns - self.last)
        self.last = t_ns
        d = 0.0 if self.raw is None else (value - self.raw) * scale * self.f
        a = self.alpha(self.dcutoff)
        self.dx = d if self.dx is None else a * d + (1 - a) * self.dx
        a = self.alpha(self.min_cutoff + self.beta * abs(self.dx))
        self.x = value if self.x is None else a * value + (1 - a) * self.x
        self.raw = value
        return self.x


class ScalarVelocity:
    def __init__(self, window, velocity_scale):
        self.window = [(0.0, 0)] * window
        self.size, self.vs = window, velocity_scale
        self.last = None
        self.out = None

    def __call__(self, t_ns, scale, value):
        if self.last is None:
            alpha = 1.0
        else:
            t0, v0, s0 = self.last
            dist, dur = value * scale - v0 * s0, t_ns - t0
            cd, ct = dist, dur
            for d, t in self.window:
                if ct + t > (1 + len(self.window)) * (10 ** 9 // 30):
                    break
                cd, ct = cd + d, ct + t
            alpha = 1.0 - 1.0 / (1.0 + self.vs * abs(cd / (ct * 1e-9)))
            self.window = ([(dist, dur)] + self.window)[:self.size]
        self.last = (t_ns, value, scale)
        self.out = value if self.out is None else alpha * value + (1 - alpha) * self.out
        return self.out


def reference(make, frames_px, ts_us, scale_of=None):
    """Filter Nx3 pixel frames with one scalar filter per value."""
    n = frames_px[0].size
    filters = [make() for _ in range(n)]
    out = []
    for frame, t in zip(frames_px, ts_us):
        flat = frame.reshape(-1)
        if scale_of is None:
            box = frame[:, :2].max(0) - frame[:, :2].min(0)
            scale = 1.0 / ((box[0] + box[1]) / 2)
        else:
            scale = scale_of
        out.append(np.array([f(t * 1000, scale, v) for f, v in zip(filters, flat)]).reshape(-1, 3))
    return out


def moving_frames(count=12, n=5, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.2, 0.8, (n, 3))
    base[:, 2] = rng.uniform(-0.1, 0.1, n)
    return [base + [0.01 * i, 0.004 * i * i / 10, 0.0] + rng.normal(0, 0.003, (n, 3))
            for i in range(count)]


@pytest.mark.parametrize("options,make", [
    (one_euro(min_cutoff=0.05, beta=80.0, derivate_cutoff=1.0),
     lambda: ScalarOneEuro(30.0, 0.05, 80.0, 1.0)),
    (one_euro(min_cutoff=0.01, beta=10.0), lambda: ScalarOneEuro(30.0, 0.01, 10.0, 1.0)),
    (velocity(window_size=5, velocity_scale=10.0), lambda: ScalarVelocity(5, 10.0)),
    (velocity(window_size=2, velocity_scale=40.0), lambda: ScalarVelocity(2, 40.0)),
], ids=["one_euro_pose", "one_euro_aux", "velocity_5", "velocity_2"])
def test_filters_each_axis_of_each_landmark_in_pixels_as_mediapipe(options, make):
    frames = moving_frames()
    # Uneven frame times: the One Euro frequency follows them; a long gap empties the window.
    ts = np.cumsum([0, 33_333, 33_334, 40_000, 20_000, 200_000, 33_333, 33_333, 16_000,
                    50_000, 33_333, 33_333]).tolist()
    out = run_norm(options, [lms(f) for f in frames], ts=ts)
    assert timestamps(out) == ts
    scale = np.array([SIZE[0], SIZE[1], SIZE[0]])
    expected = reference(make, [f * scale for f in frames], ts)
    for got, want in zip(out, expected):
        np.testing.assert_allclose(xyz(got) * scale, want, rtol=1e-4, atol=2e-3)


def test_first_frame_passes_unchanged_and_later_ones_lag():
    frames = [np.full((3, 3), 0.3), np.full((3, 3), 0.5)]
    frames[0][:, 0] = [0.3, 0.4, 0.5]
    frames[1][:, 0] = [0.5, 0.6, 0.7]
    out = run_norm(one_euro(min_cutoff=0.05, beta=1.0), [lms(f) for f in frames])
    np.testing.assert_allclose(xyz(out[0]), frames[0], atol=1e-6)
    moved = xyz(out[1])
    assert np.all(moved > frames[0] - 1e-6) and np.all(moved < frames[1] + 1e-6)
    assert not np.allclose(moved, frames[1])


def test_world_landmarks_filter_without_image_size():
    frames = moving_frames(n=4)
    out = run_world(one_euro(min_cutoff=0.1, beta=40.0), [lms(f) for f in frames])
    ts = [i * FRAME_US for i in range(len(frames))]
    expected = reference(lambda: ScalarOneEuro(30.0, 0.1, 40.0, 1.0), frames, ts)
    for got, want in zip(out, expected):
        np.testing.assert_allclose(xyz(got), want, rtol=1e-4, atol=1e-5)


def test_world_landmark_lists_stay_world_landmark_lists():
    frames = [LandmarkList(tuple(Landmark(*p, visibility=0.5) for p in f.tolist()))
              for f in moving_frames(count=3, n=3)]
    out = run_world(one_euro(min_cutoff=0.1, beta=40.0, disable_value_scaling=True), frames)
    assert all(type(p.value) is LandmarkList for p in out)
    assert all(type(q) is Landmark and q.visibility == 0.5 for p in out for q in p.value.landmark)


def test_object_scale_roi_replaces_the_landmarks_box():
    frames = moving_frames(n=4)
    roi = NormalizedRect(0.5, 0.5, 0.5, 0.25)
    out = run_norm(velocity(), [lms(f) for f in frames], roi=roi)
    scale = np.array([SIZE[0], SIZE[1], SIZE[0]])
    roi_scale = 1.0 / ((0.5 * SIZE[0] + 0.25 * SIZE[1]) / 2)
    ts = [i * FRAME_US for i in range(len(frames))]
    expected = reference(lambda: ScalarVelocity(5, 10.0), [f * scale for f in frames], ts,
                         scale_of=roi_scale)
    for got, want in zip(out, expected):
        np.testing.assert_allclose(xyz(got) * scale, want, rtol=1e-4, atol=2e-3)


def test_disable_value_scaling_uses_scale_one():
    frames = moving_frames(n=3)
    opts = one_euro(min_cutoff=0.5, beta=0.02, disable_value_scaling=True)
    out = run_norm(opts, [lms(f) for f in frames])
    scale = np.array([SIZE[0], SIZE[1], SIZE[0]])
    ts = [i * FRAME_US for i in range(len(frames))]
    expected = reference(lambda: ScalarOneEuro(30.0, 0.5, 0.02, 1.0),
                         [f * scale for f in frames], ts, scale_of=1.0)
    for got, want in zip(out, expected):
        np.testing.assert_allclose(xyz(got) * scale, want, rtol=1e-4, atol=2e-3)


def test_a_timestamp_without_landmarks_resets_the_filter():
    frames = [np.full((2, 3), 0.2), np.full((2, 3), 0.4), None, np.full((2, 3), 0.8)]
    frames[0][1, :2] = 0.3
    frames[1][1, :2] = 0.5
    frames[3][1, :2] = 0.9
    out = run_norm(one_euro(min_cutoff=0.05), [None if f is None else lms(f) for f in frames])
    assert timestamps(out) == [0, FRAME_US, 3 * FRAME_US]  # nothing sent for the gap
    np.testing.assert_allclose(xyz(out[2]), frames[3], atol=1e-6)  # restarted: passes


def test_landmark_count_change_without_reset_fails():
    frames = [lms(np.full((2, 3), 0.5) + [[0, 0, 0], [0.1, 0.1, 0]]),
              lms(np.full((3, 3), 0.5) + [[0, 0, 0], [0.1, 0.1, 0], [0.2, 0, 0]])]
    with pytest.raises(Exception, match="3 landmarks after 2"):
        run_norm(one_euro(), frames)


def test_tiny_object_passes_unfiltered():
    frames = [np.full((3, 3), 0.5), np.full((3, 3), 0.6)]  # all points at one spot: scale 0
    out = run_norm(one_euro(beta=1.0), [lms(f) for f in frames])
    np.testing.assert_allclose(xyz(out[1]), frames[1], atol=1e-7)


def test_visibility_and_presence_pass_through():
    frames = moving_frames(count=3, n=2)
    vis = [0.9, 0.1, 0.5]
    inputs = [NormalizedLandmarkList(tuple(NormalizedLandmark(*p, visibility=v, presence=None)
                                           for p in f.tolist())) for f, v in zip(frames, vis)]
    out = run_norm(velocity(), inputs)
    assert [[p.visibility for p in o.value.landmark] for o in out] == [[v, v] for v in vis]
    assert all(p.presence is None for o in out for p in o.value.landmark)


_coord = st.floats(0.0, 1.0, allow_nan=False, width=32)
_points = st.lists(st.tuples(_coord, _coord, st.floats(-1, 1, width=32)), min_size=1, max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(points=_points, count=st.integers(1, 5))
def test_no_filter_is_identity(points, count):
    frames = [lms(points)] * count
    out = run_norm(NO_FILTER, frames)
    assert [o.value.landmark for o in out] == [f.landmark for f in frames]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(points=_points, count=st.integers(2, 6),
       options=st.sampled_from([one_euro(min_cutoff=0.05, beta=80.0), one_euro(beta=0.5),
                                velocity(), velocity(window_size=1, velocity_scale=100.0)]))
def test_constant_input_stays_constant(points, count, options):
    frames = [lms(points)] * count
    for out in run_norm(options, frames):
        np.testing.assert_allclose(xyz(out), xyz(frames[0]), atol=1e-6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=st.lists(st.lists(st.tuples(_coord, _coord, _coord), min_size=3, max_size=3),
                       min_size=2, max_size=6),
       options=st.sampled_from([one_euro(min_cutoff=0.05, beta=80.0), velocity()]))
def test_output_is_finite_and_within_the_inputs_range(frames, options):
    out = run_norm(options, [lms(f) for f in frames])
    got = np.stack([xyz(o) for o in out])
    given_ = np.asarray(frames, dtype=np.float64)
    assert np.isfinite(got).all()
    # each output is a convex blend of past inputs of that value
    assert np.all(got >= given_.min(axis=0) - 1e-5) and np.all(got <= given_.max(axis=0) + 1e-5)


def test_mediapipe_config_syntax_loads():
    config = parse_config("""
        input_stream: "landmarks" input_stream: "size"
        node {
          calculator: "LandmarksSmoothingCalculator"
          input_stream: "NORM_LANDMARKS:landmarks" input_stream: "IMAGE_SIZE:size"
          output_stream: "NORM_FILTERED_LANDMARKS:filtered"
          options { [mediapipe.LandmarksSmoothingCalculatorOptions.ext] {
            one_euro_filter { min_cutoff: 0.05 beta: 80.0 derivate_cutoff: 1.0 } } }
        }""")
    Graph(config)
    opts = LandmarksSmoothingCalculatorOptions.from_message(
        config.node[0].options.Extensions[LandmarksSmoothingCalculatorOptions.extension()])
    assert opts.chosen() == ["one_euro_filter"]
    assert opts.one_euro_filter.beta == 80.0 and opts.one_euro_filter.frequency == 30.0


@pytest.mark.parametrize("ports,fields,message", [
    ('input_stream: "NORM_LANDMARKS:l" output_stream: "NORM_FILTERED_LANDMARKS:f"',
     "no_filter {}", "needs IMAGE_SIZE"),
    ('input_stream: "LANDMARKS:l" output_stream: "NORM_FILTERED_LANDMARKS:f"',
     "no_filter {}", "LANDMARKS gives the output FILTERED_LANDMARKS"),
    ('input_stream: "LANDMARKS:l" output_stream: "FILTERED_LANDMARKS:f"', "",
     "sets no filter"),
    ('input_stream: "LANDMARKS:l" output_stream: "FILTERED_LANDMARKS:f"',
     "one_euro_filter { min_cutoff: 0 }", "min_cutoff must be > 0"),
])
def test_miswired_node_is_rejected_at_validation(ports, fields, message):
    text = (f'input_stream: "l" node {{ calculator: "LandmarksSmoothingCalculator" {ports} '
            f'options {{ [mediapipe.LandmarksSmoothingCalculatorOptions.ext] {{ {fields} }} }} }}')
    with pytest.raises(GraphConfigError, match=message):
        Graph(parse_config(text))
