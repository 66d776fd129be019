"""HandDetectionsFromPoseToRectsCalculator: a hand's search rect from three pose landmarks."""

from __future__ import annotations

import math

from mediagraph.calculators.postprocess._geometry import normalize_radians
from mediagraph.calculators.postprocess.detections_to_rects import DetectionsToRectsCalculator
from mediagraph import CalculatorContext, Input
from mediagraph.formats import Detection, NormalizedRect

# Keypoint order of the detection: the pose's wrist, pinky and index landmarks, as
# MediaPipe's hand_landmarks_left_and_right_cpu.pbtxt splits them out.
_WRIST, _PINKY, _INDEX = 0, 1, 2


class HandDetectionsFromPoseToRectsCalculator(DetectionsToRectsCalculator):
    """Turn a detection over pose wrist, pinky and index into a square-ish hand rect.

    MediaPipe's holistic module (hand_detections_from_pose_to_rects_calculator.cc), a
    DetectionsToRectsCalculator with its own geometry, in pixels: the middle finger is
    estimated at (2 * index + pinky) / 3; the rect is centred there, its side is twice
    the wrist-to-middle distance, and it is turned so that wrist->middle points up
    (rotation `pi/2 - atan2(-dy, dx)`, wrapped to [-pi, pi)). The rotation options of
    DetectionsToRectsCalculatorOptions are ignored, as in MediaPipe; only
    `output_zero_rect_for_empty_detections` applies.

    Inputs:  DETECTION (Detection, 3 keypoints: wrist, pinky, index) or DETECTIONS (list);
             IMAGE_SIZE ((width, height))
    Outputs: NORM_RECT (NormalizedRect) and/or NORM_RECTS (list of NormalizedRect)
    Options: DetectionsToRectsCalculatorOptions (ext 262691807):
             output_zero_rect_for_empty_detections

    Example config (MediaPipe's hand_landmarks_from_pose_to_recrop_roi.pbtxt):
        node {
          calculator: "HandDetectionsFromPoseToRectsCalculator"
          input_stream: "DETECTION:hand_detection_from_pose"
          input_stream: "IMAGE_SIZE:image_size"
          output_stream: "NORM_RECT:hand_roi_from_pose"
        }
    """

    image_size = Input(tuple, tag="IMAGE_SIZE")

    @classmethod
    def check_config(cls, node) -> None:
        pass  # IMAGE_SIZE is required; the rotation options play no part

    def open(self, cc: CalculatorContext) -> None:
        self._rotate = True
        self._target = math.pi / 2

    def to_rect(self, detection: Detection, size: tuple[int, int] | None) -> NormalizedRect:
        keypoints = detection.relative_keypoints
        if len(keypoints) < 3:
            raise ValueError("HandDetectionsFromPoseToRectsCalculator needs a detection with "
                             f"3 keypoints (wrist, pinky, index), got {len(keypoints)}")
        assert size is not None
        width, height = size
        wrist, pinky, index = (keypoints[i] for i in (_WRIST, _PINKY, _INDEX))
        x_wrist, y_wrist = wrist.x * width, wrist.y * height
        x_middle = (2 * index.x * width + pinky.x * width) / 3
        y_middle = (2 * index.y * height + pinky.y * height) / 3
        side = 2 * math.hypot(x_middle - x_wrist, y_middle - y_wrist)
        rotation = normalize_radians(self._target - math.atan2(-(y_middle - y_wrist),
                                                               x_middle - x_wrist))
        return NormalizedRect(x_middle / width, y_middle / height, side / width,
                              side / height, rotation)
