"""HandDetectionsFromPoseToRectsCalculator against MediaPipe's formula, written out."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.formats import Detection, RelativeKeypoint
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


def reference(wrist, pinky, index, w, h):
    """hand_detections_from_pose_to_rects_calculator.cc, step by step, in pixels."""
    xw, yw = wrist[0] * w, wrist[1] * h
    xm = (2 * index[0] * w + pinky[0] * w) / 3
    ym = (2 * index[1] * h + pinky[1] * h) / 3
    size = math.sqrt((xm - xw) ** 2 + (ym - yw) ** 2) * 2
    angle = math.pi / 2 - math.atan2(-(ym - yw), xm - xw)
    angle -= 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))
    return xm / w, ym / h, size / w, size / h, angle


def detection(points) -> Detection:
    return Detection(relative_keypoints=tuple(RelativeKeypoint(float(x), float(y))
                                              for x, y in points))


def run(points, size, options=None):
    runner = CalculatorRunner("HandDetectionsFromPoseToRectsCalculator", options=options,
                              outputs=("NORM_RECT",))
    out = runner.run(
        {"DETECTION": [(detection(points), 0)], "IMAGE_SIZE": [(size, 0)]})
    return out["NORM_RECT"][0].value


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("size", [(640, 480), (810, 1080)])
def test_rect_matches_mediapipe(seed, size):
    points = np.random.default_rng(seed).uniform(0.1, 0.9, (3, 2)).tolist()
    r = run(points, size)
    assert (r.x_center, r.y_center, r.width, r.height, r.rotation) == \
        pytest.approx(reference(*points, *size), abs=1e-6)


def test_hand_pointing_up_is_not_rotated_and_centred_on_the_middle_finger():
    # wrist below, index and pinky above: the middle finger is straight above the wrist
    r = run([(0.5, 0.8), (0.4, 0.5), (0.55, 0.5)], (100, 100))
    assert r.rotation == pytest.approx(0.0, abs=1e-6)
    assert (r.x_center, r.y_center) == pytest.approx((0.5, 0.5))
    assert (r.width, r.height) == pytest.approx((0.6, 0.6))


def test_rotation_options_play_no_part():
    points = [(0.3, 0.3), (0.6, 0.4), (0.5, 0.6)]
    options = dict(rotation_vector_start_keypoint_index=1, rotation_vector_end_keypoint_index=2,
                   rotation_vector_target_angle_degrees=0.0)
    assert run(points, (64, 48), options) == run(points, (64, 48))


def test_a_detection_without_three_keypoints_fails():
    with pytest.raises(Exception, match="3 keypoints"):
        run([(0.3, 0.3), (0.6, 0.4)], (64, 48))
