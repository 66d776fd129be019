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


@pytest.mark.parametrize("count", [6, 400])  # a face's keypoints; a mesh's
@pytest.mark.parametrize("planar", [False, True])
@pytest.mark.parametrize("thickness", [1.0, 2.0, 5.0])
def test_a_run_of_points_draws_what_one_point_at_a_time_draws(planar, thickness, count):
    from mediagraph.colour import convert
    from mediagraph.formats import ImageFormat

    rng = np.random.default_rng(5)
    xy = rng.uniform(-0.05, 1.05, (count, 2))          # some off the image
    points = [RenderAnnotation("point", (float(x), float(y)), color=Color(255, 138, 0),
                               thickness=thickness) for x, y in xy]
    image = ImageFrame(np.full((120, 160, 3), 60, np.uint8))
    if planar:
        image = convert(image, ImageFormat.YCBCR420P)
    runner = CalculatorRunner("AnnotationOverlayCalculator")
    together = runner.run({"IMAGE": [(image, 0)], "": [(RenderData(tuple(points)), 0)]})
    # alternating colours break the run: every point drawn on its own
    alone = RenderData(tuple(a for p in points for a in (
        p, RenderAnnotation("point", (2.0, 2.0), color=Color(1, 2, 3)))))
    one_by_one = CalculatorRunner("AnnotationOverlayCalculator").run(
        {"IMAGE": [(image, 0)], "": [(alone, 0)]})
    assert np.array_equal(together["IMAGE"][0].value.data, one_by_one["IMAGE"][0].value.data)


@pytest.mark.parametrize("planar", [False, True])
def test_a_run_with_a_size_per_point_draws_what_its_annotations_draw(planar):
    from mediagraph.colour import convert
    from mediagraph.formats import AnnotationRun, ImageFormat

    rng = np.random.default_rng(6)
    run = AnnotationRun("point", rng.uniform(-0.05, 1.05, (200, 2)), Color(255, 138, 0),
                        tuple(rng.uniform(0.2, 9.0, 200)))
    lines = AnnotationRun("line", rng.random((50, 4)), Color(0, 0, 255), 2.0)
    image = ImageFrame(np.full((120, 160, 3), 60, np.uint8))
    if planar:
        image = convert(image, ImageFormat.YCBCR420P)
    as_runs = RenderData.from_runs([lines, run])
    as_objects = RenderData(as_runs.render_annotation)
    assert len(as_objects.render_annotation) == 250 and as_runs == as_objects
    drawn = [CalculatorRunner("AnnotationOverlayCalculator").run(
        {"IMAGE": [(image, 0)], "": [(data, 0)]})["IMAGE"][0].value.data
        for data in (as_runs, as_objects)]
    assert np.array_equal(drawn[0], drawn[1])
    assert not np.array_equal(drawn[0], image.data)
