"""ImagePropertiesCalculator: an image's size as (width, height)."""

from __future__ import annotations

from mediagraph.calculators._images import ANY_FORMAT, expect_image
from mediagraph import Calculator, CalculatorContext, Input, Output, one_of
from mediagraph.formats import ImageFrame


class ImagePropertiesCalculator(Calculator):
    """Output the size of each image as a (width, height) tuple of ints.

    Inputs:  IMAGE or IMAGE_CPU (ImageFrame; connect exactly one)
    Outputs: SIZE ((width, height))
    Options: none

    Example config:
        node { calculator: "ImagePropertiesCalculator"
               input_stream: "IMAGE:frame" output_stream: "SIZE:frame_size" }
    """

    image = Input(ImageFrame, optional=True, formats=ANY_FORMAT)
    # MediaPipe's CPU-only tag for the same
    image_cpu = Input(ImageFrame, optional=True, formats=ANY_FORMAT)
    size = Output(tuple, tag="SIZE")
    groups = (one_of(image, image_cpu),)

    def process(self, cc: CalculatorContext) -> None:
        packet = cc.get(self.image)
        frame = expect_image(packet if packet is not None else cc.get(self.image_cpu), "IMAGE")
        cc.send(self.size, (frame.width, frame.height))
