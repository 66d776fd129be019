"""AlignmentPointsRectsCalculator: a square (in pixels) rect centred on one keypoint."""

from __future__ import annotations

import math

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.formats import Detection, RelativeBoundingBox, RelativeKeypoint
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)
OPTIONS = {"rotation_vector_start_keypoint_index": 0, "rotation_vector_end_keypoint_index": 1,
           "rotation_vector_target_angle_degrees": 90}


def rect(keypoints, size=(100, 200)):
    detection = Detection(relative_bounding_box=RelativeBoundingBox(0.1, 0.1, 0.2, 0.2),
                          relative_keypoints=tuple(RelativeKeypoint(x, y) for x, y in keypoints))
    out = CalculatorRunner("AlignmentPointsRectsCalculator", options=OPTIONS).run(
        {"DETECTION": [(detection, 0)], "IMAGE_SIZE": [(size, 0)]})
    return out["NORM_RECT"][0].value


def test_centre_size_and_upright_rotation():
    # centre (50, 100) px, scale point 50 px above it: a 100 px square, already upright
    r = rect([(0.5, 0.5), (0.5, 0.25)])
    assert (r.x_center, r.y_center, r.width, r.height) == pytest.approx((0.5, 0.5, 1.0, 0.5))
    assert r.rotation == pytest.approx(0.0, abs=1e-9)


def test_a_tilted_body_turns_the_rect():
    # scale point up and to the right at 45 degrees: the rect turns by -45 degrees
    r = rect([(0.5, 0.5), (0.7, 0.4)])                     # (+20, -20) px
    side = 2 * math.hypot(20, 20)
    assert (r.width, r.height) == pytest.approx((side / 100, side / 200))
    assert r.rotation == pytest.approx(math.radians(90 - 45))
