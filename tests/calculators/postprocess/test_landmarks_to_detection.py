"""LandmarksToDetectionCalculator: box and keypoints of the selected landmarks."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.formats import NormalizedLandmarkList
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)
POINTS = np.array([[0.2, 0.3, 0.0], [0.6, 0.1, 0.0], [0.4, 0.8, 0.0], [0.9, 0.9, 0.0]])


@pytest.mark.parametrize("indices, box", [((), (0.2, 0.1, 0.7, 0.8)),
                                          ((0, 2), (0.2, 0.3, 0.2, 0.5))])
def test_box_bounds_the_selected_landmarks(indices, box):
    out = CalculatorRunner("LandmarksToDetectionCalculator",
                           options={"selected_landmark_indices": list(indices)}).run(
        {"NORM_LANDMARKS": [(NormalizedLandmarkList.from_array(POINTS), 0)]})
    detection = out["DETECTION"][0].value
    b = detection.relative_bounding_box
    assert (b.xmin, b.ymin, b.width, b.height) == pytest.approx(box, abs=1e-6)
    chosen = POINTS[list(indices)] if indices else POINTS
    np.testing.assert_allclose([(k.x, k.y) for k in detection.relative_keypoints],
                               chosen[:, :2], rtol=1e-6)
