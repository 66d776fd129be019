"""ImageCroppingCalculator: NORM_RECT (rotation honoured), RECT, options, borders."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.preprocess.image_cropping import (
    BorderMode,
    ImageCroppingCalculatorOptions,
)
from mediagraph import Graph, GraphConfigError, MediaGraphError, parse_config
from mediagraph.formats import ImageFrame, NormalizedRect
from mediagraph.testing import CalculatorRunner, timestamps
from tests.calculators.preprocess._helpers import error_text

pytestmark = pytest.mark.timeout(60)


def quadrants(height: int = 40, width: int = 60) -> ImageFrame:
    """Top-left red, top-right green, bottom-left blue, bottom-right white."""
    data = np.zeros((height, width, 3), np.uint8)
    h, w = height // 2, width // 2
    data[:h, :w] = (255, 0, 0)
    data[:h, w:] = (0, 255, 0)
    data[h:, :w] = (0, 0, 255)
    data[h:, w:] = (255, 255, 255)
    return ImageFrame(data)


def crop(inputs, **options):
    runner = CalculatorRunner("ImageCroppingCalculator", options=options, outputs=["IMAGE"])
    return runner.run(inputs)["IMAGE"]


def test_norm_rect_crops_exact_pixels():
    frame = ImageFrame(np.random.default_rng(1).integers(0, 256, (40, 60, 3), dtype=np.uint8))
    rect = NormalizedRect(x_center=45 / 60, y_center=10 / 40, width=20 / 60, height=10 / 40)
    out = crop({"IMAGE": [(frame, 0)], "NORM_RECT": [(rect, 0)]})[0].value
    assert out.shape == (10, 20, 3)
    np.testing.assert_array_equal(out.data, frame.data[5:15, 35:55])


def test_rotated_norm_rect_picks_the_rotated_region():
    # A 10x30 strip along the image's vertical centre line, given as a 30x10 rect turned
    # 90° clockwise: the output's left end is the strip's top (green/red boundary side).
    data = np.zeros((60, 60, 3), np.uint8)
    data[10:20, 25:35] = (255, 0, 0)    # top part of the strip
    data[40:50, 25:35] = (0, 0, 255)    # bottom part
    rect = NormalizedRect(x_center=0.5, y_center=0.5, width=40 / 60, height=10 / 60,
                          rotation=math.pi / 2)
    out = crop({"IMAGE": [(ImageFrame(data), 0)], "NORM_RECT": [(rect, 0)]})[0].value.data
    assert out.shape == (10, 40, 3)
    # clockwise rotation: the rect's +x axis points down the image, so the output's left
    # columns come from the top of the strip and the right ones from the bottom
    assert (out[2:8, 2:8] == (255, 0, 0)).all()
    assert (out[2:8, 32:38] == (0, 0, 255)).all()
    assert (out[:, 15:25] == 0).all()


def test_rotation_180_turns_the_crop_upside_down():
    frame = quadrants()
    rect = NormalizedRect(0.5, 0.5, 1.0, 1.0, rotation=math.pi)
    out = crop({"IMAGE": [(frame, 0)], "NORM_RECT": [(rect, 0)]})[0].value.data
    np.testing.assert_array_equal(out[2:-2, 2:-2], frame.data[::-1, ::-1][2:-2, 2:-2])


@pytest.mark.parametrize("border, expected", [(BorderMode.BORDER_ZERO, (0, 0, 0)),
                                              (BorderMode.BORDER_REPLICATE, (255, 0, 0))])
def test_border_mode_fills_outside_the_image(border, expected):
    rect = NormalizedRect(x_center=0.0, y_center=0.0, width=20 / 60, height=10 / 40)
    out = crop({"IMAGE": [(quadrants(), 0)], "NORM_RECT": [(rect, 0)]},
               border_mode=border)[0].value.data
    assert out.shape == (10, 20, 3)
    assert (out[:5, :10] == expected).all()   # outside: above-left of the image
    assert (out[5:, 10:] == (255, 0, 0)).all()  # inside: the red quadrant


def test_pixel_rect_and_missing_rect_packets():
    rect = SimpleNamespace(x_center=45, y_center=30, width=10, height=10, rotation=0.0)
    out = crop({"IMAGE": [(quadrants(), 0), (quadrants(), 1)], "RECT": [(rect, 0)]})
    assert timestamps(out) == [0]  # no RECT at 1: no output, as MediaPipe
    assert (out[0].value.data == 255).all()


def test_options_give_the_crop_without_rect_inputs():
    out = crop({"IMAGE": [(quadrants(), 0)]}, norm_width=0.5, norm_height=0.5,
               norm_center_x=0.25, norm_center_y=0.75)[0].value
    assert out.shape == (20, 30, 3) and (out.data == (0, 0, 255)).all()
    out = crop({"IMAGE": [(quadrants(), 0)]}, width=10, height=4)[0].value
    assert out.shape == (4, 10, 3)  # centred by default
    np.testing.assert_array_equal(out.data, quadrants().data[18:22, 25:35])


@pytest.mark.parametrize("inputs, options, message", [
    ({"IMAGE": [(quadrants(), 0)]}, {}, "no crop given: connect NORM_RECT"),
    ({"IMAGE": [], "NORM_RECT": [], "RECT": []}, {}, "not both"),
    ({"IMAGE": [], "WIDTH": []}, {}, "WIDTH and HEIGHT inputs go together"),
    ({"IMAGE": [(quadrants(), 0)]}, {"width": 4, "height": 4,
                                     "border_mode": BorderMode.BORDER_UNSPECIFIED},
     "border_mode must be"),
])
def test_bad_crop_config_raises_at_validation_naming_the_node(inputs, options, message):
    runner = CalculatorRunner("ImageCroppingCalculator", options=options, outputs=["IMAGE"])
    with pytest.raises(GraphConfigError, match="under_test") as info:
        runner.run(inputs)
    assert message in str(info.value)


@pytest.mark.parametrize("inputs, options, message", [
    ({"IMAGE": [(quadrants(), 0)], "NORM_RECT": [(NormalizedRect(0.5, 0.5, 0.0, 0.5), 0)]},
     {}, "NORM_RECT size (0 x 0.5 of a 60x40 image) must be positive"),
    ({"IMAGE": [(quadrants().data, 0)], "NORM_RECT": [(NormalizedRect(0.5, 0.5, 1, 1), 0)]},
     {}, "input IMAGE needs an ImageFrame"),
    ({"IMAGE": [(quadrants(), 0)], "NORM_RECT": [((0.5, 0.5, 1, 1), 0)]},
     {}, "input NORM_RECT needs a NormalizedRect"),
])
def test_bad_crop_raises_naming_node_and_port(inputs, options, message):
    runner = CalculatorRunner("ImageCroppingCalculator", options=options, outputs=["IMAGE"])
    with pytest.raises(MediaGraphError) as info:
        runner.run(inputs)
    text = error_text(info.value)
    assert "under_test" in text and message in text


def test_options_parse_with_mediapipe_numbers():
    config = parse_config("""
        node { calculator: "ImageCroppingCalculator"
               input_stream: "IMAGE:in" output_stream: "IMAGE:out"
               options { [mediapipe.ImageCroppingCalculatorOptions.ext] {
                 width: 3 border_mode: BORDER_REPLICATE } } }""")
    message = config.node[0].options.Extensions[ImageCroppingCalculatorOptions.extension()]
    assert ImageCroppingCalculatorOptions.extension_number == 262466399
    assert message.SerializeToString() == bytes([0x08, 3, 0x40, 2])


def test_cropping_in_a_graph_with_properties():
    graph = Graph("""
        input_stream: "frames"
        input_stream: "rects"
        output_stream: "size"
        node { calculator: "ImageCroppingCalculator"
               input_stream: "IMAGE:frames" input_stream: "NORM_RECT:rects"
               output_stream: "IMAGE:crops" }
        node { calculator: "ImagePropertiesCalculator"
               input_stream: "IMAGE:crops" output_stream: "SIZE:size" }""")
    result = graph.run({"frames": [(quadrants(), t) for t in range(2)],
                        "rects": [(NormalizedRect(0.5, 0.5, 0.5, 0.25), 0),
                                  (NormalizedRect(0.5, 0.5, 0.1, 1.0), 1)]}, timeout=30)
    assert [p.value for p in result["size"]] == [(30, 10), (6, 40)]
