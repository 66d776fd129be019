"""SsdAnchorsCalculator: MediaPipe's anchor grids, as a side packet made in open()."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.postprocess.ssd_anchors import (
    Anchor,
    SsdAnchorsCalculatorOptions,
    generate_anchors,
)
from mediagraph import Graph, GraphConfigError, parse_config
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)

SHORT_RANGE = {
    "num_layers": 4, "min_scale": 0.1484375, "max_scale": 0.75, "input_size_width": 128,
    "input_size_height": 128, "anchor_offset_x": 0.5, "anchor_offset_y": 0.5,
    "strides": [8, 16, 16, 16], "aspect_ratios": [1.0], "fixed_anchor_size": True,
    "interpolated_scale_aspect_ratio": 1.0}


def anchors_for(**options) -> np.ndarray:
    runner = CalculatorRunner("SsdAnchorsCalculator", options=options)
    runner.run()
    return runner.output_side_packets[""]


def test_face_detection_short_range_gives_896_anchors_on_two_grids():
    anchors = anchors_for(**SHORT_RANGE)
    assert anchors.shape == (896, 4) and anchors.dtype == np.float32
    assert not anchors.flags.writeable
    # Stride 8: a 16x16 grid, 2 anchors per cell (aspect 1.0 + interpolated scale).
    first = anchors[:512].reshape(16, 16, 2, 4)
    centres = (np.arange(16) + 0.5) / 16
    np.testing.assert_allclose(first[:, :, 0, 0], np.tile(centres, (16, 1)))     # x along x
    np.testing.assert_allclose(first[:, :, 1, 1], np.tile(centres[:, None], (1, 16)))
    # Strides 16, 16, 16 merge into one 8x8 grid with 3 x 2 = 6 anchors per cell.
    second = anchors[512:].reshape(8, 8, 6, 4)
    np.testing.assert_allclose(second[3, 5, :, :2], [[(5 + 0.5) / 8, (3 + 0.5) / 8]] * 6)
    np.testing.assert_array_equal(anchors[:, 2:], 1.0)  # fixed_anchor_size


def test_anchor_sizes_follow_scales_and_aspect_ratios():
    anchors = anchors_for(num_layers=2, min_scale=0.2, max_scale=0.6, input_size_width=64,
                          input_size_height=32, strides=[16, 32], aspect_ratios=[1.0, 4.0])
    # Layer 0: 4x2 cells (width 64/16, height 32/16), 3 anchors each; layer 1: 2x1 cells.
    assert anchors.shape == (4 * 2 * 3 + 2 * 1 * 3, 4)
    cell = anchors[:3]
    s0, s1 = 0.2, 0.6
    expected_w = [s0, s0 * 2.0, math.sqrt(s0 * s1)]     # ratio 4: w = s * sqrt(4)
    expected_h = [s0, s0 / 2.0, math.sqrt(s0 * s1)]
    np.testing.assert_allclose(cell[:, 2], expected_w, rtol=1e-6)
    np.testing.assert_allclose(cell[:, 3], expected_h, rtol=1e-6)
    last = anchors[-3:]
    np.testing.assert_allclose(last[:, 2], [s1, s1 * 2.0, math.sqrt(s1 * 1.0)], rtol=1e-6)
    np.testing.assert_allclose(anchors[0, :2], [0.5 / 4, 0.5 / 2])


def test_reduce_boxes_in_lowest_layer_uses_three_fixed_boxes():
    anchors = anchors_for(num_layers=1, min_scale=0.2, max_scale=0.9, input_size_width=32,
                          input_size_height=32, strides=[16], aspect_ratios=[1.0, 2.0, 3.0],
                          reduce_boxes_in_lowest_layer=True)
    assert anchors.shape == (2 * 2 * 3, 4)
    scale = (0.2 + 0.9) / 2  # one stride: the mean of min and max
    np.testing.assert_allclose(anchors[:3, 2], [0.1, scale * math.sqrt(2), scale / math.sqrt(2)],
                               rtol=1e-6)


def test_feature_map_sizes_replace_strides():
    anchors = anchors_for(num_layers=1, min_scale=0.5, max_scale=0.5, feature_map_width=[3],
                          feature_map_height=[2], aspect_ratios=[1.0],
                          interpolated_scale_aspect_ratio=0.0, anchor_offset_x=0.0,
                          anchor_offset_y=0.0)
    np.testing.assert_allclose(anchors[:, :2], [[0, 0], [1 / 3, 0], [2 / 3, 0],
                                                [0, 0.5], [1 / 3, 0.5], [2 / 3, 0.5]], atol=1e-7)


def test_multiscale_anchors_are_normalized_retinanet_boxes():
    anchors = generate_anchors(SsdAnchorsCalculatorOptions(
        multiscale_anchor_generation=True, min_level=3, max_level=4, anchor_scale=4.0,
        scales_per_octave=2, aspect_ratios=(1.0,), strides=(8, 16), input_size_width=64,
        input_size_height=64))
    assert anchors.shape == (8 * 8 * 2 + 4 * 4 * 2, 4)
    # Level 3: stride 8, base 32 pixels, offset half a stride; second scale is 2^(1/2).
    np.testing.assert_allclose(anchors[0], [4 / 64, 4 / 64, 32 / 64, 32 / 64])
    np.testing.assert_allclose(anchors[1, 2], 32 * math.sqrt(2) / 64, rtol=1e-6)


def test_fixed_anchors_are_used_as_given():
    anchors = anchors_for(fixed_anchors=[Anchor(x_center=0.25, y_center=0.75, w=0.1, h=0.2)])
    np.testing.assert_allclose(anchors, [[0.25, 0.75, 0.1, 0.2]])


@pytest.mark.parametrize("options, message", [
    ({"num_layers": 1, "min_scale": 0.1, "max_scale": 0.2, "input_size_width": 8,
      "input_size_height": 8}, "strides"),
    ({"num_layers": 2, "min_scale": 0.1, "max_scale": 0.2, "input_size_width": 8,
      "input_size_height": 8, "strides": [8]}, "strides"),
])
def test_missing_or_mismatched_strides_raise_at_validation(options, message):
    with pytest.raises(GraphConfigError, match=message):
        anchors_for(**options)


def test_mediapipe_config_feeds_anchors_to_a_consumer_side_input():
    config = parse_config("""
        node {
          calculator: "SsdAnchorsCalculator"
          output_side_packet: "anchors"
          options { [mediapipe.SsdAnchorsCalculatorOptions.ext] {
            num_layers: 4 min_scale: 0.1484375 max_scale: 0.75
            input_size_height: 128 input_size_width: 128
            anchor_offset_x: 0.5 anchor_offset_y: 0.5
            strides: 8 strides: 16 strides: 16 strides: 16
            aspect_ratios: 1.0 fixed_anchor_size: true } }
        }""")
    assert SsdAnchorsCalculatorOptions.extension_number == 247258239
    graph = Graph(config)
    graph.run({}, timeout=30)
    assert graph._run.side_packets["anchors"].shape == (896, 4)
