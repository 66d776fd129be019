"""AnnotationOverlayCalculator: shapes, text and masks drawn at the right pixels."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.render._color import ColorOption
from mediagraph.calculators.render.annotation_overlay import AnnotationOverlayCalculatorOptions
from mediagraph import Graph, MediaGraphError, parse_config
from mediagraph.formats import (
    Color,
    ImageFormat,
    ImageFrame,
    RenderAnnotation,
    RenderData,
    split_i420,
)
from mediagraph.colour import convert, i420_to_rgb, rgb_to_yuv
from mediagraph.testing import CalculatorRunner, timestamps
from tests.calculators.preprocess._helpers import error_text

pytestmark = pytest.mark.timeout(60)

RED, GREEN, BLUE = Color(255, 0, 0), Color(0, 255, 0), Color(0, 0, 255)
GRAY = 100


def frame(height=100, width=200, fmt=ImageFormat.SRGB) -> ImageFrame:
    return ImageFrame(np.full((height, width, fmt.channels), GRAY, np.uint8), fmt)


def overlay(annotations, image=None, options=None, extra=None):
    runner = CalculatorRunner("AnnotationOverlayCalculator", options=options, outputs=["IMAGE"])
    inputs = {"IMAGE": [(image or frame(), 0)], "": [(RenderData(tuple(annotations)), 0)]}
    inputs.update(extra or {})
    return runner.run(inputs)["IMAGE"][0].value.data


def is_color(pixels, color):
    return (pixels == (color.r, color.g, color.b)).all()


def test_rectangle_outline_lands_on_the_expected_pixels():
    out = overlay([RenderAnnotation("rectangle", (0.25, 0.2, 0.75, 0.8), color=RED)])
    assert is_color(out[20, 50:151], RED) and is_color(out[80, 50:151], RED)
    assert is_color(out[20:81, 50], RED) and is_color(out[20:81, 150], RED)
    assert (out[21:80, 51:150] == GRAY).all() and (out[:19] == GRAY).all()


def test_pixel_coordinates_and_thickness():
    out = overlay([RenderAnnotation("rectangle", (10, 10, 30, 30), color=BLUE, thickness=3,
                                    normalized=False)])
    assert is_color(out[9:12, 10:31], BLUE)  # 3 px thick, centred on y=10
    assert (out[13:28, 13:28] == GRAY).all()


def test_filled_shapes_points_and_lines():
    out = overlay([
        RenderAnnotation("filled_rectangle", (0.0, 0.0, 0.1, 0.2), color=RED),
        RenderAnnotation("oval", (0.5, 0.5, 0.7, 0.9), color=GREEN),
        RenderAnnotation("point", (0.9, 0.1), color=BLUE, thickness=3),
        RenderAnnotation("line", (0.0, 0.95, 1.0, 0.95), color=RED, thickness=1),
    ])
    assert is_color(out[0:21, 0:21], RED)
    assert is_color(out[70, 100], GREEN) and is_color(out[50, 120], GREEN)  # left, top of oval
    assert (out[70, 120] == GRAY).all()  # hollow centre
    assert is_color(out[8:13, 178:183], BLUE)
    assert is_color(out[95, :], RED)


def test_text_draws_above_its_baseline():
    out = overlay([RenderAnnotation("text", (0.1, 0.5), color=GREEN, text="Hi", font_height=0.2)])
    ys, xs = np.nonzero((out != GRAY).any(axis=2))
    assert ys.size and ys.max() <= 52 and ys.min() >= 50 - 25 and xs.min() >= 18


def test_mask_input_tints_only_the_masked_region():
    mask = np.zeros((100, 200), np.float32)
    mask[50:, 100:] = 1.0  # bottom-right quarter
    out = overlay([], extra={"MASK": [(mask, 0)]},
                  options={"mask_color": ColorOption(r=0, g=0, b=255), "mask_alpha": 0.5})
    assert (out[:50] == GRAY).all() and (out[:, :100] == GRAY).all()
    assert (out[50:, 100:] == (50, 50, 178)).all()  # 100 * 0.5 + (0, 0, 255) * 0.5, rounded


def test_small_mask_is_resized_to_the_frame():
    mask = np.zeros((10, 20), np.float32)
    mask[5:, 10:] = 1.0
    out = overlay([], extra={"MASK": [(mask, 0)]}, options={"mask_alpha": 1.0})
    assert (out[:40] == GRAY).all() and (out[:, :90] == GRAY).all()  # bilinear edge only
    assert (out[60:, 110:] == (0, 255, 0)).all()


def test_soft_mask_as_vec32f1_frame_blends_proportionally():
    mask = ImageFrame(np.full((50, 100, 1), 0.5, np.float32), ImageFormat.VEC32F1)
    out = overlay([], extra={"MASK": [(mask, 0)]}, options={"mask_alpha": 1.0})
    assert (out == (50, 178, 50)).all()  # default green, half strength


def test_mask_annotation_uses_its_color():
    mask = np.zeros((100, 200), np.float32)
    mask[:10, :10] = 1.0
    out = overlay([RenderAnnotation("mask", color=RED, mask=mask)], options={"mask_alpha": 1.0})
    assert is_color(out[:10, :10], RED) and (out[10:] == GRAY).all()


@pytest.mark.parametrize("fmt, expected", [(ImageFormat.SRGBA, (255, 0, 0, GRAY)),
                                           (ImageFormat.SBGRA, (0, 0, 255, GRAY))])
def test_four_channel_formats_keep_their_order_and_alpha(fmt, expected):
    out = overlay([RenderAnnotation("filled_rectangle", (0, 0, 1, 1), color=RED)],
                  image=frame(fmt=fmt))
    # cv2 draws alpha 255 for a 4-tuple color
    assert (out[5, 5, :3] == expected[:3]).all() and out[5, 5, 3] == 255


def test_input_frame_is_copied_not_mutated_and_streams_may_be_absent():
    image = frame()
    runner = CalculatorRunner("AnnotationOverlayCalculator", outputs=["IMAGE"])
    red = RenderData((RenderAnnotation("filled_rectangle", (0, 0, 0.5, 1), color=RED),))
    blue = RenderData((RenderAnnotation("filled_rectangle", (0.5, 0, 1, 1), color=BLUE),))
    out = runner.run({"IMAGE": [(image, 0), (image, 1)], "": [(red, 0)], ":1": [(blue, 0),
                                                                                   (blue, 1)]})
    first, second = (p.value.data for p in out["IMAGE"])
    assert is_color(first[50, 10], RED) and is_color(first[50, 190], BLUE)
    assert (second[50, 10] == GRAY).all() and is_color(second[50, 190], BLUE)
    assert (image.data == GRAY).all()


def test_without_image_draws_on_a_canvas():
    runner = CalculatorRunner("AnnotationOverlayCalculator", outputs=["IMAGE"], options={
        "canvas_width_px": 40, "canvas_height_px": 20, "canvas_color": ColorOption(r=9, g=9, b=9)})
    data = RenderData((RenderAnnotation("point", (0.5, 0.5), color=RED),))
    out = runner.run({"": [(data, 3)]})["IMAGE"]
    assert timestamps(out) == [3]
    image = out[0].value
    assert image.format == ImageFormat.SRGB and image.shape == (20, 40, 3)
    assert is_color(image.data[10, 20], RED) and (image.data[0, 0] == 9).all()


@pytest.mark.parametrize("inputs, message", [
    ({"IMAGE": [(frame(fmt=ImageFormat.GRAY8), 0)]}, "input IMAGE needs a SRGB or SRGBA or SBGRA"),
    ({"IMAGE": [(frame(), 0)], "MASK": [(np.zeros((2, 2, 3), np.float32), 0)]},
     "input MASK needs an HxW array"),
    ({"IMAGE": [(frame(), 0)], "MASK": [(frame(), 0)]}, "input MASK needs a VEC32F1 image"),
    ({"IMAGE": [(frame(), 0)], "": [(RenderData((RenderAnnotation("star", (0, 0)),)), 0)]},
     "unknown annotation kind 'star'"),
    ({"IMAGE": [(frame(), 0)], "": [(RenderData((RenderAnnotation("line", (0, 0)),)), 0)]},
     "line annotation needs 4 coordinates"),
    ({"IMAGE": [(frame(), 0)], "": [("boxes", 0)]}, "render data input 0 needs RenderData"),
])
def test_bad_inputs_raise_naming_node_and_port(inputs, message):
    runner = CalculatorRunner("AnnotationOverlayCalculator", outputs=["IMAGE"])
    with pytest.raises(MediaGraphError) as info:
        runner.run(inputs)
    text = error_text(info.value)
    assert "under_test" in text and message in text


def test_options_parse_with_mediapipe_numbers():
    config = parse_config("""
        node { calculator: "AnnotationOverlayCalculator"
               input_stream: "IMAGE:in" input_stream: "r" output_stream: "IMAGE:out"
               options { [mediapipe.AnnotationOverlayCalculatorOptions.ext] {
                 canvas_width_px: 5 flip_text_vertically: true } } }""")
    ext = AnnotationOverlayCalculatorOptions.extension()
    message = config.node[0].options.Extensions[ext]
    assert AnnotationOverlayCalculatorOptions.extension_number == 250607623
    assert message.SerializeToString() == bytes([0x10, 5, 0x28, 1])


def test_overlay_in_a_graph_with_mask_and_two_render_streams():
    graph = Graph("""
        input_stream: "frames"
        input_stream: "mask"
        input_stream: "boxes"
        input_stream: "lines"
        output_stream: "annotated"
        node {
          calculator: "AnnotationOverlayCalculator"
          input_stream: "IMAGE:frames"
          input_stream: "MASK:mask"
          input_stream: "boxes"
          input_stream: "lines"
          output_stream: "IMAGE:annotated"
          options { [mediapipe.AnnotationOverlayCalculatorOptions.ext] { mask_alpha: 1.0 } }
        }""")
    mask = np.zeros((4, 4), np.float32)
    mask[:2, :2] = 1.0
    boxes = RenderData((RenderAnnotation("filled_rectangle", (0.75, 0.75, 1, 1), color=RED),))
    lines = RenderData((RenderAnnotation("line", (0, 0.6, 1, 0.6), color=BLUE),))
    result = graph.run({"frames": [(frame(), 0)], "mask": [(mask, 0)], "boxes": [(boxes, 0)],
                        "lines": [(lines, 0)]}, timeout=30)
    out = result["annotated"][0].value.data
    assert is_color(out[10, 10], GREEN) and is_color(out[90, 190], RED)
    assert is_color(out[60, 5], BLUE) and (out[10, 190] == GRAY).all()


def test_vector_of_render_data_is_drawn_like_separate_streams():
    import numpy as np

    from mediagraph.formats import Color, ImageFrame, RenderAnnotation, RenderData
    from mediagraph.testing import CalculatorRunner

    def box(left: float) -> RenderData:
        return RenderData((RenderAnnotation("filled_rectangle", (left, 0.1, left + 0.2, 0.3),
                                            Color(255, 0, 0)),))

    frame = ImageFrame(np.zeros((100, 100, 3), np.uint8))
    out = CalculatorRunner("AnnotationOverlayCalculator").run(
        {"IMAGE": [(frame, 0)], "VECTOR": [([box(0.1), box(0.6)], 0)]})
    pixels = out["IMAGE"][0].value.to_ndarray()
    assert tuple(pixels[20, 20]) == (255, 0, 0) and tuple(pixels[20, 70]) == (255, 0, 0)
    assert tuple(pixels[20, 45]) == (0, 0, 0)


SHAPES = [
    RenderAnnotation("rectangle", (0.25, 0.2, 0.75, 0.8), color=RED, thickness=4),
    RenderAnnotation("filled_rectangle", (0.0, 0.0, 0.1, 0.2), color=GREEN),
    RenderAnnotation("oval", (0.5, 0.5, 0.7, 0.9), color=BLUE, thickness=2),
    RenderAnnotation("point", (0.9, 0.1), color=RED, thickness=4),
    RenderAnnotation("line", (0.0, 0.95, 1.0, 0.95), color=GREEN, thickness=3),
    RenderAnnotation("text", (0.1, 0.5), color=BLUE, text="Hi", font_height=0.2),
]


def i420_frame(height=100, width=200):
    y, u, v = rgb_to_yuv((GRAY, GRAY, GRAY))
    planes = np.concatenate([np.full((height, width), y, np.uint8),
                             np.full((height // 4, width), u, np.uint8),
                             np.full((height // 4, width), v, np.uint8)])

    def never_rgb():
        raise AssertionError("the I420 input was converted to RGB")

    return ImageFrame.from_i420(planes, never_rgb), planes.copy()


@pytest.mark.parametrize("shape", SHAPES, ids=lambda a: a.kind)
def test_an_i420_frame_is_drawn_on_its_planes_where_rgb_would_be(shape):
    image, original = i420_frame()
    runner = CalculatorRunner("AnnotationOverlayCalculator", outputs=["IMAGE"])
    out = runner.run({"IMAGE": [(image, 0)], "": [(RenderData((shape,)), 0)]})["IMAGE"][0].value
    assert out.format == ImageFormat.YCBCR420P
    assert np.array_equal(image.data, original)  # input untouched
    y, u, v = split_i420(out.data)
    drawn_rgb = (overlay([shape]) != GRAY).any(axis=2)
    # Luma takes exactly the pixels RGB drawing would, in the colour's Y.
    assert np.array_equal(y != y[99, 0], drawn_rgb)
    color = rgb_to_yuv((shape.color.r, shape.color.g, shape.color.b))
    if shape.kind != "text":  # anti-aliased edges aside, shapes are solid
        assert (y[drawn_rgb] == color[0]).all()
    # Chroma is drawn at half size, in the colour's U and V, near where luma was.
    chroma = (u != 128) | (v != 128)
    blocks = drawn_rgb.reshape(50, 2, 100, 2).any(axis=(1, 3))  # each chroma sample's 2x2
    assert chroma.any() and blocks[chroma].mean() > 0.8
    if shape.kind in ("filled_rectangle", "point"):
        assert (u[chroma] == color[1]).all() and (v[chroma] == color[2]).all()
    # Asked for RGB, the result converts its planes (BT.601): the shape in its colour.
    if shape.kind == "filled_rectangle":
        rgb = convert(out, ImageFormat.SRGB).data
        assert np.abs(rgb[2:18, 2:18].astype(int) - (0, 255, 0)).max() <= 3


@pytest.mark.parametrize("as_annotation", [False, True])
def test_an_i420_frame_takes_masks_on_its_planes_like_rgb(as_annotation):
    image, original = i420_frame()
    mask = np.zeros((100, 200), np.float32)
    mask[:50, :101] = 1.0  # an odd right edge: chroma there blends by half
    mask[50:, 150:] = np.linspace(0, 1, 50, dtype=np.float32)[None, :]  # soft
    if as_annotation:
        inputs = {"": [(RenderData((RenderAnnotation("mask", color=GREEN, mask=mask),)), 0)]}
    else:
        inputs = {"MASK": [(mask, 0)], "": [(RenderData(()), 0)]}
    options = {"mask_alpha": 0.75}
    runner = CalculatorRunner("AnnotationOverlayCalculator", outputs=["IMAGE"], options=options)
    out = runner.run({"IMAGE": [(image, 0)], **inputs})["IMAGE"][0].value
    assert out.format == ImageFormat.YCBCR420P and np.array_equal(image.data, original)
    for got_plane, was in zip(split_i420(out.data), split_i420(original)):
        rows, cols = was.shape
        lower_left = (slice(rows // 2, rows), slice(0, cols * 3 // 4))  # where mask is 0
        assert np.array_equal(got_plane[lower_left], was[lower_left])
    rgb_frame = ImageFrame(i420_to_rgb(original))
    want = CalculatorRunner("AnnotationOverlayCalculator", outputs=["IMAGE"], options=options
                            ).run({"IMAGE": [(rgb_frame, 0)], **inputs})["IMAGE"][0].value.data
    # Compared where it ends up, in the yuv420p the encoder writes: the RGB overlay
    # subsampled (2x2 chroma averages) against the planes blended directly.
    from mediagraph.colour import rgb_to_i420

    expected = rgb_to_i420(np.ascontiguousarray(want))
    for got_plane, want_plane in zip(split_i420(out.data), split_i420(expected)):
        assert np.abs(got_plane.astype(int) - want_plane).max() <= 3
