"""WarpAffineCalculator: an image resampled through a relative affine map (output -> input)."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.preprocess.image_to_tensor import roi_to_image_matrix
from mediagraph.formats import ImageFormat, ImageFrame
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


def warp(mask: np.ndarray, matrix: np.ndarray, size: tuple[int, int], **options) -> np.ndarray:
    out = CalculatorRunner("WarpAffineCalculator", options=options).run(
        {"IMAGE": [(ImageFrame(mask, ImageFormat.VEC32F1), 0)], "MATRIX": [(matrix, 0)],
         "OUTPUT_SIZE": [(size, 0)]})
    frame = out["IMAGE"][0].value
    assert frame.format == ImageFormat.VEC32F1
    return frame.data[..., 0]


def test_a_roi_mask_goes_back_over_its_roi_and_nowhere_else():
    # a mask of ones over a 64x64 tensor of the ROI centred (60, 40), 40x20 px, unturned:
    # back in a 120x80 image it covers that ROI and is zero around it
    matrix = roi_to_image_matrix((60.0, 40.0, 40.0, 20.0, 0.0), 120, 80)
    inverse = np.linalg.inv(matrix.reshape(4, 4)).astype(np.float32).reshape(16)
    image = warp(np.ones((64, 64, 1), np.float32), inverse, (120, 80),
                 border_mode="BORDER_ZERO")
    assert image.shape == (80, 120)
    assert (image[32:48, 42:78] == 1.0).all()
    assert (image[:28] == 0).all() and (image[52:] == 0).all()
    assert (image[:, :38] == 0).all() and (image[:, 82:] == 0).all()


def test_the_identity_keeps_the_image_and_unspecified_borders_replicate():
    mask = np.random.default_rng(0).random((30, 40, 1), dtype=np.float32)
    identity = np.eye(4, dtype=np.float32).reshape(16)
    np.testing.assert_allclose(warp(mask, identity, (40, 30)), mask[..., 0], atol=1e-6)
    np.testing.assert_allclose(warp(mask, identity, (40, 30), interpolation="INTER_CUBIC"),
                               mask[..., 0], atol=1e-5)
    # twice the size: bicubic and bilinear differ between the samples
    double = np.diag(np.array([1, 1, 1, 1], np.float32)).reshape(16)
    assert not np.allclose(warp(mask, double, (80, 60), interpolation="INTER_CUBIC"),
                           warp(mask, double, (80, 60)))
    # shifted half an image right: replicated edge values fill the left half
    shift = np.eye(4, dtype=np.float32)
    shift[0, 3] = -0.5
    shifted = warp(mask, shift.reshape(16), (40, 30))
    np.testing.assert_allclose(shifted[:, :20], np.repeat(mask[:, :1, 0], 20, axis=1),
                               atol=1e-6)
