"""BackgroundBlurCalculator: foreground pixels kept exactly, background ones blurred."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.render.background_blur import BackgroundBlurCalculatorOptions
from mediagraph import MediaGraphError, parse_config
from mediagraph.formats import ImageFormat, ImageFrame
from mediagraph.testing import CalculatorRunner, timestamps
from tests.calculators.preprocess._helpers import error_text

pytestmark = pytest.mark.timeout(60)


def checkerboard(height=60, width=80, fmt=ImageFormat.SRGB) -> ImageFrame:
    """Sharp 2-pixel squares: any blur turns them grey."""
    yy, xx = np.mgrid[:height, :width]
    board = np.where((yy // 2 + xx // 2) % 2 == 0, 255, 0).astype(np.uint8)
    pixels = np.repeat(board[:, :, np.newaxis], fmt.channels, axis=2)
    return ImageFrame(np.ascontiguousarray(pixels), fmt)


def is_blurred(region: np.ndarray) -> bool:
    """The checkerboard averaged to grey, away from the mask's edge and the frame's border."""
    inner = region[10:-10, 10:-10].astype(int)
    return bool(np.abs(inner - 127).max() < 30)


def left_half_mask(height=60, width=80) -> np.ndarray:
    mask = np.zeros((height, width), np.float32)
    mask[:, : width // 2] = 1.0
    return mask


def blur(image, mask, **options):
    opts = BackgroundBlurCalculatorOptions.from_dict(options) if options else None
    runner = CalculatorRunner("BackgroundBlurCalculator", options=opts, outputs=["IMAGE"])
    return runner.run({"IMAGE": [(image, 0)], "MASK": [(mask, 0)]})["IMAGE"][0].value


@pytest.mark.parametrize("fmt", [ImageFormat.SRGB, ImageFormat.SRGBA, ImageFormat.GRAY8])
def test_foreground_is_kept_and_background_blurred(fmt):
    image = checkerboard(fmt=fmt)
    mask = ImageFrame(left_half_mask(), ImageFormat.VEC32F1)
    out = blur(image, mask)
    assert out.format == fmt and out.shape == image.shape
    np.testing.assert_array_equal(out.data[:, :40], image.data[:, :40])
    assert is_blurred(out.data[:, 40:])


def test_a_mask_of_another_size_is_resized_to_the_image():
    image = checkerboard()
    small = left_half_mask(15, 20)  # a plain HxW float array works too
    out = blur(image, small).data
    np.testing.assert_array_equal(out[:, :36], image.data[:, :36])
    assert is_blurred(out[:, 40:])


def test_a_soft_mask_blends_and_a_threshold_cuts():
    image = checkerboard()
    half = np.full((60, 80), 0.5, np.float32)
    soft = blur(image, half).data.astype(int)
    blurred = blur(image, np.zeros((60, 80), np.float32)).data.astype(int)
    expected = (image.data.astype(int) + blurred) / 2
    assert np.abs(soft - expected).max() <= 1
    np.testing.assert_array_equal(blur(image, half, mask_threshold=0.4).data, image.data)
    np.testing.assert_array_equal(blur(image, half, mask_threshold=0.6).data, blurred)


def test_invert_mask_blurs_the_foreground_instead():
    image = checkerboard()
    out = blur(image, left_half_mask(), invert_mask=True).data
    np.testing.assert_array_equal(out[:, 45:], image.data[:, 45:])
    assert is_blurred(out[:, :40])


def test_a_frame_without_a_mask_passes_through():
    image = checkerboard()
    runner = CalculatorRunner("BackgroundBlurCalculator", outputs=["IMAGE"])
    out = runner.run({"IMAGE": [(image, 0), (image, 1)], "MASK": [(left_half_mask(), 1)]})
    assert timestamps(out["IMAGE"]) == [0, 1]
    assert out["IMAGE"][0].value is image


@pytest.mark.parametrize("mask, message", [
    (ImageFrame(np.zeros((4, 4, 3), np.uint8)), "VEC32F1"),
    ("mask", "str"),
    (np.zeros((4, 4, 2), np.float32), "HxW"),
], ids=["wrong_format", "wrong_type", "wrong_shape"])
def test_bad_masks_raise_naming_node_and_port(mask, message):
    with pytest.raises(MediaGraphError) as info:
        blur(checkerboard(), mask)
    text = error_text(info.value)
    assert "under_test" in text and "MASK" in text and message in text


def test_options_parse_from_text():
    config = parse_config("""
        input_stream: "i" input_stream: "m"
        node { calculator: "BackgroundBlurCalculator"
               input_stream: "IMAGE:i" input_stream: "MASK:m" output_stream: "IMAGE:o"
               options { [mediagraph.BackgroundBlurCalculatorOptions.ext] {
                 blur_radius: 7 mask_threshold: 0.5 } } }
    """)
    message = config.node[0].options.Extensions[BackgroundBlurCalculatorOptions.extension()]
    assert message.blur_radius == 7 and message.mask_threshold == 0.5


@pytest.mark.parametrize("options", [{}, {"blur_radius": 4, "invert_mask": True},
                                     {"blur_radius": 1, "mask_threshold": 0.5},
                                     {"blur_radius": 0}])
def test_an_i420_frame_is_blurred_on_its_planes_like_rgb(options):
    # Compared where it ends up, in the yuv420p the encoder writes: the RGB result
    # subsampled against the planes blurred and blended directly.
    av = pytest.importorskip("av")
    import cv2

    from mediagraph.colour import rgb_to_i420
    from mediagraph.calculators.render.background_blur import blur_background
    from mediagraph.testing import samples
    from mediagraph.formats import split_i420

    photo = samples.face_frame_fn()(10, 30, 320, 240)
    planes = av.VideoFrame.from_ndarray(photo, format="rgb24").reformat(format="yuv420p")
    planes = planes.to_ndarray()
    rgb = av.VideoFrame.from_ndarray(planes, format="yuv420p").to_ndarray(format="rgb24")
    mask = np.zeros((240, 320), np.float32)
    mask[50:200, 100:225] = 1.0
    mask = cv2.GaussianBlur(mask, (15, 15), 0)

    def never_rgb():
        raise AssertionError("the I420 frame was converted to RGB")

    runner = CalculatorRunner("BackgroundBlurCalculator", options=options, outputs=["IMAGE"])
    out = runner.run({"IMAGE": [(ImageFrame.from_i420(planes, never_rgb), 0)],
                      "MASK": [(mask, 0)]})["IMAGE"][0].value
    assert out.format == ImageFormat.YCBCR420P
    if options.get("blur_radius", 15) == 0:  # nothing to blur: the planes as they were
        assert np.array_equal(out.data, planes)
        return
    opts = BackgroundBlurCalculatorOptions.from_dict(options)
    expected = rgb_to_i420(blur_background(rgb, mask, opts))
    for got, want in zip(split_i420(out.data), split_i420(expected)):
        difference = np.abs(got.astype(int) - want)
        assert difference.max() <= 6 and difference.mean() < 1.0
    assert not np.array_equal(out.data, planes)  # something was blurred
