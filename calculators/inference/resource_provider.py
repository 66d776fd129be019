"""ResourceProviderCalculator: find a resource (a model file) by its MediaPipe path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mediagraph import Calculator, CalculatorContext, SideInput, SideOutput, Stop, models


class ResourceProviderCalculator(Calculator):
    """Resolve RESOURCE_ID to a file and output it as RESOURCE.

    MediaPipe reads the resource's bytes through its resource loader; mediagraph's
    resources are model files, found as given or by file name in the model cache
    (`mediagraph.models.resolve`, so MediaPipe's paths such as
    `mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite` work). RESOURCE is
    that file's `Path`, not its contents: inference backends map and cache models by
    file. TfLiteModelCalculator turns it into the MODEL InferenceCalculator takes.

    Inputs:  none
    Outputs: none
    Side inputs: RESOURCE_ID (str or path)
    Side outputs: RESOURCE (pathlib.Path, an existing file)
    Options: none

    Example config:
        node {
          calculator: "ResourceProviderCalculator"
          input_side_packet: "RESOURCE_ID:model_path"
          output_side_packet: "RESOURCE:model_resource"
        }
    """

    resource_id = SideInput(str | os.PathLike)
    resource = SideOutput(Path)

    def open(self, cc: CalculatorContext) -> None:
        resource_id = cc.side(self.resource_id)
        if not isinstance(resource_id, (str, os.PathLike)) or not str(resource_id):
            raise TypeError(f"RESOURCE_ID needs a path, got {resource_id!r}")
        cc.set_side(self.resource, models.resolve(resource_id))

    def process(self, cc: CalculatorContext) -> Any:
        return Stop  # a side-packet node: nothing to stream
