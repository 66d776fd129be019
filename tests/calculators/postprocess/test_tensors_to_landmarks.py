"""TensorsToLandmarksCalculator: layout, normalization, flips, activations."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.formats import LandmarkList
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)
HAND = {"num_landmarks": 21, "input_image_width": 224, "input_image_height": 224,
        "normalize_z": 0.4}


def decode(tensor, options, outputs=("NORM_LANDMARKS",), **inputs):
    feed = {"TENSORS": [([np.asarray(tensor, np.float32)], 0)]}
    feed.update({k: [(v, 0)] for k, v in inputs.items()})
    out = CalculatorRunner("TensorsToLandmarksCalculator", options=options,
                           outputs=outputs).run(feed)
    return [out[o][0].value for o in outputs]


def test_hand_landmarks_are_normalized_by_the_input_size_and_z_by_normalize_z():
    raw = np.random.default_rng(0).uniform(0, 224, (1, 63)).astype(np.float32)
    (norm,) = decode(raw, HAND)
    points = raw.reshape(21, 3).astype(np.float64)
    assert len(norm) == 21
    np.testing.assert_allclose(norm.to_array()[:, 0], points[:, 0] / 224, rtol=1e-6)
    np.testing.assert_allclose(norm.to_array()[:, 1], points[:, 1] / 224, rtol=1e-6)
    np.testing.assert_allclose(norm.to_array()[:, 2], points[:, 2] / 224 / 0.4, rtol=1e-5)


def test_raw_landmarks_keep_model_units():
    raw = np.arange(63, dtype=np.float32) / 100
    (world,) = decode(raw, {"num_landmarks": 21}, outputs=("LANDMARKS",))
    assert isinstance(world, LandmarkList)   # MediaPipe's LandmarkList: not normalized
    np.testing.assert_allclose(world.to_array().reshape(-1), raw, rtol=1e-6)


@pytest.mark.parametrize("flip, axis", [("flip_horizontally", 0), ("flip_vertically", 1)])
def test_flips_mirror_across_the_input_size(flip, axis):
    raw = np.array([[10.0, 20.0, 0.0], [100.0, 50.0, 0.0]], np.float32)
    options = {"num_landmarks": 2, "input_image_width": 200, "input_image_height": 100,
               flip: True}
    (out,) = decode(raw, options, outputs=("LANDMARKS",))
    expected = raw[:, axis].copy()
    expected = (200 if axis == 0 else 100) - expected
    np.testing.assert_allclose(out.to_array()[:, axis], expected)


def test_flip_input_stream_overrides_the_option():
    raw = np.array([[10.0, 20.0, 0.0]], np.float32)
    options = {"num_landmarks": 1, "input_image_width": 200, "input_image_height": 100}
    (out,) = decode(raw, options, outputs=("LANDMARKS",), FLIP_HORIZONTALLY=True)
    assert out.landmark[0].x == pytest.approx(190)


def test_visibility_and_presence_go_through_their_activation():
    raw = np.array([[1.0, 2.0, 3.0, 0.0, 2.0]], np.float32)
    options = {"num_landmarks": 1, "visibility_activation": "SIGMOID"}
    (out,) = decode(raw, options, outputs=("LANDMARKS",))
    point = out.landmark[0]
    assert point.visibility == pytest.approx(0.5) and point.presence == pytest.approx(2.0)


def test_two_values_per_landmark_leave_z_zero():
    (out,) = decode([[1.0, 2.0], [3.0, 4.0]], {"num_landmarks": 2}, outputs=("LANDMARKS",))
    np.testing.assert_allclose(out.to_array(), [[1, 2, 0], [3, 4, 0]])
