"""ColorConvertCalculator: MediaPipe's *_IN/*_OUT tags, one of each."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import Graph, GraphConfigError, MediaGraphError
from mediagraph.formats import ImageFormat, ImageFrame
from mediagraph.testing import CalculatorRunner
from tests.calculators.preprocess._helpers import error_text

pytestmark = pytest.mark.timeout(60)

PIXEL = {"RGB": (10, 20, 30), "BGR": (30, 20, 10), "RGBA": (10, 20, 30, 255),
         "BGRA": (30, 20, 10, 255)}
FORMAT = {"RGB": ImageFormat.SRGB, "BGR": ImageFormat.SRGB, "RGBA": ImageFormat.SRGBA,
          "BGRA": ImageFormat.SBGRA, "GRAY": ImageFormat.GRAY8}


def image(layout: str) -> ImageFrame:
    if layout == "GRAY":
        return ImageFrame(np.full((2, 3, 1), 77, np.uint8))
    return ImageFrame(np.tile(np.array(PIXEL[layout], np.uint8), (2, 3, 1)), FORMAT[layout])


def convert(src: str, dst: str, frame: ImageFrame) -> ImageFrame:
    runner = CalculatorRunner("ColorConvertCalculator", outputs=[f"{dst}_OUT"])
    return runner.run({f"{src}_IN": [(frame, 0)]})[f"{dst}_OUT"][0].value


@pytest.mark.parametrize("src", ["RGB", "BGR", "RGBA", "BGRA"])
@pytest.mark.parametrize("dst", ["RGB", "BGR", "RGBA", "BGRA"])
def test_color_layouts_convert_channel_order_and_alpha(src, dst):
    out = convert(src, dst, image(src))
    assert out.format == FORMAT[dst]
    assert (out.data == PIXEL[dst]).all()


@pytest.mark.parametrize("src", ["RGB", "BGR", "RGBA", "BGRA"])
def test_to_gray_uses_luminance(src):
    out = convert(src, "GRAY", image(src))
    assert out.format == ImageFormat.GRAY8 and out.shape == (2, 3, 1)
    assert int(out.data[0, 0, 0]) == round(0.299 * 10 + 0.587 * 20 + 0.114 * 30)


@pytest.mark.parametrize("dst, pixel", [("RGB", (77, 77, 77)), ("RGBA", (77, 77, 77, 255)),
                                        ("BGRA", (77, 77, 77, 255))])
def test_from_gray_replicates_and_sets_alpha(dst, pixel):
    assert (convert("GRAY", dst, image("GRAY")).data == pixel).all()


def test_wrong_input_format_raises_naming_the_port():
    runner = CalculatorRunner("ColorConvertCalculator", outputs=["RGB_OUT"])
    with pytest.raises(MediaGraphError) as info:
        runner.run({"RGBA_IN": [(image("RGB"), 0)]})
    text = error_text(info.value)
    assert "under_test" in text and "input RGBA_IN needs a SRGBA image" in text


@pytest.mark.parametrize("inputs, outputs", [
    ({"RGB_IN": [], "GRAY_IN": []}, ["RGBA_OUT"]),
    ({"RGB_IN": []}, ["RGBA_OUT", "GRAY_OUT"]),
    ({"RGB_IN": []}, []),
])
def test_not_exactly_one_input_and_output_raises_at_validation(inputs, outputs):
    runner = CalculatorRunner("ColorConvertCalculator", outputs=outputs)
    with pytest.raises(GraphConfigError) as info:
        runner.run(inputs)
    assert "exactly one input" in error_text(info.value)


def test_color_convert_in_a_graph_round_trips():
    graph = Graph("""
        input_stream: "rgb"
        output_stream: "back"
        node { calculator: "ColorConvertCalculator" input_stream: "RGB_IN:rgb"
               output_stream: "BGRA_OUT:bgra" }
        node { calculator: "ColorConvertCalculator" input_stream: "BGRA_IN:bgra"
               output_stream: "RGB_OUT:back" }""")
    frame = ImageFrame(np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8))
    result = graph.run({"rgb": [(frame, 0), (frame, 1)]}, timeout=30)
    assert [p.value for p in result["back"]] == [frame, frame]
