"""DetectionsToRectsCalculator against MediaPipe's formulas (box centre, keypoint rotation)."""

from __future__ import annotations

import math

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import GraphConfigError
from mediagraph.formats import (
    Detection,
    NormalizedRect,
    RelativeBoundingBox,
    RelativeKeypoint,
)
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)

PALM_ROI = {"rotation_vector_start_keypoint_index": 0, "rotation_vector_end_keypoint_index": 2,
            "rotation_vector_target_angle_degrees": 90}


def palm(xmin=0.2, ymin=0.3, w=0.2, h=0.1, keypoints=((0.3, 0.4), (0.0, 0.0), (0.3, 0.2))):
    return Detection(score=(0.9,), relative_bounding_box=RelativeBoundingBox(xmin, ymin, w, h),
                     relative_keypoints=tuple(RelativeKeypoint(x, y) for x, y in keypoints))


def run(inputs, options=None, outputs=("NORM_RECT",)):
    runner = CalculatorRunner("DetectionsToRectsCalculator", options=options, outputs=outputs)
    return runner.run(inputs)


def test_box_becomes_its_centre_and_size_without_rotation():
    out = run({"DETECTION": [(palm(), 0)]})["NORM_RECT"][0].value
    assert (out.x_center, out.y_center, out.width, out.height, out.rotation) == \
        pytest.approx((0.3, 0.35, 0.2, 0.1, 0.0))


@pytest.mark.parametrize("end, size, expected", [
    ((0.3, 0.2), (640, 480), 0.0),              # wrist->finger points up: no turn
    ((0.5, 0.4), (640, 480), math.pi / 2),      # points right: a clockwise quarter
    ((0.1, 0.4), (640, 480), -math.pi / 2),     # points left
    ((0.3, 0.6), (640, 480), -math.pi),         # points down: wraps to -pi
    ((0.4, 0.3), (100, 200), None),             # uses pixels, not normalized units
])
def test_rotation_turns_the_keypoint_vector_to_the_target_angle(end, size, expected):
    start = (0.3, 0.4)
    d = palm(keypoints=(start, (0.0, 0.0), end))
    out = run({"DETECTION": [(d, 0)], "IMAGE_SIZE": [(size, 0)]}, PALM_ROI)["NORM_RECT"][0].value
    if expected is None:  # MediaPipe's formula: target - atan2(-dy_px, dx_px), wrapped
        dx, dy = (end[0] - start[0]) * size[0], (end[1] - start[1]) * size[1]
        raw = math.pi / 2 - math.atan2(-dy, dx)
        expected = raw - 2 * math.pi * math.floor((raw + math.pi) / (2 * math.pi))
    assert out.rotation == pytest.approx(expected)


def test_target_angle_in_radians_wins_over_degrees():
    options = dict(PALM_ROI, rotation_vector_target_angle=0.0)
    out = run({"DETECTION": [(palm(), 0)], "IMAGE_SIZE": [((640, 480), 0)]},
              options)["NORM_RECT"][0].value
    assert out.rotation == pytest.approx(-math.pi / 2)  # up, turned back to point right


def test_keypoint_mode_bounds_the_keypoints():
    d = palm(keypoints=((0.1, 0.2), (0.5, 0.3), (0.3, 0.6)))
    out = run({"DETECTION": [(d, 0)]}, {"conversion_mode": "USE_KEYPOINTS"})["NORM_RECT"][0].value
    assert (out.x_center, out.y_center, out.width, out.height) == \
        pytest.approx((0.3, 0.4, 0.4, 0.4))


def test_a_list_gives_one_rect_each_and_norm_rect_takes_the_first():
    ds = [palm(), palm(xmin=0.5)]
    out = run({"DETECTIONS": [(ds, 0)]}, outputs=("NORM_RECT", "NORM_RECTS"))
    assert [r.x_center for r in out["NORM_RECTS"][0].value] == pytest.approx([0.3, 0.6])
    assert out["NORM_RECT"][0].value.x_center == pytest.approx(0.3)


@pytest.mark.parametrize("zero_rect, expected", [(False, []), (True, [NormalizedRect(0, 0, 0, 0)])])
def test_empty_detections_give_nothing_or_a_zero_rect(zero_rect, expected):
    out = run({"DETECTIONS": [([], 0)]}, {"output_zero_rect_for_empty_detections": zero_rect})
    assert [p.value for p in out["NORM_RECT"]] == expected


def test_rotation_without_image_size_raises_at_validation():
    with pytest.raises(GraphConfigError, match="rotation from keypoints needs the IMAGE_SIZE"):
        run({"DETECTION": [(palm(), 0)]}, PALM_ROI)
