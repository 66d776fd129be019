"""EdgeDetectionCalculator: Canny edges of a drawn square, as SRGB."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import Graph, GraphConfigError, MediaGraphError
from mediagraph.formats import ImageFormat, ImageFrame
from mediagraph.testing import CalculatorRunner
from tests.calculators.preprocess._helpers import error_text

pytestmark = pytest.mark.timeout(60)


def square(fmt: ImageFormat = ImageFormat.SRGB) -> ImageFrame:
    data = np.zeros((64, 64, fmt.channels), np.uint8)
    data[20:40, 16:48] = 200
    return ImageFrame(data, fmt)


def edges_of(frame: ImageFrame, **options) -> ImageFrame:
    runner = CalculatorRunner("EdgeDetectionCalculator", options=options)
    return runner.run({"IMAGE": [(frame, 0)]})["IMAGE"][0].value


@pytest.mark.parametrize("fmt", [ImageFormat.SRGB, ImageFormat.SRGBA, ImageFormat.GRAY8])
def test_canny_outlines_the_square(fmt):
    out = edges_of(square(fmt))
    assert out.format == ImageFormat.SRGB and out.shape == (64, 64, 3)
    edge = out.data[:, :, 0] > 0
    assert (out.data[:, :, 0] == out.data[:, :, 1]).all()
    ys, xs = np.nonzero(edge)
    # the outline hugs the square's border, within a pixel
    assert 19 <= ys.min() <= 20 and 39 <= ys.max() <= 40
    assert 15 <= xs.min() <= 16 and 47 <= xs.max() <= 48
    assert not edge[25:35, 22:42].any()  # flat inside
    assert not edge[:15].any() and not edge[45:].any()  # flat outside
    assert edge[20:40, 15:17].any(axis=1).all()  # the left side is continuous


def test_thresholds_above_the_contrast_find_nothing():
    out = edges_of(square(), threshold1=5000, threshold2=6000)
    assert not out.data.any()


@pytest.mark.parametrize("options, frame, error, message", [
    ({"aperture_size": 4}, square(), GraphConfigError, "aperture_size must be 3, 5 or 7"),
    ({}, ImageFrame(np.zeros((4, 4), np.float32)), MediaGraphError,
     "input IMAGE needs a SRGB or SRGBA or SBGRA or GRAY8"),
])
def test_bad_options_or_format_raise(options, frame, error, message):
    runner = CalculatorRunner("EdgeDetectionCalculator", options=options)
    with pytest.raises(error) as info:
        runner.run({"IMAGE": [(frame, 0)]})
    text = error_text(info.value)
    assert "under_test" in text and message in text


def test_edge_detection_demo_graph():
    graph = Graph("""
        input_stream: "frames"
        output_stream: "edges"
        node { calculator: "ImageTransformationCalculator"
               input_stream: "IMAGE:frames" output_stream: "IMAGE:small"
               options { [mediapipe.ImageTransformationCalculatorOptions.ext] {
                 output_width: 32 output_height: 32 } } }
        node { calculator: "EdgeDetectionCalculator"
               input_stream: "IMAGE:small" output_stream: "IMAGE:edges"
               node_options { [type.googleapis.com/mediagraph.EdgeDetectionCalculatorOptions] {
                 threshold1: 50 threshold2: 150 } } }""")
    result = graph.run({"frames": [(square(), t) for t in range(3)]}, timeout=30)
    assert len(result["edges"]) == 3
    assert all(p.value.shape == (32, 32, 3) and p.value.data.any() for p in result["edges"])
