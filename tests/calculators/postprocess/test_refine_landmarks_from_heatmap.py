"""RefineLandmarksFromHeatmapCalculator against MediaPipe's loop, written out per landmark.

`reference` is refine_landmarks_from_heatmap_calculator.cc's RefineLandmarksFromHeatMap
transcribed as it reads (float32, C++'s truncating int conversion, and its bounds check of
the column against the height); the calculator does the same with array operations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.formats import NormalizedLandmark, NormalizedLandmarkList
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


def reference(points, heatmap, kernel_size, min_confidence, refine_presence,
              refine_visibility):
    height, width, _ = heatmap.shape
    out = []
    for index, (x, y, z, visibility, presence) in enumerate(points):
        col = int(np.float32(x) * np.float32(width))
        row = int(np.float32(y) * np.float32(height))
        if col < 0 or col >= width or row < 0 or col >= height:
            out.append((x, y, z, visibility, presence))
            continue
        offset = (kernel_size - 1) // 2
        total = weighted_col = weighted_row = peak = 0.0
        for r in range(max(0, row - offset), min(height, row + offset + 1)):
            for c in range(max(0, col - offset), min(width, col + offset + 1)):
                confidence = 1.0 / (1.0 + math.exp(-float(heatmap[r, c, index])))
                total += confidence
                peak = max(peak, confidence)
                weighted_col += c * confidence
                weighted_row += r * confidence
        if peak >= min_confidence and total > 0:
            x, y = weighted_col / width / total, weighted_row / height / total
        if refine_presence and total > 0:
            presence = min(presence, peak)
        if refine_visibility and total > 0:
            visibility = min(visibility, peak)
        out.append((x, y, z, visibility, presence))
    return np.array(out)


@pytest.mark.parametrize("options", [
    {"kernel_size": 7},
    {"kernel_size": 9, "min_confidence_to_refine": 0.9, "refine_presence": True,
     "refine_visibility": True},
])
def test_agrees_with_mediapipes_loop(options):
    rng = np.random.default_rng(1)
    n, size = 39, 64
    heatmap = rng.normal(0.0, 2.0, (1, size, size, n)).astype(np.float32)
    points = np.c_[rng.uniform(-0.1, 1.1, (n, 2)), rng.normal(size=n),
                   rng.uniform(0, 1, (n, 2))]
    # edges: the first/last cells, just outside on each side, and rows past the bottom
    # (kept in by MediaPipe's column-against-height check), negatives that truncate to 0
    points[:6, :2] = [(0.0, 0.0), (0.999, 0.999), (-0.01, 0.5), (0.5, 1.02), (1.01, 0.5),
                      (0.5, -0.005)]
    landmarks = NormalizedLandmarkList(tuple(NormalizedLandmark(*map(float, p)) for p in points))
    out = CalculatorRunner("RefineLandmarksFromHeatmapCalculator", options=options).run(
        {"NORM_LANDMARKS": [(landmarks, 0)], "TENSORS": [([heatmap], 0)]})
    refined = out["NORM_LANDMARKS"][0].value
    got = np.array([(p.x, p.y, p.z, p.visibility, p.presence) for p in refined.landmark])
    expected = reference(points, heatmap[0], options["kernel_size"],
                         options.get("min_confidence_to_refine", 0.5),
                         options.get("refine_presence", False),
                         options.get("refine_visibility", False))
    assert not np.allclose(got[:, :2], points[:, :2])     # something was refined
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_without_a_heatmap_landmarks_pass_unchanged():
    landmarks = NormalizedLandmarkList((NormalizedLandmark(0.5, 0.5, 0.0, 0.9, 0.9),))
    out = CalculatorRunner("RefineLandmarksFromHeatmapCalculator").run(
        {"NORM_LANDMARKS": [(landmarks, 0)], "TENSORS": [([np.zeros((1, 8, 8, 1))], 1)]})
    assert out["NORM_LANDMARKS"][0].value == landmarks
