"""AlignmentPointsRectsCalculator: a square rect from two keypoints (a centre and a scale point)."""

from __future__ import annotations

import math

from mediagraph.calculators.postprocess._geometry import normalize_radians
from mediagraph.calculators.postprocess.detections_to_rects import (
    DetectionsToRectsCalculator,
    DetectionsToRectsCalculatorOptions,
)
from mediagraph import NodeConfig
from mediagraph.formats import Detection, NormalizedRect


class AlignmentPointsRectsCalculator(DetectionsToRectsCalculator):
    """A rect centred on one keypoint, twice the distance to another wide and high, turned.

    MediaPipe's `alignment_points_rects_calculator.cc`: keypoint
    `rotation_vector_start_keypoint_index` is the centre; the box side is twice its
    distance (in pixels) to keypoint `rotation_vector_end_keypoint_index`, so the rect is
    square in pixels; the rotation is DetectionsToRectsCalculator's, from the same two
    keypoints. Both indices and IMAGE_SIZE are required.

    Inputs:  DETECTION (Detection) or DETECTIONS (list of Detection); IMAGE_SIZE
             ((width, height))
    Outputs: NORM_RECT (NormalizedRect) and/or NORM_RECTS (list of NormalizedRect)
    Options: DetectionsToRectsCalculatorOptions (ext 262691807):
             rotation_vector_start_keypoint_index, rotation_vector_end_keypoint_index,
             rotation_vector_target_angle(_degrees), output_zero_rect_for_empty_detections

    Example config (MediaPipe's pose_detection_to_roi.pbtxt):
        node {
          calculator: "AlignmentPointsRectsCalculator"
          input_stream: "DETECTION:detection"
          input_stream: "IMAGE_SIZE:image_size"
          output_stream: "NORM_RECT:raw_roi"
          options { [mediapipe.DetectionsToRectsCalculatorOptions.ext] {
            rotation_vector_start_keypoint_index: 0
            rotation_vector_end_keypoint_index: 1
            rotation_vector_target_angle_degrees: 90 } }
        }
    """

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        opts: DetectionsToRectsCalculatorOptions = node.options
        if opts.rotation_vector_start_keypoint_index is None \
                or opts.rotation_vector_end_keypoint_index is None:
            raise ValueError("rotation_vector_start_keypoint_index and "
                             "rotation_vector_end_keypoint_index are required (the centre "
                             "and scale keypoints)")
        super().check_config(node)

    def to_rect(self, detection: Detection, size: tuple[int, int] | None) -> NormalizedRect:
        opts: DetectionsToRectsCalculatorOptions = self.options
        assert size is not None  # check_config requires IMAGE_SIZE
        width, height = size
        keypoints = detection.relative_keypoints
        start = keypoints[opts.rotation_vector_start_keypoint_index]
        end = keypoints[opts.rotation_vector_end_keypoint_index]
        x_center, y_center = start.x * width, start.y * height
        x_scale, y_scale = end.x * width, end.y * height
        box_size = 2.0 * math.hypot(x_scale - x_center, y_scale - y_center)
        rotation = normalize_radians(self._target - math.atan2(-(y_scale - y_center),
                                                               x_scale - x_center))
        return NormalizedRect(x_center / width, y_center / height, box_size / width,
                              box_size / height, rotation)
