"""DetectionProjectionCalculator: detections through ImageToTensor's MATRIX and back."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.preprocess.image_to_tensor import pad_roi, roi_to_image_matrix
from mediagraph import MediaGraphError
from mediagraph.formats import Detection, RelativeBoundingBox, RelativeKeypoint
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


def project(detections, matrix, streams=1):
    inputs = {"DETECTIONS" if i == 0 else f"DETECTIONS:{i}": [(detections, 0)]
              for i in range(streams)}
    inputs["PROJECTION_MATRIX"] = [(matrix, 0)]
    out = CalculatorRunner("DetectionProjectionCalculator").run(inputs)
    return [out["DETECTIONS" if i == 0 else f"DETECTIONS:{i}"][0].value for i in range(streams)]


def detection(xmin, ymin, w, h, keypoints=()):
    return Detection(label_id=(0,), score=(0.9,),
                     relative_bounding_box=RelativeBoundingBox(xmin, ymin, w, h),
                     relative_keypoints=tuple(RelativeKeypoint(x, y) for x, y in keypoints))


def test_identity_leaves_detections_unchanged_on_every_stream():
    d = detection(0.1, 0.2, 0.3, 0.4, [(0.5, 0.6)])
    first, second = project([d], np.eye(4, dtype=np.float32).reshape(-1), streams=2)
    for (out,) in (first, second):
        b = out.relative_bounding_box
        assert (b.xmin, b.ymin, b.width, b.height) == pytest.approx((0.1, 0.2, 0.3, 0.4))
        assert out.relative_keypoints == d.relative_keypoints and out.score == d.score


def test_letterbox_matrix_takes_tensor_coordinates_back_to_the_image():
    # A 200x100 image letterboxed into a square tensor: rows 25%..75% hold the image.
    roi, padding = pad_roi(128, 128, True, (100.0, 50.0, 200.0, 100.0, 0.0))
    assert padding == pytest.approx((0.0, 0.25, 0.0, 0.25))
    m = roi_to_image_matrix(roi, 200, 100)
    (out,) = project([detection(0.5, 0.25, 0.25, 0.5, [(0.5, 0.75)])], m)[0:1]
    d = out[0]
    b = d.relative_bounding_box
    assert (b.xmin, b.ymin, b.width, b.height) == pytest.approx((0.5, 0.0, 0.25, 1.0))
    assert (d.relative_keypoints[0].x, d.relative_keypoints[0].y) == pytest.approx((0.5, 1.0))


def test_rotation_round_trip_and_box_grows_around_rotated_corners():
    # ROI: centre (0.5, 0.5) of a 100x100 image, 50x50, rotated 90 degrees.
    m = roi_to_image_matrix((50.0, 50.0, 50.0, 50.0, math.pi / 2), 100, 100).reshape(4, 4)
    point = m @ np.array([0.0, 0.0, 0.0, 1.0])   # ROI's top-left corner
    # Rotating (-0.5, -0.5) by +90 degrees (y down) gives (0.5, -0.5) in ROI units.
    assert point[:2] == pytest.approx((0.75, 0.25), abs=1e-6)
    d = detection(0.0, 0.0, 0.5, 0.25, [(0.0, 0.0), (0.5, 0.25)])
    (out,) = project([d], m.reshape(-1))[0]
    b = out.relative_bounding_box
    # The 0.5 x 0.25 box (in ROI units of 0.5 image) turns into 0.125 wide, 0.25 high.
    assert (b.width, b.height) == pytest.approx((0.125, 0.25), abs=1e-6)
    assert (b.xmin, b.ymin) == pytest.approx((0.625, 0.25), abs=1e-6)
    inverse = np.linalg.inv(m)
    for original, projected in zip(d.relative_keypoints, out.relative_keypoints):
        back = inverse @ np.array([projected.x, projected.y, 0.0, 1.0])
        assert back[:2] == pytest.approx((original.x, original.y), abs=1e-6)


def test_rotated_box_bounds_its_projected_corners():
    m = roi_to_image_matrix((50.0, 50.0, 100.0, 100.0, math.pi / 4), 100, 100)
    (out,) = project([detection(0.25, 0.25, 0.5, 0.5)], m)[0]
    b = out.relative_bounding_box
    half_diagonal = 0.5 * math.sqrt(2) / 2
    assert (b.xmin, b.ymin) == pytest.approx((0.5 - half_diagonal,) * 2, abs=1e-6)
    assert b.width == pytest.approx(2 * half_diagonal, abs=1e-6)


def test_absent_matrix_sends_nothing_and_bad_matrix_raises():
    runner = CalculatorRunner("DetectionProjectionCalculator")
    out = runner.run({"DETECTIONS": [([detection(0, 0, 1, 1)], 0)],
                      "PROJECTION_MATRIX": [(np.eye(4).reshape(-1), 1)]})
    assert out["DETECTIONS"] == []
    with pytest.raises(MediaGraphError, match="16 values"):
        project([detection(0, 0, 1, 1)], np.eye(3))
