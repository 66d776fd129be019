"""TensorsToSegmentationCalculator: a segmentation model's output tensor as a float mask."""

from __future__ import annotations

import enum
from typing import Any

import numpy as np

from mediagraph.calculators._images import positive_size
from mediagraph.calculators.preprocess.image_to_tensor import GpuOrigin
from mediagraph import Calculator, CalculatorContext, Input, Options, Output, option
from mediagraph.formats import ImageFormat, ImageFrame


class Activation(enum.IntEnum):
    """`TensorsToSegmentationCalculatorOptions.Activation`."""

    NONE = 0      # a 1-channel tensor, already a probability
    SIGMOID = 1   # a 1-channel tensor of logits
    SOFTMAX = 2   # a 2-channel tensor of logits; output_layer_index picks the class


class TensorsToSegmentationCalculatorOptions(
        Options, proto_name="mediapipe.TensorsToSegmentationCalculatorOptions",
        extension=374311106):
    """MediaPipe's `tensors_to_segmentation_calculator.proto` (numbers and defaults)."""

    gpu_origin: GpuOrigin = option(1, default=GpuOrigin.DEFAULT,
                                   doc="accepted and ignored (CPU tensors start at the top)")
    activation: Activation = option(2, default=Activation.NONE)
    output_layer_index: int = option(3, default=1, doc="the SOFTMAX channel to output")

    def check(self) -> None:
        if self.activation == Activation.SOFTMAX and self.output_layer_index not in (0, 1):
            raise ValueError(f"output_layer_index must be 0 or 1 with SOFTMAX (a 2-channel "
                             f"tensor), got {self.output_layer_index}")


class TensorsToSegmentationCalculator(Calculator):
    """Turn a segmentation model's first output tensor into an HxW float mask in [0, 1].

    The tensor is 1xHxWxC or HxWxC (or HxW, read as one channel), float. NONE takes a
    1-channel tensor as it is (clipped to [0, 1]); SIGMOID applies 1/(1+e^-x) to a
    1-channel tensor; SOFTMAX takes a 2-channel tensor and outputs the softmax
    probability of channel `output_layer_index`. The mask is resized bilinearly with
    OpenCV to OUTPUT_SIZE when that input is connected (MediaPipe resizes to the input
    image's size this way), else it keeps the tensor's size.

    Inputs:  TENSORS (list of numpy arrays; the first is used),
             OUTPUT_SIZE ((width, height), optional, e.g. from ImagePropertiesCalculator)
    Outputs: MASK (ImageFrame VEC32F1, HxWx1 float32 in [0, 1]; what
             AnnotationOverlayCalculator's MASK input and BackgroundBlurCalculator take)
    Options: TensorsToSegmentationCalculatorOptions (ext 374311106): activation
             (NONE/SIGMOID/SOFTMAX), output_layer_index (1), gpu_origin (ignored)

    Example config:
        node {
          calculator: "TensorsToSegmentationCalculator"
          input_stream: "TENSORS:output_tensors"
          input_stream: "OUTPUT_SIZE:input_size"
          output_stream: "MASK:mask_image"
          options { [mediapipe.TensorsToSegmentationCalculatorOptions.ext] {
            activation: NONE
          } }
        }
    """

    Options = TensorsToSegmentationCalculatorOptions

    tensors = Input(list, tag="TENSORS")
    output_size = Input(tuple, tag="OUTPUT_SIZE", optional=True)
    mask = Output(ImageFrame, tag="MASK")

    def open(self, cc: CalculatorContext) -> None:
        self._wants_size = cc.connected(self.output_size)

    def process(self, cc: CalculatorContext) -> None:
        tensors = cc.get(self.tensors)
        if tensors is None:
            return
        size = None
        if self._wants_size:
            value = cc.get(self.output_size)
            if value is None:
                return  # no image size at this timestamp: nothing to size the mask to
            if not isinstance(value, (tuple, list)) or len(value) != 2:
                raise ValueError(f"input OUTPUT_SIZE needs (width, height), got {value!r}")
            size = positive_size(value[0], value[1], "input OUTPUT_SIZE")
        probabilities = segmentation_probabilities(_first_tensor(tensors), self.options)
        cc.send(self.mask, ImageFrame(_resized(probabilities, size), ImageFormat.VEC32F1))


def segmentation_probabilities(tensor: np.ndarray,
                               opts: TensorsToSegmentationCalculatorOptions) -> np.ndarray:
    """The HxW float32 foreground probability of one output tensor, per `opts.activation`."""
    if tensor.ndim == 4:
        if tensor.shape[0] != 1:
            raise ValueError(f"input TENSORS needs a batch of 1, got shape {tensor.shape}")
        tensor = tensor[0]
    elif tensor.ndim == 2:
        tensor = tensor[:, :, np.newaxis]
    if tensor.ndim != 3 or tensor.shape[0] == 0 or tensor.shape[1] == 0:
        raise ValueError(f"input TENSORS needs a 1xHxWxC, HxWxC or HxW tensor, got shape "
                         f"{tensor.shape}")
    if not np.issubdtype(tensor.dtype, np.floating):
        raise TypeError(f"input TENSORS needs a float tensor, got {tensor.dtype}")
    channels = tensor.shape[2]
    activation = opts.activation
    if activation == Activation.SOFTMAX:
        if channels != 2:
            raise ValueError(f"input TENSORS: SOFTMAX needs a 2-channel tensor, got shape "
                             f"{tensor.shape}")
        logits = tensor.astype(np.float32, copy=False)
        # softmax of two channels is the sigmoid of their difference: no overflow, one pass
        other = 1 - opts.output_layer_index
        diff = logits[:, :, opts.output_layer_index] - logits[:, :, other]
        return _sigmoid(diff)
    if channels != 1:
        raise ValueError(f"input TENSORS: {activation.name} needs a 1-channel tensor, got shape "
                         f"{tensor.shape}")
    values = tensor[:, :, 0].astype(np.float32, copy=False)
    if activation == Activation.SIGMOID:
        return _sigmoid(values)
    return np.clip(values, 0.0, 1.0)


def _first_tensor(tensors: Any) -> np.ndarray:
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise ValueError(f"input TENSORS needs a non-empty list of arrays, got {tensors!r:.80}")
    tensor = tensors[0]
    if not isinstance(tensor, np.ndarray):
        raise TypeError(f"input TENSORS needs numpy arrays, got {type(tensor).__name__}")
    return tensor


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # 0.5 * (1 + tanh(x / 2)) is the logistic function without exp overflow
    return (np.tanh(x * np.float32(0.5)) * np.float32(0.5) + np.float32(0.5)).astype(
        np.float32, copy=False)


def _resized(mask: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    mask = np.ascontiguousarray(mask, dtype=np.float32)
    if size is None or size == (mask.shape[1], mask.shape[0]):
        return mask
    import cv2

    return cv2.resize(mask, size, interpolation=cv2.INTER_LINEAR)
