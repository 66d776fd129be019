"""InverseMatrixCalculator: the inverse of a row-major 4x4 matrix, as float[16]."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph as mg
import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.preprocess.image_to_tensor import roi_to_image_matrix
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


def test_inverts_image_to_tensors_matrix():
    matrix = roi_to_image_matrix((120.0, 200.0, 90.0, 160.0, 0.3), 640, 480)
    out = CalculatorRunner("InverseMatrixCalculator").run({"MATRIX": [(matrix, 0)]})
    inverse = out["MATRIX"][0].value
    assert inverse.dtype == np.float32 and inverse.shape == (16,)
    np.testing.assert_allclose(inverse.reshape(4, 4) @ matrix.reshape(4, 4), np.eye(4),
                               atol=1e-5)


def test_a_singular_matrix_fails_the_run():
    with pytest.raises(mg.CalculatorError, match="singular"):
        CalculatorRunner("InverseMatrixCalculator").run({"MATRIX": [(np.zeros(16), 0)]})
