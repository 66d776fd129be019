"""Landmark projection, world landmark rotation and letterbox removal against the formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.formats import (
    NormalizedLandmark,
    NormalizedLandmarkList,
    NormalizedRect,
)
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)
POINTS = np.array([[0.5, 0.5, 0.1], [0.0, 0.0, 0.0], [1.0, 0.25, -0.2], [0.3, 0.9, 0.05]])


def landmarks(points=POINTS):
    return NormalizedLandmarkList(tuple(NormalizedLandmark(*p, visibility=0.7, presence=0.8)
                                        for p in points.tolist()))


def reference_projection(points, rect, ignore_rotation=False):
    """MediaPipe's LandmarkProjectionCalculator, one landmark at a time."""
    angle = 0.0 if ignore_rotation else rect.rotation
    out = []
    for x, y, z in points:
        x, y = x - 0.5, y - 0.5
        nx = math.cos(angle) * x - math.sin(angle) * y
        ny = math.sin(angle) * x + math.cos(angle) * y
        out.append((nx * rect.width + rect.x_center, ny * rect.height + rect.y_center,
                    z * rect.width))
    return np.array(out)


@pytest.mark.parametrize("ignore_rotation", [False, True])
@pytest.mark.parametrize("rotation", [0.0, 0.4, -2.5])
def test_projection_with_a_rotated_rect_matches_mediapipe(rotation, ignore_rotation):
    rect = NormalizedRect(0.6, 0.4, 0.3, 0.5, rotation)
    out = CalculatorRunner("LandmarkProjectionCalculator",
                           options={"ignore_rotation": ignore_rotation}).run(
        {"NORM_LANDMARKS": [(landmarks(), 0)], "NORM_RECT": [(rect, 0)]})
    projected = out["NORM_LANDMARKS"][0].value
    np.testing.assert_allclose(projected.to_array(),
                               reference_projection(POINTS, rect, ignore_rotation), atol=1e-6)
    assert {(p.visibility, p.presence) for p in projected.landmark} == {(0.7, 0.8)}


def test_projection_matrix_maps_xy_and_scales_z():
    m = np.array([[0.5, 0, 0, 0.1], [0, 0.25, 0, 0.2], [0, 0, 1, 0], [0, 0, 0, 1]])
    out = CalculatorRunner("LandmarkProjectionCalculator").run(
        {"NORM_LANDMARKS": [(landmarks(), 0)], "PROJECTION_MATRIX": [(m.reshape(-1), 0)]})
    got = out["NORM_LANDMARKS"][0].value.to_array()
    np.testing.assert_allclose(got[:, 0], 0.5 * POINTS[:, 0] + 0.1, atol=1e-6)
    np.testing.assert_allclose(got[:, 1], 0.25 * POINTS[:, 1] + 0.2, atol=1e-6)
    np.testing.assert_allclose(got[:, 2], 0.5 * POINTS[:, 2], atol=1e-6)


def test_world_landmarks_turn_by_the_rect_rotation_and_keep_z():
    rect = NormalizedRect(0.5, 0.5, 0.2, 0.2, math.pi / 2)
    out = CalculatorRunner("WorldLandmarkProjectionCalculator").run(
        {"LANDMARKS": [(landmarks(), 0)], "NORM_RECT": [(rect, 0)]})
    got = out["LANDMARKS"][0].value.to_array()
    np.testing.assert_allclose(got, np.c_[-POINTS[:, 1], POINTS[:, 0], POINTS[:, 2]], atol=1e-6)


def test_letterbox_removal_renormalizes_to_the_image_inside_the_padding():
    padding = (0.1, 0.2, 0.1, 0.0)
    out = CalculatorRunner("LandmarkLetterboxRemovalCalculator").run(
        {"LANDMARKS": [(landmarks(), 0)], "LETTERBOX_PADDING": [(padding, 0)]})
    got = out["LANDMARKS"][0].value.to_array()
    np.testing.assert_allclose(got[:, 0], (POINTS[:, 0] - 0.1) / 0.8, atol=1e-6)
    np.testing.assert_allclose(got[:, 1], (POINTS[:, 1] - 0.2) / 0.8, atol=1e-6)
    np.testing.assert_allclose(got[:, 2], POINTS[:, 2] / 0.8, atol=1e-6)
