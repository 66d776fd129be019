"""DetectionLetterboxRemovalCalculator: undo letterbox padding on detection coordinates."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from mediagraph import Calculator, CalculatorContext, Input, Output
from mediagraph.formats import Detection, RelativeBoundingBox, keypoint_array, moved_keypoints


class DetectionLetterboxRemovalCalculator(Calculator):
    """Map detections relative to a letterboxed image back to the unpadded image.

    With padding (left, top, right, bottom) normalized by the padded size:
    x' = (x - left) / (1 - left - right), y' = (y - top) / (1 - top - bottom); box widths
    and heights scale by the same factors. Results are not clamped to [0, 1].

    Inputs:  DETECTIONS (list of Detection with relative_bounding_box);
             LETTERBOX_PADDING ((left, top, right, bottom), e.g. from ImageToTensor)
    Outputs: DETECTIONS (list of Detection); nothing at a timestamp missing either input
    Options: none

    Example config:
        node {
          calculator: "DetectionLetterboxRemovalCalculator"
          input_stream: "DETECTIONS:detections"
          input_stream: "LETTERBOX_PADDING:letterbox_padding"
          output_stream: "DETECTIONS:detections_unpadded"
        }
    """

    detections = Input(list)
    letterbox_padding = Input(tag="LETTERBOX_PADDING")
    out = Output(list, tag="DETECTIONS")

    def process(self, cc: CalculatorContext) -> None:
        detections = cc.get(self.detections)
        padding = cc.get(self.letterbox_padding)
        if detections is None or padding is None:
            return
        cc.send(self.out, [remove_letterbox(d, padding) for d in detections])


def remove_letterbox(detection: Detection, padding: Any) -> Detection:
    """`detection` in the coordinates of the image inside the letterbox `padding`."""
    left, top, right, bottom = (float(v) for v in padding)
    x_scale = 1.0 - left - right
    y_scale = 1.0 - top - bottom
    if x_scale <= 0 or y_scale <= 0:
        raise ValueError(f"LETTERBOX_PADDING {tuple(padding)} leaves no image")
    box = detection.relative_bounding_box
    if box is not None:
        box = RelativeBoundingBox(xmin=(box.xmin - left) / x_scale,
                                  ymin=(box.ymin - top) / y_scale,
                                  width=box.width / x_scale, height=box.height / y_scale)
    keypoints = detection.relative_keypoints
    xy = keypoint_array(keypoints)
    points = moved_keypoints(keypoints, np.stack([(xy[:, 0] - left) / x_scale,
                                                  (xy[:, 1] - top) / y_scale], 1))
    return dataclasses.replace(detection, relative_bounding_box=box, relative_keypoints=points)
