"""ToImageCalculator: hand an image on under the IMAGE tag (MediaPipe's Image conversion)."""

from __future__ import annotations

from mediagraph.calculators._images import ANY_FORMAT, expect_image
from mediagraph import Calculator, CalculatorContext, Input, Output, one_of
from mediagraph.formats import ImageFrame


class ToImageCalculator(Calculator):
    """Pass a CPU image through unchanged as IMAGE.

    MediaPipe wraps ImageFrame or GpuBuffer into its `Image` type here; mediagraph's
    images are all CPU ImageFrames, so this is an identity kept for config compatibility
    (face detection graphs start with it). IMAGE_GPU is not supported.

    Inputs:  IMAGE or IMAGE_CPU (ImageFrame; connect exactly one)
    Outputs: IMAGE (ImageFrame, the same object)
    Options: none

    Example config:
        node {
          calculator: "ToImageCalculator"
          input_stream: "IMAGE:image"
          output_stream: "IMAGE:multi_backend_image"
        }
    """

    image = Input(ImageFrame, optional=True, formats=ANY_FORMAT)
    image_cpu = Input(ImageFrame, tag="IMAGE_CPU", optional=True, formats=ANY_FORMAT)
    out = Output(ImageFrame, tag="IMAGE")
    groups = (one_of(image, image_cpu),)

    def open(self, cc: CalculatorContext) -> None:
        self._source = self.image if cc.connected(self.image) else self.image_cpu

    def process(self, cc: CalculatorContext) -> None:
        frame = cc.get(self._source)
        if frame is not None:
            cc.send(self.out, expect_image(frame, self._source.tag))
