"""ImagePropertiesCalculator: an image's size as (width, height)."""

from __future__ import annotations

from calculators.preprocess._images import expect_image
from mediagraph import Calculator, CalculatorContext, Input, Output
from mediagraph.formats import ImageFrame


class ImagePropertiesCalculator(Calculator):
    """Output the size of each image as a (width, height) tuple of ints.

    Inputs:  IMAGE (ImageFrame)
    Outputs: SIZE ((width, height))
    Options: none

    Example config:
        node { calculator: "ImagePropertiesCalculator"
               input_stream: "IMAGE:frame" output_stream: "SIZE:frame_size" }
    """

    image = Input(ImageFrame)
    size = Output(tuple, tag="SIZE")

    def process(self, cc: CalculatorContext) -> None:
        frame = expect_image(cc.get(self.image), "IMAGE")
        cc.send(self.size, (frame.width, frame.height))
