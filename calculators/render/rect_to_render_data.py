"""RectToRenderDataCalculator: normalized rectangles (ROIs) as rectangles to draw."""

from __future__ import annotations

from collections.abc import Iterable

from mediagraph.calculators.render._color import ColorOption
from mediagraph import Calculator, CalculatorContext, Input, Options, Output, one_of, option
from mediagraph.formats import NormalizedRect, RenderAnnotation, RenderData


class RectToRenderDataCalculatorOptions(
        Options, proto_name="mediapipe.RectToRenderDataCalculatorOptions", extension=262270380):
    """MediaPipe's `rect_to_render_data_calculator.proto` (numbers and defaults)."""

    filled: bool = option(1, default=False, doc="a filled rectangle instead of its outline")
    color: ColorOption = option(2, default=ColorOption(), doc="line or fill colour")
    thickness: float = option(3, default=1.0, proto="double", doc="line width in pixels")
    oval: bool = option(4, default=False, doc="the ellipse inscribed in the rectangle instead")
    top_left_thickness: float = option(5, default=-1.0, proto="double",
                                       doc="a dot this thick at the top-left corner, if > 0")

    def check(self) -> None:
        if self.thickness < 0:
            raise ValueError(f"thickness must not be negative, got {self.thickness}")


class RectToRenderDataCalculator(Calculator):
    """Turn normalized rectangles (a landmark ROI, detection rects) into render data.

    Each rectangle becomes a rectangle (or, with `oval`, an oval) annotation from
    (x_center - width/2, y_center - height/2) to (x_center + width/2, y_center + height/2),
    normalized, turned by its `rotation` about its centre, in `color` and `thickness`;
    `filled` fills it. An unrotated rectangle wholly left of or above the image, or
    starting right of or below it, is skipped (MediaPipe's). With `top_left_thickness`
    > 0 a point of that size marks the top-left corner. One RenderData goes out per
    input packet (empty when every rectangle was skipped or the list was empty).

    MediaPipe's pixel RECT/RECTS inputs (`Rect`) have no mediagraph type: use NORM_RECT(S).

    Inputs:  NORM_RECT (NormalizedRect) or NORM_RECTS (list of NormalizedRect); exactly one
    Outputs: RENDER_DATA (RenderData)
    Options: RectToRenderDataCalculatorOptions (ext 262270380): filled (1), color (2),
             thickness (3, default 1), oval (4), top_left_thickness (5)

    Example config (MediaPipe's pose renderer: the ROI in red):
        node {
          calculator: "RectToRenderDataCalculator"
          input_stream: "NORM_RECT:roi"
          output_stream: "RENDER_DATA:roi_render_data"
          options { [mediapipe.RectToRenderDataCalculatorOptions.ext] {
            filled: false color { r: 255 g: 0 b: 0 } thickness: 4.0 } }
        }
    """

    Options = RectToRenderDataCalculatorOptions

    norm_rect = Input(NormalizedRect, optional=True)
    norm_rects = Input(list | tuple, optional=True)
    render_data = Output(RenderData, tag="RENDER_DATA")
    groups = (one_of(norm_rect, norm_rects,
                     message="connect exactly one of NORM_RECT or NORM_RECTS"),)

    def process(self, cc: CalculatorContext) -> None:
        single = cc.get(self.norm_rect)
        many = cc.get(self.norm_rects)
        rects: Iterable[object] = [single] if single is not None else (many or ())
        annotations: list[RenderAnnotation] = []
        for index, rect in enumerate(rects):
            if not isinstance(rect, NormalizedRect):
                raise TypeError(f"rect {index} is a {type(rect).__name__}, not a NormalizedRect")
            annotations.extend(self._annotate(rect))
        cc.send(self.render_data, RenderData(tuple(annotations)))

    def _annotate(self, rect: NormalizedRect) -> list[RenderAnnotation]:
        opts: RectToRenderDataCalculatorOptions = self.options
        left, top = rect.x_center - rect.width / 2, rect.y_center - rect.height / 2
        right, bottom = left + rect.width, top + rect.height
        if not rect.rotation and (right < 0.0 or bottom < 0.0 or left > 1.0 or top > 1.0):
            return []
        kind = "oval" if opts.oval else "rectangle"
        if opts.filled:
            kind = "filled_" + kind
        color = opts.color.to_color()
        out = [RenderAnnotation(kind, (left, top, right, bottom), color=color,
                                thickness=opts.thickness, rotation=rect.rotation)]
        if opts.top_left_thickness > 0:
            out.append(RenderAnnotation("point", (left, top), color=color,
                                        thickness=opts.top_left_thickness))
        return out
