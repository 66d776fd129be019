"""RectToRenderDataCalculator and RectToRenderScaleCalculator (MediaPipe's formulas)."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.render._color import ColorOption
from mediagraph.formats import Color, ImageFrame, NormalizedRect, RenderData
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


def render(tag, value, **options):
    runner = CalculatorRunner("RectToRenderDataCalculator", options=options)
    return runner.run({tag: [(value, 0)]})["RENDER_DATA"][0].value


def test_a_norm_rect_becomes_a_rectangle_with_its_rotation():
    data = render("NORM_RECT", NormalizedRect(0.5, 0.4, 0.2, 0.4, rotation=0.3),
                  color=ColorOption(r=255), thickness=4.0)
    (a,) = data.render_annotation
    assert a.kind == "rectangle" and a.color == Color(255, 0, 0) and a.thickness == 4.0
    assert np.allclose(a.coords, (0.4, 0.2, 0.6, 0.6)) and a.rotation == 0.3


def test_filled_oval_and_rects_outside_the_image_skipped():
    rects = [NormalizedRect(0.5, 0.5, 0.2, 0.2), NormalizedRect(-0.5, 0.5, 0.2, 0.2),
             NormalizedRect(1.5, 0.5, 0.2, 0.2)]
    data = render("NORM_RECTS", rects, filled=True, oval=True)
    assert [a.kind for a in data.render_annotation] == ["filled_oval"]


def test_rotated_rectangle_is_drawn_turned():
    rect = NormalizedRect(0.5, 0.5, 0.5, 0.1, rotation=np.pi / 2)
    data = render("NORM_RECT", rect, color=ColorOption(r=255), thickness=1.0)
    image = ImageFrame(np.zeros((100, 100, 3), np.uint8))
    out = CalculatorRunner("AnnotationOverlayCalculator").run(
        {"IMAGE": [(image, 0)], "": [(data, 0)]})["IMAGE"][0].value.data[:, :, 0]
    rows, cols = np.nonzero(out)
    # turned a quarter: 10 px wide, 50 px tall around the centre (unturned: 50 x 10)
    assert cols.max() - cols.min() <= 12 and rows.max() - rows.min() >= 48


def test_render_scale_is_the_rect_larger_side_in_pixels_times_multiplier():
    runner = CalculatorRunner("RectToRenderScaleCalculator", options={"multiplier": 0.001})
    out = runner.run({"NORM_RECT": [(NormalizedRect(0.5, 0.5, 0.2, 0.5), 0)],
                      "IMAGE_SIZE": [((640, 480), 0), ((640, 480), 1)]})["RENDER_SCALE"]
    assert [p.timestamp.value for p in out] == [0, 1]
    assert out[0].value == pytest.approx(240 * 0.001)   # max(128, 240) px
    assert out[1].value == pytest.approx(0.001)         # no rect: the multiplier
