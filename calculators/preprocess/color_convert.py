"""ColorConvertCalculator: convert between RGB, RGBA, BGR, BGRA and gray images."""

from __future__ import annotations

from mediagraph.calculators._images import expect_image
from mediagraph import Calculator, CalculatorContext, Input, Output, one_of
from mediagraph.formats import ImageFormat, ImageFrame

F = ImageFormat
# layout name -> (formats accepted on <NAME>_IN, format produced on <NAME>_OUT)
_LAYOUTS = {
    "RGB": ((F.SRGB,), F.SRGB),
    "RGBA": ((F.SRGBA,), F.SRGBA),
    "BGR": ((F.SRGB,), F.SRGB),  # ImageFormat has no BGR: 3-channel BGR travels as SRGB
    "BGRA": ((F.SBGRA, F.SRGBA), F.SBGRA),
    "GRAY": ((F.GRAY8,), F.GRAY8),
}


class ColorConvertCalculator(Calculator):
    """Convert an 8-bit image between channel layouts with OpenCV.

    Connect exactly one input and one output, MediaPipe's tags. Adding alpha sets it to
    255 (OpenCV leaves it 0; MediaPipe fixes that too). BGR images use the SRGB format
    (ImageFormat has no BGR value), BGRA ones SBGRA; BGRA_IN also takes an SRGBA-tagged
    frame holding BGRA bytes.

    Inputs:  one of RGB_IN (SRGB), RGBA_IN (SRGBA), BGR_IN (SRGB holding BGR),
             BGRA_IN (SBGRA), GRAY_IN (GRAY8)
    Outputs: one of RGB_OUT, RGBA_OUT, BGR_OUT, BGRA_OUT, GRAY_OUT
    Options: none

    Example config:
        node { calculator: "ColorConvertCalculator"
               input_stream: "RGBA_IN:rgba" output_stream: "RGB_OUT:rgb" }
    """

    rgb_in = Input(ImageFrame, tag="RGB_IN", optional=True)
    rgba_in = Input(ImageFrame, tag="RGBA_IN", optional=True)
    bgr_in = Input(ImageFrame, tag="BGR_IN", optional=True)
    bgra_in = Input(ImageFrame, tag="BGRA_IN", optional=True)
    gray_in = Input(ImageFrame, tag="GRAY_IN", optional=True)
    rgb_out = Output(ImageFrame, tag="RGB_OUT", optional=True)
    rgba_out = Output(ImageFrame, tag="RGBA_OUT", optional=True)
    bgr_out = Output(ImageFrame, tag="BGR_OUT", optional=True)
    bgra_out = Output(ImageFrame, tag="BGRA_OUT", optional=True)
    gray_out = Output(ImageFrame, tag="GRAY_OUT", optional=True)
    _NEEDS = ("ColorConvertCalculator needs exactly one input (RGB_IN, RGBA_IN, BGR_IN, BGRA_IN "
              "or GRAY_IN) and one output (RGB_OUT, RGBA_OUT, BGR_OUT, BGRA_OUT or GRAY_OUT)")
    groups = (one_of(rgb_in, rgba_in, bgr_in, bgra_in, gray_in, message=_NEEDS),
              one_of(rgb_out, rgba_out, bgr_out, bgra_out, gray_out, message=_NEEDS))

    def open(self, cc: CalculatorContext) -> None:
        self._in = next(p for p in (self.rgb_in, self.rgba_in, self.bgr_in, self.bgra_in,
                                    self.gray_in) if cc.connected(p))
        self._out = next(p for p in (self.rgb_out, self.rgba_out, self.bgr_out, self.bgra_out,
                                     self.gray_out) if cc.connected(p))
        src = self._in.tag.removesuffix("_IN")
        dst = self._out.tag.removesuffix("_OUT")
        self._accepts, _ = _LAYOUTS[src]
        self._format = _LAYOUTS[dst][1]
        self._code = _conversion_code(src, dst)
        self._add_alpha = dst in ("RGBA", "BGRA") and src not in ("RGBA", "BGRA")

    def process(self, cc: CalculatorContext) -> None:
        frame = expect_image(cc.get(self._in), self._in.tag, self._accepts)
        if self._code is None:
            result = frame.data
        else:
            import cv2

            result = cv2.cvtColor(frame.data, self._code)
            if result.ndim == 2:
                result = result[:, :, None]
            if self._add_alpha:
                result[:, :, 3] = 255  # cvtColor already does; keep it explicit
        cc.send(self._out, frame if result is frame.data and frame.format == self._format
                else ImageFrame(result, self._format))


def _conversion_code(src: str, dst: str) -> int | None:
    """The cv2.COLOR_* code from layout `src` to `dst`; None when they are the same."""
    if src == dst:
        return None
    import cv2

    return getattr(cv2, f"COLOR_{src}2{dst}")
