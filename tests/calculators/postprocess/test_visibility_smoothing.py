"""VisibilitySmoothingCalculator: MediaPipe's low-pass filter on landmark visibilities."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mediagraph.calculators  # noqa: F401
from mediagraph import Graph, GraphConfigError, parse_config
from mediagraph.calculators.postprocess.visibility_smoothing import (
    LowPassFilterOptions,
    NoFilter,
    VisibilitySmoothingCalculatorOptions,
)
from mediagraph.formats import NormalizedLandmark, NormalizedLandmarkList
from mediagraph.testing import CalculatorRunner, timestamps

pytestmark = pytest.mark.timeout(120)


def low_pass(alpha=0.1):
    return VisibilitySmoothingCalculatorOptions(low_pass_filter=LowPassFilterOptions(alpha=alpha))


def lms(visibilities, presence=None):
    return NormalizedLandmarkList(tuple(
        NormalizedLandmark(0.1 * i, 0.5, -0.1 * i, v, presence)
        for i, v in enumerate(visibilities)))


def run(options, frames, tag="NORM_LANDMARKS"):
    out_tag = "NORM_FILTERED_LANDMARKS" if tag == "NORM_LANDMARKS" else "FILTERED_LANDMARKS"
    inputs = {tag: [(f, 1000 * i) for i, f in enumerate(frames)]}
    return CalculatorRunner("VisibilitySmoothingCalculator", options=options,
                            outputs=[out_tag]).run(inputs)[out_tag]


def vis(packet):
    return [p.visibility for p in packet.value.landmark]


def test_low_pass_blends_each_visibility_with_the_previous_output():
    frames = [lms([1.0, 0.0]), lms([0.0, 1.0]), lms([0.0, 1.0])]
    out = run(low_pass(0.25), frames)
    np.testing.assert_allclose(vis(out[0]), [1.0, 0.0])
    np.testing.assert_allclose(vis(out[1]), [0.75, 0.25], rtol=1e-6)
    np.testing.assert_allclose(vis(out[2]), [0.5625, 0.4375], rtol=1e-6)
    # coordinates and presence pass unchanged
    assert [(p.x, p.y, p.z) for p in out[2].value.landmark] == [
        (p.x, p.y, p.z) for p in frames[2].landmark]


def test_world_landmarks_take_the_landmarks_ports():
    out = run(low_pass(0.5), [lms([1.0]), lms([0.0])], tag="LANDMARKS")
    assert vis(out[1]) == [0.5]


def test_missing_visibility_counts_as_zero():
    out = run(low_pass(0.5), [lms([None]), lms([1.0])])
    assert vis(out[0]) == [0.0] and vis(out[1]) == [0.5]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(st.lists(st.floats(0, 1, width=32), min_size=3, max_size=3),
                       min_size=1, max_size=5))
def test_no_filter_is_identity(values):
    frames = [lms(v) for v in values]
    out = run(VisibilitySmoothingCalculatorOptions(no_filter=NoFilter()), frames)
    assert [o.value for o in out] == frames


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.floats(0, 1, width=32), count=st.integers(1, 5),
       alpha=st.floats(0, 1, width=32))
def test_constant_visibility_stays_constant(value, count, alpha):
    for packet in run(low_pass(alpha), [lms([value, value])] * count):
        np.testing.assert_allclose(vis(packet), [value, value], rtol=1e-6)


def test_a_skipped_timestamp_does_not_reset():
    # With its one input, the calculator only runs on packets (as MediaPipe's default
    # input policy): a timestamp without landmarks never reaches it, and it carries on.
    runner = CalculatorRunner("VisibilitySmoothingCalculator", options=low_pass(0.5),
                              outputs=["NORM_FILTERED_LANDMARKS"])
    out = runner.run({"NORM_LANDMARKS": [(lms([1.0]), 0), (lms([0.0]), 2)]})
    out = out["NORM_FILTERED_LANDMARKS"]
    assert timestamps(out) == [0, 2] and vis(out[1]) == [0.5]


def test_landmark_count_change_without_reset_fails():
    with pytest.raises(Exception, match="2 landmarks after 1"):
        run(low_pass(), [lms([1.0]), lms([1.0, 0.5])])


@pytest.mark.parametrize("ports,fields,message", [
    ('input_stream: "NORM_LANDMARKS:l" output_stream: "FILTERED_LANDMARKS:f"',
     "no_filter {}", "NORM_LANDMARKS gives the output NORM_FILTERED_LANDMARKS"),
    ('input_stream: "LANDMARKS:l" output_stream: "FILTERED_LANDMARKS:f"', "",
     "sets no filter"),
    ('input_stream: "LANDMARKS:l" output_stream: "FILTERED_LANDMARKS:f"',
     "low_pass_filter { alpha: 1.5 }", "alpha must be in"),
])
def test_miswired_node_is_rejected_at_validation(ports, fields, message):
    text = (f'input_stream: "l" node {{ calculator: "VisibilitySmoothingCalculator" {ports} '
            f'options {{ [mediapipe.VisibilitySmoothingCalculatorOptions.ext] {{ {fields} }} }} '
            f'}}')
    with pytest.raises(GraphConfigError, match=message):
        Graph(parse_config(text))
