"""AnnotationOverlayCalculator draws a run of lines of one pen in one call: the same pixels
as one cv2.line per line."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.formats import Color, ImageFrame, RenderAnnotation, RenderData
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("thickness", [1.0, 3.0])
def test_a_run_of_lines_draws_what_cv2_line_draws(thickness):
    import cv2

    rng = np.random.default_rng(4)
    coords = rng.random((300, 4))
    data = RenderData(tuple(RenderAnnotation("line", tuple(map(float, c)), color=Color(0, 200, 0),
                                             thickness=thickness) for c in coords))
    image = ImageFrame(np.zeros((120, 160, 3), np.uint8))
    out = CalculatorRunner("AnnotationOverlayCalculator").run(
        {"IMAGE": [(image, 0)], "": [(data, 0)]})["IMAGE"][0].value.data
    want = np.zeros((120, 160, 3), np.uint8)
    for x0, y0, x1, y1 in coords:
        cv2.line(want, (round(x0 * 160), round(y0 * 120)), (round(x1 * 160), round(y1 * 120)),
                 (0, 200, 0), round(thickness), cv2.LINE_8)
    assert np.array_equal(out, want)
