"""TfLiteModelCalculator: turn a model resource into the MODEL inference nodes take."""

from __future__ import annotations

import os
from typing import Any

from mediagraph import Calculator, CalculatorContext, SideInput, SideOutput, Stop, models


class TfLiteModelCalculator(Calculator):
    """Output MODEL_RESOURCE as the MODEL side packet of InferenceCalculator.

    MediaPipe builds a `tflite::FlatBufferModel` here. mediagraph's InferenceCalculator
    takes its MODEL as a model file path (its backends load, convert and cache models by
    file), so MODEL is the resolved file's path as a `str`. MediaPipe's MODEL_BLOB
    (contents) and MODEL_FD (file descriptor) inputs are not supported.

    Inputs:  none
    Outputs: none
    Side inputs: MODEL_RESOURCE (a path, as ResourceProviderCalculator outputs)
    Side outputs: MODEL (str, an existing .tflite or .onnx file)
    Options: none

    Example config:
        node {
          calculator: "TfLiteModelCalculator"
          input_side_packet: "MODEL_RESOURCE:model_resource"
          output_side_packet: "MODEL:model"
        }
    """

    model_resource = SideInput(str | os.PathLike)
    model = SideOutput(str)

    def open(self, cc: CalculatorContext) -> None:
        resource = cc.side(self.model_resource)
        if not isinstance(resource, (str, os.PathLike)) or not str(resource):
            raise TypeError(f"MODEL_RESOURCE needs a model file path, got {resource!r}")
        cc.set_side(self.model, os.fspath(models.resolve(resource)))

    def process(self, cc: CalculatorContext) -> Any:
        return Stop  # a side-packet node: nothing to stream
