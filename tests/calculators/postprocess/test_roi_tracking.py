"""RoiTrackingCalculator: the previous rect while it agrees with the re-crop rect."""

from __future__ import annotations

import math

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import Graph, parse_config
from mediagraph.calculators.postprocess.roi_tracking import (
    IouRequirements,
    LandmarksRequirements,
    RectRequirements,
    RoiTrackingCalculatorOptions,
)
from mediagraph.formats import NormalizedLandmark, NormalizedLandmarkList, NormalizedRect
from mediagraph.testing import CalculatorRunner, timestamps

pytestmark = pytest.mark.timeout(60)

SIZE = (640, 480)
HOLISTIC = RoiTrackingCalculatorOptions(
    rect_requirements=RectRequirements(rotation_degrees=40.0, translation=0.2, scale=0.4),
    landmarks_requirements=LandmarksRequirements(recrop_rect_margin=-0.1))
PREV = NormalizedRect(0.5, 0.5, 0.2, 0.25, rotation=0.1)
INSIDE = NormalizedLandmarkList(tuple(NormalizedLandmark(x, y) for x, y in
                                      [(0.48, 0.47), (0.53, 0.52), (0.5, 0.55)]))


def track(recrop, prev=PREV, landmarks=INSIDE, options=HOLISTIC):
    inputs = {"RECROP_RECT": [] if recrop is None else [(recrop, 0)],
              "PREV_LANDMARKS_RECT": [] if prev is None else [(prev, 0)],
              "PREV_LANDMARKS": [] if landmarks is None else [(landmarks, 0)],
              "IMAGE_SIZE": [(SIZE, 0)]}
    out = CalculatorRunner("RoiTrackingCalculator", options=options).run(inputs)
    return out["TRACKING_RECT"]


def test_small_change_keeps_the_previous_rect():
    recrop = NormalizedRect(0.51, 0.49, 0.21, 0.24, rotation=0.2)
    assert track(recrop)[0].value is PREV


@pytest.mark.parametrize("recrop,why", [
    (NormalizedRect(0.5, 0.5, 0.2, 0.25, rotation=0.1 + math.radians(41)), "rotation"),
    (NormalizedRect(0.55, 0.5, 0.2, 0.25, rotation=0.1), "x translation over 0.2 * width"),
    (NormalizedRect(0.5, 0.5, 0.2, 0.45, rotation=0.1), "height over 0.4 * height"),
    (NormalizedRect(0.52, 0.5, 0.1, 0.25, rotation=0.1), "landmarks outside the shrunk rect"),
])
def test_a_broken_requirement_takes_the_recrop_rect(recrop, why):
    assert track(recrop)[0].value is recrop, why


def test_rotation_difference_wraps_around():
    prev = NormalizedRect(0.5, 0.5, 0.2, 0.25, rotation=math.radians(170))
    recrop = NormalizedRect(0.5, 0.5, 0.2, 0.25, rotation=math.radians(-170))
    options = RoiTrackingCalculatorOptions(rect_requirements=RectRequirements(
        rotation_degrees=25.0, translation=1.0, scale=1.0))
    assert track(recrop, prev=prev, options=options)[0].value is prev


def test_translation_is_measured_along_the_recrop_rects_axes():
    # An x shift of 0.05 (32 px) is within 0.2 of an upright rect's width (0.4 * 640 px);
    # turned by 90 degrees, it runs along the rect's thin side (0.05 * 480 px): lost.
    options = RoiTrackingCalculatorOptions(rect_requirements=RectRequirements(
        rotation_degrees=90.0, translation=0.2, scale=1.0))
    upright = NormalizedRect(0.5, 0.5, 0.4, 0.25)
    moved = NormalizedRect(0.55, 0.5, 0.4, 0.25)
    assert track(moved, prev=upright, options=options)[0].value is upright  # 32 <= 51.2
    turned_prev = NormalizedRect(0.5, 0.5, 0.4, 0.05, rotation=math.pi / 2)
    turned = NormalizedRect(0.55, 0.5, 0.4, 0.05, rotation=math.pi / 2)
    assert track(turned, prev=turned_prev, options=options)[0].value is turned  # 32 > 4.8


def test_iou_requirement():
    options = RoiTrackingCalculatorOptions(iou_requirements=IouRequirements(min_iou=0.5))
    near = NormalizedRect(0.51, 0.5, 0.2, 0.25)
    far = NormalizedRect(0.62, 0.5, 0.2, 0.25)
    assert track(near, options=options)[0].value is PREV
    assert track(far, options=options)[0].value is far


def test_without_recrop_nothing_and_without_previous_the_recrop():
    recrop = NormalizedRect(0.9, 0.9, 0.1, 0.1)
    assert track(None) == []
    out = track(recrop, prev=None, landmarks=None)
    assert timestamps(out) == [0] and out[0].value is recrop


def test_no_requirements_always_keeps_tracking():
    far = NormalizedRect(0.9, 0.1, 0.05, 0.05, rotation=3.0)
    assert track(far, options=RoiTrackingCalculatorOptions())[0].value is PREV


def test_mediapipe_config_loads():
    Graph(parse_config("""
        input_stream: "l" input_stream: "r" input_stream: "c" input_stream: "s"
        node { calculator: "RoiTrackingCalculator"
          input_stream: "PREV_LANDMARKS:l" input_stream: "PREV_LANDMARKS_RECT:r"
          input_stream: "RECROP_RECT:c" input_stream: "IMAGE_SIZE:s"
          output_stream: "TRACKING_RECT:t"
          options { [mediapipe.RoiTrackingCalculatorOptions.ext] {
            rect_requirements { rotation_degrees: 40.0 translation: 0.2 scale: 0.4 }
            landmarks_requirements { recrop_rect_margin: -0.1 } } } }"""))
