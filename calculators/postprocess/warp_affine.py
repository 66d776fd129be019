"""WarpAffineCalculator: resample an image through an affine map, e.g. a mask back to the frame."""

from __future__ import annotations

import enum

import numpy as np

from mediagraph import Calculator, CalculatorContext, Input, Options, Output, option
from mediagraph.calculators._images import positive_size
from mediagraph.calculators.preprocess.image_to_tensor import GpuOrigin
from mediagraph.formats import ImageFrame


class BorderMode(enum.IntEnum):
    """`WarpAffineCalculatorOptions.BorderMode`; UNSPECIFIED replicates, as in MediaPipe."""

    BORDER_UNSPECIFIED = 0
    BORDER_ZERO = 1
    BORDER_REPLICATE = 2


class Interpolation(enum.IntEnum):
    """`WarpAffineCalculatorOptions.Interpolation`; UNSPECIFIED is bilinear, as in MediaPipe."""

    INTER_UNSPECIFIED = 0
    INTER_LINEAR = 1
    INTER_CUBIC = 2


class WarpAffineCalculatorOptions(
        Options, proto_name="mediapipe.WarpAffineCalculatorOptions", extension=373693895):
    """MediaPipe's `warp_affine_calculator.proto`."""

    border_mode: BorderMode = option(1, default=BorderMode.BORDER_UNSPECIFIED)
    gpu_origin: GpuOrigin = option(2, default=GpuOrigin.DEFAULT,
                                   doc="accepted and ignored (CPU images start at the top)")
    interpolation: Interpolation = option(3, default=Interpolation.INTER_UNSPECIFIED)


class WarpAffineCalculator(Calculator):
    """Resample IMAGE into an OUTPUT_SIZE image: each output point p (relative, 0..1) reads
    the input at MATRIX * p (relative to the input).

    MATRIX is row-major 4x4 in relative coordinates; its 2-D affine part is used, as
    MediaPipe's OpenCV runner does: scaled to pixels (output pixel / size -> matrix ->
    * input size, no half-pixel shift) and passed to `cv2.warpAffine` with
    WARP_INVERSE_MAP, bilinear (or bicubic with INTER_CUBIC). pose_landmark_by_roi_cpu uses it with the inverse of
    ImageToTensor's MATRIX to put the ROI's segmentation mask back over the whole frame.

    Inputs:  IMAGE (ImageFrame, any interleaved format: VEC32F1 masks, SRGB, ...);
             MATRIX (array of 16 floats, row-major); OUTPUT_SIZE ((width, height))
    Outputs: IMAGE (ImageFrame of the input's format, OUTPUT_SIZE)
    Options: WarpAffineCalculatorOptions (ext 373693895): border_mode (ZERO, REPLICATE;
             unspecified replicates), gpu_origin (ignored), interpolation (LINEAR, CUBIC;
             unspecified is linear)

    Example config (MediaPipe's pose_landmarks_and_segmentation_inverse_projection.pbtxt):
        node {
          calculator: "WarpAffineCalculator"
          input_stream: "IMAGE:segmentation_mask"
          input_stream: "MATRIX:inverse_transformation_matrix"
          input_stream: "OUTPUT_SIZE:image_size"
          output_stream: "IMAGE:projected_segmentation_mask"
          options { [mediapipe.WarpAffineCalculatorOptions.ext] {
            border_mode: BORDER_ZERO gpu_origin: TOP_LEFT } }
        }
    """

    Options = WarpAffineCalculatorOptions

    image = Input(ImageFrame)
    matrix = Input(np.ndarray, tag="MATRIX")
    output_size = Input(tuple, tag="OUTPUT_SIZE")
    out = Output(ImageFrame, tag="IMAGE")

    def process(self, cc: CalculatorContext) -> None:
        image = cc.get(self.image)
        matrix = cc.get(self.matrix)
        size = cc.get(self.output_size)
        if image is None or matrix is None or size is None:
            return
        if not isinstance(size, (tuple, list)) or len(size) != 2:
            raise ValueError(f"input OUTPUT_SIZE needs (width, height), got {size!r}")
        width, height = positive_size(size[0], size[1], "input OUTPUT_SIZE")
        opts: WarpAffineCalculatorOptions = self.options
        warped = warp_affine(image.data, matrix, width, height,
                             opts.border_mode == BorderMode.BORDER_ZERO,
                             opts.interpolation == Interpolation.INTER_CUBIC)
        out = ImageFrame(warped, image.format)
        cc.send(self.out, out)


def warp_affine(pixels: np.ndarray, matrix: object, width: int, height: int,
                zero_border: bool, cubic: bool = False) -> np.ndarray:
    """`pixels` resampled to height x width through relative 4x4 `matrix` (output -> input)."""
    import cv2

    m = np.asarray(matrix, np.float32).reshape(4, 4)
    in_h, in_w = pixels.shape[:2]
    scale_src = np.diag(np.array([in_w, in_h, 1, 1], np.float32))
    normalize_dst = np.diag(np.array([1 / width, 1 / height, 1, 1], np.float32))
    absolute = scale_src @ m @ normalize_dst
    affine = np.array([[absolute[0, 0], absolute[0, 1], absolute[0, 3]],
                       [absolute[1, 0], absolute[1, 1], absolute[1, 3]]], np.float32)
    border = cv2.BORDER_CONSTANT if zero_border else cv2.BORDER_REPLICATE
    warped = cv2.warpAffine(pixels, affine, (width, height),
                            flags=(cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR)
                            | cv2.WARP_INVERSE_MAP,
                            borderMode=border, borderValue=0)
    if warped.ndim == 2 and pixels.ndim == 3:
        warped = warped[:, :, np.newaxis]
    return warped
