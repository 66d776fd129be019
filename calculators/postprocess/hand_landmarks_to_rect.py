"""HandLandmarksToRectCalculator: a rotated rect around a hand's landmarks."""

from __future__ import annotations

import math

import numpy as np

from mediagraph.calculators.postprocess._geometry import (
    image_size,
    landmark_arrays,
    normalize_radians,
)
from mediagraph import Calculator, CalculatorContext, Input, Output
from mediagraph.formats import NormalizedLandmarkList, NormalizedRect

# Indices into the partial landmark list (wrist, index/middle/ring finger joints, ...),
# as MediaPipe's calculator expects.
_WRIST, _INDEX_PIP, _MIDDLE_PIP, _RING_PIP = 0, 4, 6, 8
# The partial list within a whole hand's 21 landmarks: the wrist, the thumb's lower
# joints and the two lowest joints of each finger (MediaPipe 0.10.14 picks them itself).
_NUM_HAND_LANDMARKS = 21
_PALM = (0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18)


class HandLandmarksToRectCalculator(Calculator):
    """The tightest rect around the landmarks, turned so the hand points up.

    A whole hand (21 landmarks) is first cut to its partial list, landmarks 0-3, 5, 6, 9,
    10, 13, 14, 17 and 18, as MediaPipe 0.10.14's calculator does (its HandTracking and
    HandLandmarkLandmarksToRoi hand it all 21); any other count is taken as that partial
    list already. Rotation: the vector from the wrist (partial landmark 0) to the mean of
    the index/ring midpoint (4, 8) and the middle joint (6), in pixels, is turned to point
    up (`pi/2 - atan2(-dy, dx)`, wrapped to [-pi, pi)). Size and centre: the landmarks'
    bounding box in that rotated frame (pixels), around the axis-aligned box's centre.

    Inputs:  NORM_LANDMARKS (NormalizedLandmarkList: 21 hand landmarks, or at least 9 of
             MediaPipe's partial hand landmarks); IMAGE_SIZE ((width, height))
    Outputs: NORM_RECT (NormalizedRect)
    Options: none

    Example config (MediaPipe's hand_landmark_landmarks_to_roi.pbtxt):
        node {
          calculator: "HandLandmarksToRectCalculator"
          input_stream: "NORM_LANDMARKS:partial_landmarks"
          input_stream: "IMAGE_SIZE:image_size"
          output_stream: "NORM_RECT:hand_rect_from_landmarks"
        }
    """

    landmarks = Input(NormalizedLandmarkList, tag="NORM_LANDMARKS")
    image_size = Input(tuple, tag="IMAGE_SIZE")
    norm_rect = Output(NormalizedRect, tag="NORM_RECT")

    def process(self, cc: CalculatorContext) -> None:
        landmarks = cc.get(self.landmarks)
        if landmarks is None:
            return
        size = image_size(cc.get(self.image_size), "HandLandmarksToRectCalculator")
        cc.send(self.norm_rect, hand_rect(landmarks, size))


def hand_rect(landmarks: NormalizedLandmarkList, size: tuple[int, int]) -> NormalizedRect:
    xy = landmark_arrays(landmarks)[0][:, :2]
    if len(xy) == _NUM_HAND_LANDMARKS:
        xy = xy[list(_PALM)]
    if len(xy) <= _RING_PIP:
        raise ValueError(f"HandLandmarksToRectCalculator needs at least {_RING_PIP + 1} "
                         f"landmarks, got {len(xy)}")
    pixels = np.array(size, np.float64)
    start = xy[_WRIST] * pixels
    end = ((xy[_INDEX_PIP] + xy[_RING_PIP]) / 2 + xy[_MIDDLE_PIP]) / 2 * pixels
    rotation = normalize_radians(math.pi / 2 - math.atan2(-(end[1] - start[1]),
                                                          end[0] - start[0]))
    center = (xy.min(axis=0) + xy.max(axis=0)) / 2
    reverse = normalize_radians(-rotation)
    c, s = math.cos(reverse), math.sin(reverse)
    offsets = (xy - center) * pixels
    turned = offsets @ np.array([[c, s], [-s, c]])  # rows rotated by `reverse`
    low, high = turned.min(axis=0), turned.max(axis=0)
    mid = (low + high) / 2
    c, s = math.cos(rotation), math.sin(rotation)
    x = mid[0] * c - mid[1] * s + center[0] * pixels[0]
    y = mid[0] * s + mid[1] * c + center[1] * pixels[1]
    width, height = (high - low) / pixels
    return NormalizedRect(float(x / pixels[0]), float(y / pixels[1]), float(width),
                          float(height), rotation)
