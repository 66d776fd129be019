"""RecolorCalculator against pixels computed by hand from MediaPipe's CPU formula:
w = mask (inverted, times luminance as set); out = round(in * (1 - w)) + round(color * w)."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph as mg
import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.render._color import ColorOption
from mediagraph.colour import convert
from mediagraph.formats import ImageFormat, ImageFrame
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)

BLUE = ColorOption(r=0, g=0, b=255)


def recolor(image, mask=None, **options):
    runner = CalculatorRunner("RecolorCalculator", options={"color": BLUE, **options})
    inputs = {"IMAGE": [(image, 0)]}
    if mask is not None:
        inputs["MASK"] = [(mask, 0)]
    return runner.run(inputs)["IMAGE"][0].value


def vec32(values) -> ImageFrame:
    return ImageFrame(np.asarray(values, np.float32)[:, :, None], ImageFormat.VEC32F1)


def test_float_mask_without_luminance_is_a_plain_mix():
    image = ImageFrame(np.array([[[100, 50, 200], [10, 20, 30]]], np.uint8))
    out = recolor(image, vec32([[0.25, 1.0]]), adjust_with_luminance=False)
    # (100, 50, 200) * 0.75 = (75, 37.5, 150) -> (75, 38, 150); blue * 0.25 = 63.75 -> 64
    assert out.data.tolist() == [[[75, 38, 150 + 64], [0, 0, 255]]]


def test_luminance_scales_the_weight():
    image = ImageFrame(np.array([[[200, 100, 50]]], np.uint8))
    out = recolor(image, vec32([[0.5]]), adjust_with_luminance=True)
    lum = (200 * 0.299 + 100 * 0.587 + 50 * 0.114) / 255      # 0.41686...
    w = 0.5 * lum
    expected = [round(c * (1 - w)) + (round(255 * w) if i == 2 else 0)
                for i, c in enumerate((200, 100, 50))]
    assert out.data[0, 0].tolist() == expected


def test_invert_mask_paints_where_the_mask_is_zero():
    image = ImageFrame(np.full((1, 2, 3), 120, np.uint8))
    out = recolor(image, vec32([[0.0, 1.0]]), invert_mask=True, adjust_with_luminance=False)
    assert out.data.tolist() == [[[0, 0, 255], [120, 120, 120]]]


def test_an_8bit_mask_counts_over_255_and_alpha_picks_channel_3():
    image = ImageFrame(np.full((1, 1, 3), 200, np.uint8))
    gray = ImageFrame(np.full((1, 1, 1), 51, np.uint8), ImageFormat.GRAY8)     # 0.2
    assert recolor(image, gray, adjust_with_luminance=False).data[0, 0].tolist() == [160, 160, 211]
    rgba = ImageFrame(np.array([[[0, 0, 0, 255]]], np.uint8), ImageFormat.SRGBA)
    assert recolor(image, rgba, adjust_with_luminance=False,
                   mask_channel="ALPHA").data[0, 0].tolist() == [0, 0, 255]
    assert recolor(image, rgba, adjust_with_luminance=False,
                   mask_channel="RED").data[0, 0].tolist() == [200, 200, 200]


def test_a_small_mask_is_resized_bilinearly_to_the_image():
    image = ImageFrame(np.zeros((4, 4, 3), np.uint8))
    out = recolor(image, vec32([[0.0, 1.0], [0.0, 1.0]]), adjust_with_luminance=False)
    blue = out.data[:, :, 2]
    assert blue[:, 0].tolist() == [0] * 4 and blue[:, 3].tolist() == [255] * 4
    assert 0 < blue[0, 1] < blue[0, 2] < 255


def test_no_mask_passes_the_image_on_unchanged():
    image = ImageFrame(np.full((2, 2, 3), 7, np.uint8))
    mask = vec32([[1.0, 1.0], [1.0, 1.0]])
    runner = CalculatorRunner("RecolorCalculator", options={"color": BLUE})
    out = runner.run({"IMAGE": [(image, 0), (image, 1)], "MASK": [(mask, 1)]})["IMAGE"]
    assert out[0].value is image and out[1].value is not image


def test_rgba_keeps_its_alpha():
    image = ImageFrame(np.array([[[100, 100, 100, 42]]], np.uint8), ImageFormat.SRGBA)
    out = recolor(image, vec32([[1.0]]), adjust_with_luminance=False)
    assert out.format == ImageFormat.SRGBA and out.data[0, 0].tolist() == [0, 0, 255, 42]


def test_planar_frames_are_blended_on_their_planes_like_rgb():
    rng = np.random.default_rng(0)
    rgb = ImageFrame(rng.integers(30, 220, (16, 16, 3), dtype=np.uint8))
    planar = convert(rgb, ImageFormat.YCBCR420P)
    mask = vec32(np.tile(np.linspace(0, 1, 16, dtype=np.float32), (16, 1)))
    for luminance in (False, True):
        out = recolor(planar, mask, adjust_with_luminance=luminance)
        assert out.format == ImageFormat.YCBCR420P
        want = recolor(convert(planar, ImageFormat.SRGB), mask, adjust_with_luminance=luminance)
        got = convert(out, ImageFormat.SRGB).data.astype(int)
        assert np.abs(got - want.data.astype(int)).mean() < 6


def test_a_config_without_color_is_refused_at_validation():
    with pytest.raises(mg.GraphConfigError, match="color is required"):
        mg.Graph('input_stream: "i" input_stream: "m" node { calculator: "RecolorCalculator" '
                 'input_stream: "IMAGE:i" input_stream: "MASK:m" output_stream: "IMAGE:o" }')


def test_mediapipe_pose_renderer_options_parse():
    graph = mg.Graph("""
      input_stream: "i" input_stream: "m"
      node { calculator: "RecolorCalculator" input_stream: "IMAGE:i" input_stream: "MASK:m"
             output_stream: "IMAGE:o"
             node_options: { [type.googleapis.com/mediapipe.RecolorCalculatorOptions] {
               color { r: 0 g: 0 b: 255 } mask_channel: RED invert_mask: true
               adjust_with_luminance: false } } }""")
    assert graph.spec.nodes
