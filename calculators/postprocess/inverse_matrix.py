"""InverseMatrixCalculator: the inverse of a row-major 4x4 matrix."""

from __future__ import annotations

import numpy as np

from mediagraph import Calculator, CalculatorContext, Input, Output


class InverseMatrixCalculator(Calculator):
    """Invert a 4x4 transformation (float[16], row-major), e.g. ImageToTensor's MATRIX.

    A singular matrix is an error, as in MediaPipe.

    Inputs:  MATRIX (array of 16 floats, row-major)
    Outputs: MATRIX (float32 array of 16, row-major)
    Options: none

    Example config (MediaPipe's pose_landmarks_and_segmentation_inverse_projection.pbtxt):
        node {
          calculator: "InverseMatrixCalculator"
          input_stream: "MATRIX:transformation_matrix"
          output_stream: "MATRIX:inverse_transformation_matrix"
        }
    """

    matrix = Input(np.ndarray, tag="MATRIX")
    out = Output(np.ndarray, tag="MATRIX")

    def process(self, cc: CalculatorContext) -> None:
        matrix = cc.get(self.matrix)
        if matrix is None:
            return
        m = np.asarray(matrix, np.float64)
        if m.size != 16:
            raise ValueError(f"input MATRIX needs 16 values (a 4x4 matrix), got {m.size}")
        import cv2

        # OpenCV's LU: a tenth of numpy's LAPACK call on a 4x4 (OpenBLAS's threads)
        invertible, inverse = cv2.invert(m.reshape(4, 4), flags=cv2.DECOMP_LU)
        if not invertible:
            raise ValueError("input MATRIX is singular: it has no inverse")
        inverse = inverse.astype(np.float32).reshape(16)
        inverse.flags.writeable = False
        cc.send(self.out, inverse)
