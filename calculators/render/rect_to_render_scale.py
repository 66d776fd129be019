"""RectToRenderScaleCalculator: a drawing scale from an object's size in the image."""

from __future__ import annotations

from mediagraph.calculators._images import positive_size
from mediagraph import Calculator, CalculatorContext, Input, Options, Output, option
from mediagraph.formats import NormalizedRect


class RectToRenderScaleCalculatorOptions(
        Options, proto_name="mediapipe.RectToRenderScaleCalculatorOptions", extension=299463409):
    """MediaPipe's `rect_to_render_scale_calculator.proto` (numbers and defaults)."""

    multiplier: float = option(1, default=0.01, proto="float",
                               doc="scale per pixel of the rect's larger side")
    process_timestamp_bounds: bool = option(2, default=False,
                                            doc="accepted; mediagraph sends on packets only")

    def check(self) -> None:
        if self.multiplier <= 0:
            raise ValueError(f"multiplier must be positive, got {self.multiplier}")


class RectToRenderScaleCalculator(Calculator):
    """Scale drawings with the object: render_scale = max(width * W, height * H) * multiplier.

    W x H is IMAGE_SIZE, the rect is normalized; without a rect at a timestamp the scale
    is `multiplier` itself (MediaPipe's). Feed it to LandmarksToRenderDataCalculator's
    RENDER_SCALE so a near person's skeleton is drawn thicker than a far one's.

    Inputs:  NORM_RECT (NormalizedRect, may be absent); IMAGE_SIZE ((width, height))
    Outputs: RENDER_SCALE (float)
    Options: RectToRenderScaleCalculatorOptions (ext 299463409): multiplier (1, default 0.01)

    Example config (MediaPipe's pose renderer):
        node {
          calculator: "RectToRenderScaleCalculator"
          input_stream: "NORM_RECT:roi"
          input_stream: "IMAGE_SIZE:image_size"
          output_stream: "RENDER_SCALE:render_scale"
          options { [mediapipe.RectToRenderScaleCalculatorOptions.ext] { multiplier: 0.0012 } }
        }
    """

    Options = RectToRenderScaleCalculatorOptions

    norm_rect = Input(NormalizedRect)
    image_size = Input(tuple)
    render_scale = Output(float)

    def process(self, cc: CalculatorContext) -> None:
        multiplier = float(self.options.multiplier)
        rect = cc.get(self.norm_rect)
        size = cc.get(self.image_size)
        if rect is None or size is None:
            if rect is not None or size is not None:
                cc.send(self.render_scale, multiplier)
            return
        width, height = positive_size(*size, "IMAGE_SIZE")
        cc.send(self.render_scale,
                float(max(rect.width * width, rect.height * height) * multiplier))
