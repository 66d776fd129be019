"""HandLandmarksToRectCalculator against MediaPipe's formula, written out per landmark."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.formats import NormalizedLandmarkList
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


def wrap(a):
    return a - 2 * math.pi * math.floor((a + math.pi) / (2 * math.pi))


def reference(points, w, h):
    """MediaPipe's NormalizedLandmarkListToRect, loop by loop."""
    x0, y0 = points[0][0] * w, points[0][1] * h
    x1 = ((points[4][0] + points[8][0]) / 2 + points[6][0]) / 2 * w
    y1 = ((points[4][1] + points[8][1]) / 2 + points[6][1]) / 2 * h
    rotation = wrap(math.pi / 2 - math.atan2(-(y1 - y0), x1 - x0))
    reverse = wrap(-rotation)
    cx = (max(p[0] for p in points) + min(p[0] for p in points)) / 2
    cy = (max(p[1] for p in points) + min(p[1] for p in points)) / 2
    xs, ys = [], []
    for x, y, _ in points:
        ox, oy = (x - cx) * w, (y - cy) * h
        xs.append(ox * math.cos(reverse) - oy * math.sin(reverse))
        ys.append(ox * math.sin(reverse) + oy * math.cos(reverse))
    px, py = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    center_x = px * math.cos(rotation) - py * math.sin(rotation) + w * cx
    center_y = px * math.sin(rotation) + py * math.cos(rotation) + h * cy
    return (center_x / w, center_y / h, (max(xs) - min(xs)) / w, (max(ys) - min(ys)) / h,
            rotation)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("size", [(640, 480), (256, 256)])
def test_rect_matches_mediapipe(seed, size):
    points = np.random.default_rng(seed).uniform(0.2, 0.8, (12, 3))
    landmarks = NormalizedLandmarkList.from_array(points)
    points = landmarks.to_array().astype(np.float64).tolist()  # the float32 values sent
    out = CalculatorRunner("HandLandmarksToRectCalculator").run(
        {"NORM_LANDMARKS": [(landmarks, 0)], "IMAGE_SIZE": [(size, 0)]})
    r = out["NORM_RECT"][0].value
    assert (r.x_center, r.y_center, r.width, r.height, r.rotation) == \
        pytest.approx(reference(points, *size), abs=1e-6)


def test_upright_hand_has_no_rotation():
    points = np.zeros((9, 3))
    points[:, 0] = 0.5
    points[:, 1] = np.linspace(0.8, 0.4, 9)  # wrist at the bottom, fingers above
    out = CalculatorRunner("HandLandmarksToRectCalculator").run(
        {"NORM_LANDMARKS": [(NormalizedLandmarkList.from_array(points), 0)],
         "IMAGE_SIZE": [((100, 100), 0)]})
    assert out["NORM_RECT"][0].value.rotation == pytest.approx(0.0)


def test_a_whole_hand_is_cut_to_the_partial_list_as_mediapipe_0_10_14():
    """21 landmarks give the rect of landmarks 0-3, 5, 6, 9, 10, 13, 14, 17, 18 (the list
    MediaPipe's older graphs split out themselves); MediaPipe 0.10.14's HandTracking and
    HandLandmarkLandmarksToRoi hand the calculator all 21."""
    hand = np.random.default_rng(7).uniform(0.2, 0.8, (21, 3))
    palm = hand[[0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18]]

    def rect(points):
        out = CalculatorRunner("HandLandmarksToRectCalculator").run(
            {"NORM_LANDMARKS": [(NormalizedLandmarkList.from_array(points), 0)],
             "IMAGE_SIZE": [((640, 480), 0)]})
        return out["NORM_RECT"][0].value

    assert rect(hand) == rect(palm)
