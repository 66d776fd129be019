"""DetectionLetterboxRemovalCalculator: coordinates relative to the unpadded image."""

from __future__ import annotations

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import MediaGraphError
from mediagraph.formats import Detection, RelativeBoundingBox, RelativeKeypoint
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


def remove(detections, padding):
    out = CalculatorRunner("DetectionLetterboxRemovalCalculator").run(
        {"DETECTIONS": [(detections, 0)], "LETTERBOX_PADDING": [(padding, 0)]})
    return out["DETECTIONS"][0].value


def test_vertical_letterbox_is_removed_from_boxes_and_keypoints():
    d = Detection(score=(0.8,), label_id=(1,),
                  relative_bounding_box=RelativeBoundingBox(0.2, 0.25, 0.4, 0.25),
                  relative_keypoints=(RelativeKeypoint(0.5, 0.5, keypoint_label="nose"),))
    (out,) = remove([d], (0.0, 0.25, 0.0, 0.25))
    b = out.relative_bounding_box
    assert (b.xmin, b.ymin, b.width, b.height) == pytest.approx((0.2, 0.0, 0.4, 0.5))
    kp = out.relative_keypoints[0]
    assert (kp.x, kp.y, kp.keypoint_label) == (pytest.approx(0.5), pytest.approx(0.5), "nose")
    assert (out.score, out.label_id) == ((0.8,), (1,))


def test_asymmetric_horizontal_padding():
    d = Detection(relative_bounding_box=RelativeBoundingBox(0.1, 0.0, 0.2, 1.0))
    (out,) = remove([d], (0.1, 0.0, 0.3, 0.0))
    b = out.relative_bounding_box
    assert (b.xmin, b.width) == pytest.approx((0.0, 1 / 3))


def test_no_padding_is_identity_and_missing_padding_sends_nothing():
    d = Detection(relative_bounding_box=RelativeBoundingBox(0.1, 0.2, 0.3, 0.4))
    assert remove([d], (0, 0, 0, 0)) == [d]
    out = CalculatorRunner("DetectionLetterboxRemovalCalculator").run(
        {"DETECTIONS": [([d], 0)], "LETTERBOX_PADDING": [((0, 0, 0, 0), 1)]})
    assert out["DETECTIONS"] == []


def test_padding_covering_everything_raises():
    with pytest.raises(MediaGraphError, match="leaves no image"):
        remove([Detection()], (0.5, 0, 0.5, 0))
