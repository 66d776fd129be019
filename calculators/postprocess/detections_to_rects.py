"""DetectionsToRectsCalculator: a detection's box (or keypoints) as a rotated rectangle."""

from __future__ import annotations

import enum
import math


from mediagraph.calculators.postprocess._geometry import image_size, normalize_radians
from mediagraph import (Calculator, CalculatorContext, Input, NodeConfig, Options, Output,
                        at_least_one, one_of, option)
from mediagraph.formats import Detection, NormalizedRect, keypoint_array


class ConversionMode(enum.IntEnum):
    """`DetectionsToRectsCalculatorOptions.ConversionMode`; DEFAULT uses the bounding box."""

    DEFAULT = 0
    USE_BOUNDING_BOX = 1
    USE_KEYPOINTS = 2


class DetectionsToRectsCalculatorOptions(
        Options, proto_name="mediapipe.DetectionsToRectsCalculatorOptions", extension=262691807):
    """MediaPipe's `detections_to_rects_calculator.proto` (numbers and defaults)."""

    rotation_vector_start_keypoint_index: int | None = option(1, default=None, proto="int32")
    rotation_vector_end_keypoint_index: int | None = option(2, default=None, proto="int32")
    rotation_vector_target_angle: float | None = option(3, default=None, proto="float",
                                                        doc="radians")
    rotation_vector_target_angle_degrees: float | None = option(4, default=None, proto="float")
    output_zero_rect_for_empty_detections: bool = option(5, default=False)
    conversion_mode: ConversionMode = option(6, default=ConversionMode.DEFAULT)


class DetectionsToRectsCalculator(Calculator):
    """Turn detections into NormalizedRects, rotated so a keypoint vector points one way.

    The rect is the detection's relative bounding box (or, with USE_KEYPOINTS, the box
    around its keypoints). With both rotation keypoint indices set, the rect's rotation
    is `target_angle - atan2(-(y_end - y_start), x_end - x_start)` in pixels (so IMAGE_SIZE
    is required), wrapped to [-pi, pi): after rotating by it, the start->end vector points
    at `target_angle` (90 degrees: upward). DETECTION/NORM_RECT handle one detection,
    DETECTIONS/NORM_RECTS a list (NORM_RECT from a list uses its first detection). An empty
    list produces nothing, or a zero rect with `output_zero_rect_for_empty_detections`.

    Inputs:  DETECTION (Detection) or DETECTIONS (list of Detection); IMAGE_SIZE
             ((width, height), needed for rotation)
    Outputs: NORM_RECT (NormalizedRect) and/or NORM_RECTS (list of NormalizedRect)
    Options: DetectionsToRectsCalculatorOptions (ext 262691807):
             rotation_vector_start/end_keypoint_index, rotation_vector_target_angle(_degrees),
             output_zero_rect_for_empty_detections, conversion_mode

    Example config (MediaPipe's palm_detection_detection_to_roi.pbtxt):
        node {
          calculator: "DetectionsToRectsCalculator"
          input_stream: "DETECTION:detection"
          input_stream: "IMAGE_SIZE:image_size"
          output_stream: "NORM_RECT:raw_roi"
          options { [mediapipe.DetectionsToRectsCalculatorOptions.ext] {
            rotation_vector_start_keypoint_index: 0
            rotation_vector_end_keypoint_index: 2
            rotation_vector_target_angle_degrees: 90 } }
        }
    """

    Options = DetectionsToRectsCalculatorOptions

    detection = Input(Detection, tag="DETECTION", optional=True)
    detections = Input(list, tag="DETECTIONS", optional=True)
    image_size = Input(tuple, tag="IMAGE_SIZE", optional=True)
    norm_rect = Output(NormalizedRect, tag="NORM_RECT", optional=True)
    norm_rects = Output(list, tag="NORM_RECTS", optional=True)
    groups = (one_of(detection, detections),
              at_least_one(norm_rect, norm_rects, message="connect NORM_RECT or NORM_RECTS"))

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        if _rotates(node.options) and not node.connected(cls.image_size):
            raise ValueError("rotation from keypoints needs the IMAGE_SIZE input")

    def open(self, cc: CalculatorContext) -> None:
        opts: DetectionsToRectsCalculatorOptions = self.options
        self._rotate = _rotates(opts)
        if opts.rotation_vector_target_angle is not None:
            self._target = opts.rotation_vector_target_angle
        elif opts.rotation_vector_target_angle_degrees is not None:
            self._target = math.radians(opts.rotation_vector_target_angle_degrees)
        else:
            self._target = 0.0

    def process(self, cc: CalculatorContext) -> None:
        single = cc.get(self.detection)
        detections = [single] if single is not None else cc.get(self.detections)
        if detections is None:
            return
        if not detections:
            if self.options.output_zero_rect_for_empty_detections:
                zero = NormalizedRect(0.0, 0.0, 0.0, 0.0)
                cc.send(self.norm_rect, zero)
                cc.send(self.norm_rects, [zero])
            return
        size = image_size(cc.get(self.image_size), "rotation") if self._rotate else None
        rects = [self.to_rect(d, size) for d in detections]
        cc.send(self.norm_rect, rects[0])
        cc.send(self.norm_rects, rects)

    def to_rect(self, detection: Detection, size: tuple[int, int] | None) -> NormalizedRect:
        """One detection's rect (rotated when the options ask for it)."""
        opts: DetectionsToRectsCalculatorOptions = self.options
        if opts.conversion_mode == ConversionMode.USE_KEYPOINTS:
            points = keypoint_array(detection.relative_keypoints)
            if not len(points):
                raise ValueError("USE_KEYPOINTS needs detections with keypoints")
            low, high = points.min(axis=0), points.max(axis=0)
            xc, yc = (low + high) / 2
            w, h = high - low
        else:
            box = detection.relative_bounding_box
            if box is None:
                raise ValueError("detection has no relative_bounding_box")
            xc, yc = box.xmin + box.width / 2, box.ymin + box.height / 2
            w, h = box.width, box.height
        rotation = 0.0
        if size is not None:
            keypoints = detection.relative_keypoints
            start = keypoints[opts.rotation_vector_start_keypoint_index]
            end = keypoints[opts.rotation_vector_end_keypoint_index]
            width, height = size
            dx = (end.x - start.x) * width
            dy = (end.y - start.y) * height
            rotation = normalize_radians(self._target - math.atan2(-dy, dx))
        return NormalizedRect(float(xc), float(yc), float(w), float(h), rotation)


def _rotates(opts: DetectionsToRectsCalculatorOptions) -> bool:
    """Whether the rect turns to follow two keypoints."""
    return (opts.rotation_vector_start_keypoint_index is not None
            and opts.rotation_vector_end_keypoint_index is not None)
