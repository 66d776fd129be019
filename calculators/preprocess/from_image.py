"""FromImageCalculator: hand an IMAGE on as IMAGE_CPU (MediaPipe's Image unwrapping)."""

from __future__ import annotations

from mediagraph.calculators._images import ANY_FORMAT, expect_image
from mediagraph import Calculator, CalculatorContext, Input, Output
from mediagraph.formats import ImageFrame


class FromImageCalculator(Calculator):
    """Pass an image through unchanged as IMAGE_CPU.

    MediaPipe unwraps its `Image` type into an ImageFrame (IMAGE_CPU) or a GpuBuffer
    (IMAGE_GPU) here; mediagraph's images are all CPU ImageFrames, so this is an
    identity kept for config compatibility (the selfie segmentation graph ends with it),
    the counterpart of ToImageCalculator. IMAGE_GPU and SOURCE_ON_GPU are not supported.

    Inputs:  IMAGE (ImageFrame)
    Outputs: IMAGE_CPU (ImageFrame, the same object)
    Options: none

    Example config:
        node {
          calculator: "FromImageCalculator"
          input_stream: "IMAGE:mask_image"
          output_stream: "IMAGE_CPU:segmentation_mask"
        }
    """

    image = Input(ImageFrame, formats=ANY_FORMAT)
    image_cpu = Output(ImageFrame)

    def process(self, cc: CalculatorContext) -> None:
        frame = cc.get(self.image)
        if frame is not None:
            cc.send(self.image_cpu, expect_image(frame, "IMAGE"))
