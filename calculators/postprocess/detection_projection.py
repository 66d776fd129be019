"""DetectionProjectionCalculator: map detections through a 4x4 projection matrix."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from mediagraph import Calculator, CalculatorContext, Input, Inputs, NodeConfig, Outputs
from mediagraph.formats import Detection, RelativeBoundingBox, keypoint_array, moved_keypoints


class DetectionProjectionCalculator(Calculator):
    """Project each detection's keypoints and box corners with a row-major 4x4 matrix.

    A point (x, y) goes to (m0·x + m1·y + m3, m4·x + m5·y + m7) (MediaPipe's 2-D use of
    the matrix). The box becomes the axis-aligned box around its four projected corners,
    so a rotation grows it. Typically the matrix is ImageToTensorCalculator's MATRIX,
    which takes tensor-relative coordinates back to image-relative ones.

    Inputs:  DETECTIONS:i (list of Detection with relative_bounding_box; absent ones
             produce nothing); PROJECTION_MATRIX (16 floats, row-major)
    Outputs: DETECTIONS:i (list of Detection), one per input
    Options: none

    Example config:
        node {
          calculator: "DetectionProjectionCalculator"
          input_stream: "DETECTIONS:filtered_detections"
          input_stream: "PROJECTION_MATRIX:transform_matrix"
          output_stream: "DETECTIONS:detections"
        }
    """

    detections = Inputs(list)
    projection_matrix = Input(tag="PROJECTION_MATRIX")
    out = Outputs(list, tag="DETECTIONS")

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        if node.count(cls.detections) != node.count(cls.out):
            raise ValueError(f"{node.count(cls.detections)} DETECTIONS inputs but "
                             f"{node.count(cls.out)} outputs; they must match")

    def process(self, cc: CalculatorContext) -> None:
        matrix = cc.get(self.projection_matrix)
        if matrix is None:
            return
        m = _matrix(matrix)
        for index, detections in enumerate(cc.get(self.detections)):
            if detections is not None:
                cc.send(self.out[index], [project_detection(d, m) for d in detections])


def _matrix(value: Any) -> np.ndarray:
    m = np.asarray(value, np.float64).reshape(-1)
    if m.size != 16:
        raise ValueError(f"PROJECTION_MATRIX needs 16 values (row-major 4x4), got {m.size}")
    return m


def project_detection(detection: Detection, m: np.ndarray) -> Detection:
    """`detection` with its keypoints and box projected by row-major 4x4 `m`."""
    box = detection.relative_bounding_box
    if box is None:
        raise ValueError("DetectionProjectionCalculator needs detections with a "
                         "relative_bounding_box")
    a, b, tx, c, d, ty = m[0], m[1], m[3], m[4], m[5], m[7]
    keypoints = detection.relative_keypoints
    xy = keypoint_array(keypoints)
    x, y = xy[:, 0], xy[:, 1]
    points = moved_keypoints(keypoints, np.stack([a * x + b * y + tx, c * x + d * y + ty], 1))
    xs = np.array([box.xmin, box.xmin + box.width, box.xmin + box.width, box.xmin])
    ys = np.array([box.ymin, box.ymin, box.ymin + box.height, box.ymin + box.height])
    px = a * xs + b * ys + tx
    py = c * xs + d * ys + ty
    projected = RelativeBoundingBox(xmin=float(px.min()), ymin=float(py.min()),
                                    width=float(px.max() - px.min()),
                                    height=float(py.max() - py.min()))
    return dataclasses.replace(detection, relative_bounding_box=projected,
                               relative_keypoints=points)
