"""ImageTransformationCalculator: rotation, flips, STRETCH/FIT/FILL_AND_CROP, letterbox padding."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.preprocess.image_transformation import (
    ImageTransformationCalculatorOptions,
    PaddingColor,
    RotationMode,
    ScaleMode,
)
from mediagraph import Graph, GraphConfigError, MediaGraphError, parse_config
from mediagraph.formats import ImageFormat, ImageFrame
from mediagraph.testing import CalculatorRunner, timestamps
from tests.calculators.preprocess._helpers import error_text

pytestmark = pytest.mark.timeout(60)

RED = (255, 0, 0)


def marked(height: int, width: int) -> ImageFrame:
    """A black SRGB image whose top-left pixel is red."""
    data = np.zeros((height, width, 3), np.uint8)
    data[0, 0] = RED
    return ImageFrame(data)


def transform(frame, outputs=("IMAGE",), **options):
    runner = CalculatorRunner("ImageTransformationCalculator", options=options,
                              outputs=list(outputs))
    return runner.run({"IMAGE": [(frame, 0)]})


def red_pixels(frame: ImageFrame) -> list[tuple[int, int]]:
    return [tuple(p) for p in np.argwhere(np.all(frame.data == RED, axis=2))]


@pytest.mark.parametrize("mode, expected", [
    (RotationMode.ROTATION_0, (0, 0)),
    (RotationMode.ROTATION_90, (5, 0)),     # counterclockwise: top-left goes bottom-left
    (RotationMode.ROTATION_180, (3, 5)),
    (RotationMode.ROTATION_270, (0, 3)),
])
def test_rotation_moves_the_marked_corner_counterclockwise(mode, expected):
    out = transform(marked(4, 6), rotation_mode=mode)["IMAGE"][0].value
    rotated = mode in (RotationMode.ROTATION_90, RotationMode.ROTATION_270)
    assert (out.height, out.width) == ((6, 4) if rotated else (4, 6))
    assert red_pixels(out) == [expected]


@pytest.mark.parametrize("flip_h, flip_v, expected", [
    (True, False, (0, 5)), (False, True, (3, 0)), (True, True, (3, 5))])
def test_flips_mirror_the_marked_corner(flip_h, flip_v, expected):
    out = transform(marked(4, 6), flip_horizontally=flip_h, flip_vertically=flip_v)
    assert red_pixels(out["IMAGE"][0].value) == [expected]


def test_flip_applies_after_rotation():
    out = transform(marked(4, 6), rotation_mode=RotationMode.ROTATION_90, flip_horizontally=True)
    assert red_pixels(out["IMAGE"][0].value) == [(5, 3)]


def test_per_frame_inputs_override_options_from_their_frame_on():
    runner = CalculatorRunner("ImageTransformationCalculator", outputs=["IMAGE"])
    out = runner.run({"IMAGE": [(marked(4, 6), t) for t in range(3)],
                      "ROTATION_DEGREES": [(180, 1)],
                      "FLIP_VERTICALLY": [(True, 2)]})
    assert [red_pixels(p.value) for p in out["IMAGE"]] == [[(0, 0)], [(3, 5)], [(0, 5)]]


def test_side_packets_override_options():
    runner = CalculatorRunner("ImageTransformationCalculator", outputs=["IMAGE"],
                              options={"flip_horizontally": False})
    out = runner.run({"IMAGE": [(marked(4, 6), 0)]},
                     {"ROTATION_DEGREES": 270, "FLIP_HORIZONTALLY": True})
    assert red_pixels(out["IMAGE"][0].value) == [(0, 0)]  # (0, 3) mirrored in a 4-wide image


def test_fit_letterboxes_top_and_bottom_and_reports_padding():
    data = np.full((10, 20, 3), 200, np.uint8)
    out = transform(ImageFrame(data), outputs=("IMAGE", "LETTERBOX_PADDING"),
                    output_width=40, output_height=40, scale_mode=ScaleMode.FIT)
    image = out["IMAGE"][0].value.data
    assert image.shape == (40, 40, 3)
    assert (image[:10] == 0).all() and (image[30:] == 0).all()
    assert (image[10:30] == 200).all()
    assert out["LETTERBOX_PADDING"][0].value == pytest.approx((0.0, 0.25, 0.0, 0.25))


def test_fit_pillarboxes_left_and_right_with_the_padding_color():
    data = np.full((20, 10, 3), 200, np.uint8)
    out = transform(ImageFrame(data), outputs=("IMAGE", "LETTERBOX_PADDING"),
                    output_width=40, output_height=40, scale_mode=ScaleMode.FIT,
                    padding_color=PaddingColor(red=0, green=0, blue=255))
    image = out["IMAGE"][0].value.data
    assert (image[:, :10] == (0, 0, 255)).all() and (image[:, 30:] == (0, 0, 255)).all()
    assert (image[:, 10:30] == 200).all()
    assert out["LETTERBOX_PADDING"][0].value == pytest.approx((0.25, 0.0, 0.25, 0.0))


def test_fit_without_constant_padding_replicates_edges():
    data = np.zeros((10, 20, 3), np.uint8)
    data[0] = 50   # top row
    data[-1] = 90  # bottom row
    out = transform(ImageFrame(data), output_width=20, output_height=20,
                    scale_mode=ScaleMode.FIT, constant_padding=False)
    image = out["IMAGE"][0].value.data
    assert (image[:5] == 50).all() and (image[15:] == 90).all()


def test_stretch_is_the_default_and_has_no_padding():
    out = transform(ImageFrame(np.full((10, 20, 3), 7, np.uint8)),
                    outputs=("IMAGE", "LETTERBOX_PADDING"), output_width=30, output_height=60)
    image = out["IMAGE"][0].value
    assert (image.width, image.height) == (30, 60) and (image.data == 7).all()
    assert out["LETTERBOX_PADDING"][0].value == (0.0, 0.0, 0.0, 0.0)


def test_fill_and_crop_keeps_the_centre():
    data = np.zeros((20, 40, 3), np.uint8)
    data[:, :20] = RED
    data[:, 20:] = (0, 0, 255)
    out = transform(ImageFrame(data), output_width=20, output_height=20,
                    scale_mode=ScaleMode.FILL_AND_CROP)["IMAGE"][0].value.data
    assert out.shape == (20, 20, 3)
    assert (out[:, :10] == RED).all() and (out[:, 10:] == (0, 0, 255)).all()


def test_output_dimensions_input_sets_size_and_gates_output():
    runner = CalculatorRunner("ImageTransformationCalculator", outputs=["IMAGE"])
    frame = ImageFrame(np.zeros((10, 10, 3), np.uint8))
    out = runner.run({"IMAGE": [(frame, 0), (frame, 1), (frame, 2)],
                      "OUTPUT_DIMENSIONS": [((8, 4), 0), ((6, 3), 2)]})
    assert timestamps(out["IMAGE"]) == [0, 2]
    assert [(p.value.width, p.value.height) for p in out["IMAGE"]] == [(8, 4), (6, 3)]


@pytest.mark.parametrize("fmt, dtype", [(ImageFormat.GRAY8, np.uint8),
                                        (ImageFormat.VEC32F1, np.float32),
                                        (ImageFormat.SRGBA, np.uint8)])
def test_formats_and_channel_axis_survive(fmt, dtype):
    data = np.ones((10, 20, fmt.channels), dtype)
    out = transform(ImageFrame(data, fmt), output_width=10, output_height=10,
                    scale_mode=ScaleMode.FIT, rotation_mode=RotationMode.ROTATION_90)
    image = out["IMAGE"][0].value
    assert image.format == fmt and image.shape == (10, 10, fmt.channels)


def test_untouched_frame_is_passed_without_a_copy():
    frame = marked(4, 6)
    assert transform(frame)["IMAGE"][0].value is frame


def test_one_output_size_option_raises_at_validation():
    runner = CalculatorRunner("ImageTransformationCalculator", options={"output_width": 10},
                              outputs=["IMAGE"])
    with pytest.raises(GraphConfigError, match="under_test") as info:
        runner.run({"IMAGE": [(marked(4, 4), 0)]})
    assert "set both" in str(info.value)


@pytest.mark.parametrize("inputs, options, side, message", [
    ({"IMAGE": [(np.zeros((4, 4, 3), np.uint8), 0)]}, {}, {}, "input IMAGE needs an ImageFrame"),
    ({"IMAGE": [(marked(4, 4), 0)], "OUTPUT_DIMENSIONS": [((0, 10), 0)]}, {}, {},
     "OUTPUT_DIMENSIONS must be positive, got 0x10"),
    ({"IMAGE": [(marked(4, 4), 0)], "ROTATION_DEGREES": [(45, 0)]}, {}, {},
     "ROTATION_DEGREES must be a multiple of 90"),
    ({"IMAGE": [(marked(4, 4), 0)]}, {}, {"OUTPUT_DIMENSIONS": (5,)},
     "OUTPUT_DIMENSIONS side packet must be (width, height)"),
])
def test_bad_input_raises_naming_node_and_port(inputs, options, side, message):
    runner = CalculatorRunner("ImageTransformationCalculator", options=options, outputs=["IMAGE"])
    with pytest.raises(MediaGraphError) as info:
        runner.run(inputs, side)
    text = error_text(info.value)
    assert "under_test" in text and message in text


def test_options_parse_with_mediapipe_numbers():
    config = parse_config("""
        node { calculator: "ImageTransformationCalculator"
               input_stream: "IMAGE:in" output_stream: "IMAGE:out"
               options { [mediapipe.ImageTransformationCalculatorOptions.ext] {
                 output_width: 2 rotation_mode: ROTATION_90 scale_mode: FIT
                 padding_color { red: 1 } interpolation_mode: NEAREST } } }""")
    message = config.node[0].options.Extensions[ImageTransformationCalculatorOptions.extension()]
    assert ImageTransformationCalculatorOptions.extension_number == 251952830
    assert message.SerializeToString() == bytes(
        [0x08, 2, 0x18, 2, 0x30, 2, 0x42, 2, 0x08, 1, 0x48, 2])


def test_transformation_in_a_graph_feeds_image_properties():
    graph = Graph("""
        input_stream: "frames"
        output_stream: "small"
        output_stream: "size"
        output_stream: "padding"
        node {
          calculator: "ImageTransformationCalculator"
          input_stream: "IMAGE:frames"
          output_stream: "IMAGE:small"
          output_stream: "LETTERBOX_PADDING:padding"
          options { [mediapipe.ImageTransformationCalculatorOptions.ext] {
            output_width: 32 output_height: 16 scale_mode: FIT rotation_mode: ROTATION_270 } }
        }
        node { calculator: "ImagePropertiesCalculator"
               input_stream: "IMAGE:small" output_stream: "SIZE:size" }""")
    frames = [(marked(40, 20), t) for t in range(3)]
    result = graph.run({"frames": frames}, timeout=30)
    assert [p.value for p in result["size"]] == [(32, 16)] * 3
    # rotated 270° the 20x40 frame is 40x20: 32x16 fits exactly, no padding
    assert result["padding"][0].value == (0.0, 0.0, 0.0, 0.0)
    red = result["small"][0].value.data[:, :, 0]  # downscaled: the mark is blended, not gone
    assert np.unravel_index(np.argmax(red), red.shape) == (0, 31)
