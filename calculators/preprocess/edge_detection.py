"""EdgeDetectionCalculator: Canny edges of an image, as an encodable SRGB image."""

from __future__ import annotations

from mediagraph.calculators._images import expect_image
from mediagraph import Calculator, CalculatorContext, Input, Options, Output, option
from mediagraph.formats import ImageFormat, ImageFrame

_GRAY_CODES = {ImageFormat.SRGB: "COLOR_RGB2GRAY", ImageFormat.SRGBA: "COLOR_RGBA2GRAY",
               ImageFormat.SBGRA: "COLOR_BGRA2GRAY"}


class EdgeDetectionCalculatorOptions(Options, proto_name="mediagraph.EdgeDetectionCalculatorOptions"):
    """mediagraph's own options (no MediaPipe counterpart)."""

    threshold1: float = option(1, default=100.0, proto="double",
                               doc="lower hysteresis threshold of cv2.Canny")
    threshold2: float = option(2, default=200.0, proto="double",
                               doc="upper hysteresis threshold of cv2.Canny")
    aperture_size: int = option(3, default=3, doc="Sobel aperture: 3, 5 or 7")
    l2_gradient: bool = option(4, default=False, doc="use the L2 gradient norm")

    def check(self) -> None:
        if self.aperture_size not in (3, 5, 7):
            raise ValueError(f"aperture_size must be 3, 5 or 7, got {self.aperture_size}")
        if self.threshold1 < 0 or self.threshold2 < 0:
            raise ValueError("threshold1 and threshold2 must not be negative")


class EdgeDetectionCalculator(Calculator):
    """Find edges with `cv2.Canny`: white (255) edge pixels on black, as SRGB.

    Color input is converted to gray first. The output is SRGB (all three channels
    equal), so it can go straight to an encoder or a video writer.

    Inputs:  IMAGE (ImageFrame: SRGB, SRGBA, SBGRA or GRAY8)
    Outputs: IMAGE (ImageFrame, SRGB)
    Options: EdgeDetectionCalculatorOptions: threshold1 (100), threshold2 (200),
             aperture_size (3), l2_gradient (false)

    Example config:
        node {
          calculator: "EdgeDetectionCalculator"
          input_stream: "IMAGE:frame"
          output_stream: "IMAGE:edges"
          node_options { [type.googleapis.com/mediagraph.EdgeDetectionCalculatorOptions] {
            threshold1: 50 threshold2: 150 } }
        }
    """

    Options = EdgeDetectionCalculatorOptions

    image = Input(ImageFrame)
    out = Output(ImageFrame, tag="IMAGE")

    def process(self, cc: CalculatorContext) -> None:
        import cv2

        frame = expect_image(cc.get(self.image), "IMAGE", (*_GRAY_CODES, ImageFormat.GRAY8))
        data = frame.data
        gray = (data[:, :, 0] if frame.format == ImageFormat.GRAY8
                else cv2.cvtColor(data, getattr(cv2, _GRAY_CODES[frame.format])))
        opts: EdgeDetectionCalculatorOptions = self.options
        edges = cv2.Canny(gray, opts.threshold1, opts.threshold2,
                          apertureSize=opts.aperture_size, L2gradient=opts.l2_gradient)
        cc.send(self.out, ImageFrame(cv2.cvtColor(edges, cv2.COLOR_GRAY2RGB), ImageFormat.SRGB))
