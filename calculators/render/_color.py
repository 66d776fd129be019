"""Option messages shared by the render calculators (MediaPipe's `Color`, `RenderAnnotation.Text`).

Only the field numbers matter for MediaPipe configs (text names fields, binary numbers
them), so these live under mediagraph's own proto names.
"""

from __future__ import annotations

from mediagraph import Options, option
from mediagraph.formats import Color


class ColorOption(Options, proto_name="mediagraph.render.Color"):
    """MediaPipe's `color.proto` Color: r, g, b in 0..255."""

    r: int = option(1, default=0)
    g: int = option(2, default=0)
    b: int = option(3, default=0)

    def to_color(self) -> Color:
        return Color(self.r, self.g, self.b)


class TextOption(Options, proto_name="mediagraph.render.Text"):
    """MediaPipe's `RenderAnnotation.Text` (render_data.proto), as used in options."""

    display_text: str = option(1, default="")
    left: float = option(2, default=0.0, proto="double")
    baseline: float = option(3, default=0.0, proto="double")
    font_height: float = option(4, default=8.0, proto="double")
    normalized: bool = option(5, default=False)
    font_face: int = option(6, default=0)
    center_horizontally: bool = option(7, default=False)
    center_vertically: bool = option(8, default=False)
