"""LandmarkProjectionCalculator: landmarks from a (rotated) crop back to the whole image."""

from __future__ import annotations

import numpy as np

from mediagraph.calculators.postprocess._geometry import landmark_arrays, landmark_list
from mediagraph import (
    Calculator,
    CalculatorContext,
    Input,
    Inputs,
    NodeConfig,
    Options,
    Outputs,
    one_of,
    option,
)
from mediagraph.formats import NormalizedLandmarkList, NormalizedRect


class LandmarkProjectionCalculatorOptions(
        Options, proto_name="mediapipe.LandmarkProjectionCalculatorOptions",
        extension=263371892):
    """MediaPipe's `landmark_projection_calculator.proto`."""

    ignore_rotation: bool = option(1, default=False)


class LandmarkProjectionCalculator(Calculator):
    """Map landmarks normalized to a crop rect onto the image the rect was taken from.

    With NORM_RECT: each point is centred on the crop (x - 0.5, y - 0.5), rotated by
    the rect's rotation (unless `ignore_rotation`), scaled by the rect's width and
    height and moved to its centre; z scales with the width. With PROJECTION_MATRIX
    (row-major 4x4, e.g. ImageToTensorCalculator's MATRIX): x' = m0 x + m1 y + m3,
    y' = m4 x + m5 y + m7, and z scales by the length of the matrix's first column
    (its x scale). Visibility and presence are kept.

    Inputs:  NORM_LANDMARKS:i (NormalizedLandmarkList, one or more);
             NORM_RECT (NormalizedRect) or PROJECTION_MATRIX (16 floats)
    Outputs: NORM_LANDMARKS:i, one per input
    Options: LandmarkProjectionCalculatorOptions (ext 263371892): ignore_rotation

    Example config (MediaPipe's hand_landmark_cpu.pbtxt):
        node {
          calculator: "LandmarkProjectionCalculator"
          input_stream: "NORM_LANDMARKS:scaled_landmarks"
          input_stream: "NORM_RECT:hand_rect"
          output_stream: "NORM_LANDMARKS:hand_landmarks"
        }
    """

    Options = LandmarkProjectionCalculatorOptions

    landmarks = Inputs(NormalizedLandmarkList, tag="NORM_LANDMARKS")
    norm_rect = Input(NormalizedRect, tag="NORM_RECT", optional=True)
    matrix = Input(tag="PROJECTION_MATRIX", optional=True)
    out = Outputs(NormalizedLandmarkList, tag="NORM_LANDMARKS")
    groups = (one_of(norm_rect, matrix),)

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        if node.count(cls.landmarks) != node.count(cls.out):
            raise ValueError(f"{node.count(cls.landmarks)} NORM_LANDMARKS inputs but "
                             f"{node.count(cls.out)} outputs; they must match")

    def process(self, cc: CalculatorContext) -> None:
        rect = cc.get(self.norm_rect)
        matrix = cc.get(self.matrix)
        if rect is None and matrix is None:
            return
        for index, landmarks in enumerate(cc.get(self.landmarks)):
            if landmarks is None:
                continue
            xyz, visibility, presence = landmark_arrays(landmarks)
            if rect is not None:
                xyz = project_to_rect(xyz, rect, self.options.ignore_rotation)
            else:
                xyz = project_with_matrix(xyz, matrix)
            cc.send(self.out[index], landmark_list(xyz, visibility, presence))


def project_to_rect(xyz: np.ndarray, rect: NormalizedRect,
                    ignore_rotation: bool = False) -> np.ndarray:
    """Nx3 crop-normalized points in the coordinates of the image holding `rect`."""
    angle = 0.0 if ignore_rotation else rect.rotation
    c, s = np.cos(angle), np.sin(angle)
    x, y = xyz[:, 0] - 0.5, xyz[:, 1] - 0.5
    out = np.empty_like(xyz)
    out[:, 0] = (c * x - s * y) * rect.width + rect.x_center
    out[:, 1] = (s * x + c * y) * rect.height + rect.y_center
    out[:, 2] = xyz[:, 2] * rect.width
    return out


def project_with_matrix(xyz: np.ndarray, matrix: object) -> np.ndarray:
    """Nx3 points through a row-major 4x4 matrix's 2-D part; z by its x scale."""
    m = np.asarray(matrix, np.float64).reshape(-1)
    if m.size != 16:
        raise ValueError(f"PROJECTION_MATRIX needs 16 values (row-major 4x4), got {m.size}")
    out = np.empty_like(xyz)
    out[:, 0] = m[0] * xyz[:, 0] + m[1] * xyz[:, 1] + m[3]
    out[:, 1] = m[4] * xyz[:, 0] + m[5] * xyz[:, 1] + m[7]
    out[:, 2] = xyz[:, 2] * np.hypot(m[0], m[4])
    return out
