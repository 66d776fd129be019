"""SegmentationSmoothingCalculator: steady a video's masks by blending in the previous one."""

from __future__ import annotations


import numpy as np

from mediagraph.calculators._images import mask_plane
from mediagraph import Calculator, CalculatorContext, Input, Options, Output, option
from mediagraph.formats import ImageFormat, ImageFrame


class SegmentationSmoothingCalculatorOptions(
        Options, proto_name="mediapipe.SegmentationSmoothingCalculatorOptions",
        extension=377425128):
    """MediaPipe's `segmentation_smoothing_calculator.proto`."""

    combine_with_previous_ratio: float = option(
        1, default=0.0, doc="0: the current mask only; 1: trust the uncertainty fully")

    def check(self) -> None:
        ratio = self.combine_with_previous_ratio
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"combine_with_previous_ratio must be in [0, 1], got {ratio}")


class SegmentationSmoothingCalculator(Calculator):
    """Blend the previous mask into the current one where the current one is unsure.

    Per pixel, with p the current value and q the previous one:
        out = p + (q - p) * u(p) * combine_with_previous_ratio
    where u(p) is about H(p)^2, H the binary entropy of p in bits: 1 at p = 0.5 (fully
    unsure: the previous value wins at ratio 1), 0 at p = 0 or 1 (sure: kept). u is
    MediaPipe's own polynomial fit of that curve in (p - 0.5)^2, in float32, so the
    smoothed masks of a video match MediaPipe's.
    Without a MASK_PREVIOUS packet (the first frame) the current mask passes through.

    Inputs:  MASK (VEC32F1 ImageFrame or HxW float array), MASK_PREVIOUS (the same, the
             previous output, usually through PreviousLoopbackCalculator; optional)
    Outputs: MASK_SMOOTHED (VEC32F1 ImageFrame, the size of MASK)
    Options: SegmentationSmoothingCalculatorOptions (ext 377425128):
             combine_with_previous_ratio (0.0)

    Example config:
        node {
          calculator: "SegmentationSmoothingCalculator"
          input_stream: "MASK:mask"
          input_stream: "MASK_PREVIOUS:previous_smoothed_mask"
          output_stream: "MASK_SMOOTHED:smoothed_mask"
          options { [mediapipe.SegmentationSmoothingCalculatorOptions.ext] {
            combine_with_previous_ratio: 0.7
          } }
        }
    """

    Options = SegmentationSmoothingCalculatorOptions

    mask = Input(tag="MASK")
    previous = Input(tag="MASK_PREVIOUS", optional=True)
    smoothed = Output(ImageFrame, tag="MASK_SMOOTHED")

    def process(self, cc: CalculatorContext) -> None:
        value = cc.get(self.mask)
        if value is None:
            return
        current = mask_plane(value, "input MASK", float_only=True)
        prior = cc.get(self.previous)
        ratio = np.float32(self.options.combine_with_previous_ratio)
        if prior is None or ratio == 0.0:
            if isinstance(value, ImageFrame):
                cc.send(self.smoothed, value)
            else:
                cc.send(self.smoothed, ImageFrame(current.astype(np.float32), ImageFormat.VEC32F1))
            return
        previous = mask_plane(prior, "input MASK_PREVIOUS", float_only=True)
        if previous.shape != current.shape:
            raise ValueError(f"input MASK_PREVIOUS is {previous.shape[1]}x{previous.shape[0]} "
                             f"but MASK is {current.shape[1]}x{current.shape[0]}")
        cc.send(self.smoothed, ImageFrame(smooth(current, previous, ratio), ImageFormat.VEC32F1))


# segmentation_smoothing_calculator.cc's fit of the uncertainty in x = (p - 0.5)^2
_C1, _C2, _C3, _C4, _C5 = (np.float32(c) for c in (5.68842, -0.748699, -57.8051, 291.309,
                                                     -624.717))


def smooth(current: np.ndarray, previous: np.ndarray, ratio: float) -> np.ndarray:
    """current + (previous - current) * u(current) * ratio, as a new float32 array."""
    p = current.astype(np.float32, copy=False)
    t = p - np.float32(0.5)
    x = t * t
    certainty = x * (_C1 + x * (_C2 + x * (_C3 + x * (_C4 + x * _C5))))
    uncertainty = np.float32(1.0) - np.minimum(np.float32(1.0), certainty)
    return (p + (previous.astype(np.float32, copy=False) - p)
            * (uncertainty * np.float32(ratio))).astype(np.float32, copy=False)
