"""ImageToTensorCalculator: letterboxing, MATRIX, ranges, rotation, MediaPipe's sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.preprocess.image_to_tensor import (
    BorderMode,
    FloatRange,
    GpuOrigin,
    ImageToTensorCalculatorOptions,
    IntRange,
    UIntRange,
)
from mediagraph import GraphConfigError, MediaGraphError, parse_config
from mediagraph.formats import ImageFormat, ImageFrame, NormalizedRect
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)

MINUS_ONE_TO_ONE = FloatRange(min=-1.0, max=1.0)
OUTPUTS = ["TENSORS", "MATRIX", "LETTERBOX_PADDING"]


def convert(image, rect=None, outputs=OUTPUTS, **options):
    options = {"output_tensor_float_range": MINUS_ONE_TO_ONE, **options}
    options = {k: v for k, v in options.items() if v is not None}  # None: leave unset
    inputs = {"IMAGE": [(ImageFrame(image), 0)]}
    if rect is not None:
        inputs["NORM_RECT"] = [(rect, 0)]
    out = CalculatorRunner("ImageToTensorCalculator", options=options,
                           outputs=list(outputs)).run(inputs)
    return {key: (packets[0].value if packets else None) for key, packets in out.items()}


def apply(matrix, x, y):
    m = np.asarray(matrix, np.float64).reshape(4, 4)
    return tuple((m @ np.array([x, y, 0.0, 1.0]))[:2])


def test_letterbox_centres_the_image_with_zero_borders():
    image = np.full((100, 200, 3), 255, np.uint8)
    out = convert(image, output_tensor_width=128, output_tensor_height=128,
                  keep_aspect_ratio=True, border_mode=BorderMode.BORDER_ZERO)
    (tensor,) = out["TENSORS"]
    assert tensor.shape == (1, 128, 128, 3) and tensor.dtype == np.float32
    assert not tensor.flags.writeable
    column = tensor[0, :, 64, 0]
    assert (column[:32] == -1.0).all() and (column[96:] == -1.0).all()  # pixel 0 -> range min
    assert (tensor[0, 32:96] == 1.0).all()
    assert out["LETTERBOX_PADDING"] == pytest.approx((0.0, 0.25, 0.0, 0.25))


def test_matrix_maps_tensor_corners_back_to_image_points():
    out = convert(np.zeros((100, 200, 3), np.uint8), output_tensor_width=128,
                  output_tensor_height=128, keep_aspect_ratio=True)
    matrix = out["MATRIX"]
    assert matrix.shape == (16,) and matrix.dtype == np.float32
    # The square tensor covers the 200x100 image plus 50 rows of padding above and below.
    assert apply(matrix, 0, 0) == pytest.approx((0.0, -0.5))
    assert apply(matrix, 1, 1) == pytest.approx((1.0, 1.5))
    assert apply(matrix, 0.5, 0.25) == pytest.approx((0.5, 0.0))
    assert apply(matrix, 0.5, 0.75) == pytest.approx((0.5, 1.0))


def test_marker_lands_where_the_matrix_says_for_a_rotated_crop():
    image = np.zeros((240, 320, 3), np.uint8)
    image[60:70, 200:210] = 255  # marker centred at (205, 65) pixels
    rect = NormalizedRect(x_center=0.55, y_center=0.4, width=0.5, height=0.6, rotation=0.5)
    out = convert(image, rect, output_tensor_width=96, output_tensor_height=96,
                  keep_aspect_ratio=True, border_mode=BorderMode.BORDER_ZERO)
    tensor = out["TENSORS"][0][0, :, :, 0]
    ys, xs = np.nonzero(tensor > 0.0)
    assert len(xs) > 0
    # Pixel centres (+0.5) in tensor-relative coordinates, through MATRIX to the image.
    x, y = apply(out["MATRIX"], (xs.mean() + 0.5) / 96, (ys.mean() + 0.5) / 96)
    assert x * 320 == pytest.approx(205, abs=1.5) and y * 240 == pytest.approx(65, abs=1.5)


def test_rotation_quarter_turn_moves_a_corner_marker():
    image = np.zeros((64, 64, 3), np.uint8)
    image[:8, :8] = 255  # top-left corner
    rect = NormalizedRect(0.5, 0.5, 1.0, 1.0, rotation=math.pi / 2)
    tensor = convert(image, rect)["TENSORS"][0][0, :, :, 0]
    ys, xs = np.nonzero(tensor > 0.0)
    # A clockwise ROI rotation shows the image turned counterclockwise: top-left ends up
    # at the bottom-left of the tensor.
    assert ys.min() > 48 and xs.max() < 16


def test_sampling_maps_corners_to_corners_and_rounds_half_up_like_mediapipe():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    out = convert(image, output_tensor_width=32, output_tensor_height=32,
                  output_tensor_uint_range=UIntRange(min=0, max=255),
                  output_tensor_float_range=None)
    tensor = out["TENSORS"][0][0].astype(np.int32)
    # MediaPipe maps the ROI's corners to the tensor's corners and samples tensor pixel
    # index x at source index x / 2 (not at pixel centres): even pixels copy the source,
    # odd ones fall halfway between two pixels, and halves round up.
    source = image.astype(np.int32)
    np.testing.assert_array_equal(tensor[::2, ::2], source)
    between = (source[:, :-1] + source[:, 1:] + 1) // 2
    np.testing.assert_array_equal(tensor[::2, 1:-1:2], between)


def integer_bilinear_reference(pixels, roi, out_width, out_height, replicate):
    """Classic OpenCV warpPerspective in plain integers (the arithmetic MediaPipe ships):
    source positions rounded to 1/32 pixel, four taps weighted in 1/1024ths, outside taps
    reading 0 (or the nearest edge pixel), the sum rounded half up."""
    import cv2

    cx, cy, w, h, rotation = roi
    corners = cv2.boxPoints(((cx, cy), (w, h), math.degrees(rotation)))
    target = np.array([[0, out_height], [0, 0], [out_width, 0], [out_width, out_height]],
                      np.float32)
    inverse = np.linalg.inv(cv2.getPerspectiveTransform(corners.astype(np.float32), target))
    ys, xs = np.mgrid[0:out_height, 0:out_width].astype(np.float64)
    source = inverse @ np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(source[2] != 0, 32 / source[2], 0.0)
    qx = np.rint(np.clip(source[0] * scale, -2**31, 2**31 - 1)).astype(np.int64)
    qy = np.rint(np.clip(source[1] * scale, -2**31, 2**31 - 1)).astype(np.int64)
    x0, ax, y0, ay = qx >> 5, qx & 31, qy >> 5, qy & 31
    height, width, channels = pixels.shape
    total = np.zeros((xs.size, channels), np.int64)
    for dy, dx, weight in ((0, 0, (32 - ax) * (32 - ay)), (0, 1, ax * (32 - ay)),
                           (1, 0, (32 - ax) * ay), (1, 1, ax * ay)):
        yi, xi = y0 + dy, x0 + dx
        inside = (yi >= 0) & (yi < height) & (xi >= 0) & (xi < width)
        value = pixels[np.clip(yi, 0, height - 1), np.clip(xi, 0, width - 1)].astype(np.int64)
        if not replicate:
            value[~inside] = 0
        total += value * weight[:, None]
    out = ((total + 512) >> 10).astype(np.uint8).reshape(out_height, out_width, channels)
    return out if channels == 1 else out[:, :, :3]


def test_warp_matches_the_integer_reference_on_random_rois():
    from mediagraph.calculators.preprocess.image_to_tensor import warp_roi

    rng = np.random.default_rng(3)
    for trial in range(60):
        height, width = (int(v) for v in rng.integers(10, 300, 2))
        channels = int(rng.choice([1, 3, 4]))
        image = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
        roi = (rng.uniform(-0.2, 1.2) * width, rng.uniform(-0.2, 1.2) * height,
               rng.uniform(0.1, 1.5) * width, rng.uniform(0.1, 1.5) * height,
               rng.uniform(-3.2, 3.2) if trial % 2 else 0.0)
        out_w, out_h = (int(v) for v in rng.integers(4, 160, 2))
        replicate = trial % 3 == 0
        np.testing.assert_array_equal(
            warp_roi(image, roi, out_w, out_h, replicate),
            integer_bilinear_reference(image, roi, out_w, out_h, replicate),
            err_msg=f"trial {trial}: {image.shape} roi {roi} -> {out_w}x{out_h}")


@pytest.mark.parametrize("range_option, dtype, low, high", [
    ({"output_tensor_float_range": FloatRange(min=0.0, max=1.0)}, np.float32, 0.0, 1.0),
    ({"output_tensor_int_range": IntRange(min=-128, max=127)}, np.int8, -128, 127),
    ({"output_tensor_uint_range": UIntRange(min=0, max=255)}, np.uint8, 0, 255),
])
def test_output_ranges_set_type_and_scale(range_option, dtype, low, high):
    image = np.zeros((4, 4, 3), np.uint8)
    image[:, 2:] = 255
    options = {"output_tensor_float_range": None, **range_option}
    tensor = convert(image, **options)["TENSORS"][0]
    assert tensor.dtype == dtype and tensor.shape == (1, 4, 4, 3)
    assert tensor[0, 0, 0, 0] == low and tensor[0, 0, 3, 0] == high


def test_replicate_border_copies_edge_pixels():
    image = np.full((50, 100, 3), 200, np.uint8)
    out = convert(image, output_tensor_width=64, output_tensor_height=64,
                  keep_aspect_ratio=True, border_mode=BorderMode.BORDER_REPLICATE,
                  output_tensor_uint_range=UIntRange(min=0, max=255),
                  output_tensor_float_range=None)
    assert (out["TENSORS"][0] == 200).all()


def test_gray_and_rgba_inputs():
    gray = convert(np.full((8, 8, 1), 255, np.uint8))["TENSORS"][0]
    assert gray.shape == (1, 8, 8, 1) and (gray == 1.0).all()
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 3] = 255
    tensor = convert(rgba)["TENSORS"][0]
    assert tensor.shape == (1, 8, 8, 3) and (tensor == -1.0).all()


def test_tensor_output_carries_the_array_alone():
    out = convert(np.zeros((8, 8, 3), np.uint8), outputs=["TENSOR"])
    assert out["TENSOR"].shape == (1, 8, 8, 3)


def test_absent_or_sentinel_rect_sends_nothing():
    runner = CalculatorRunner("ImageToTensorCalculator",
                              options={"output_tensor_float_range": MINUS_ONE_TO_ONE},
                              outputs=["TENSORS"])
    frame = ImageFrame(np.zeros((8, 8, 3), np.uint8))
    out = runner.run({"IMAGE": [(frame, 0), (frame, 1), (frame, 2)],
                      "NORM_RECT": [(NormalizedRect(0.5, 0.5, 0.0, 0.0), 0),
                                    (NormalizedRect(0.5, 0.5, 1.0, 1.0), 2)]})
    assert [int(p.timestamp) for p in out["TENSORS"]] == [2]


@pytest.mark.parametrize("options, message", [
    ({"output_tensor_float_range": None}, "exactly one"),
    ({"output_tensor_int_range": IntRange(min=0, max=255)}, "exactly one"),
    ({"output_tensor_float_range": FloatRange(min=1.0, max=1.0)}, "min < max"),
    ({"output_tensor_width": -4}, "positive"),
])
def test_invalid_options_raise_at_validation(options, message):
    with pytest.raises(GraphConfigError, match=message):
        convert(np.zeros((8, 8, 3), np.uint8), **options)


def test_unsupported_format_raises():
    with pytest.raises(MediaGraphError, match="SRGB"):
        convert(np.zeros((8, 8, 1), np.float32))


def test_bad_rect_raises():
    with pytest.raises(MediaGraphError, match="width and height"):
        convert(np.zeros((8, 8, 3), np.uint8), NormalizedRect(0.5, 0.5, -1.0, 0.5))


def test_mediapipe_face_detection_options_parse():
    config = parse_config("""
        node { calculator: "ImageToTensorCalculator"
               input_stream: "IMAGE:image" output_stream: "TENSORS:t"
               options { [mediapipe.ImageToTensorCalculatorOptions.ext] {
                 output_tensor_width: 128 output_tensor_height: 128
                 keep_aspect_ratio: true
                 output_tensor_float_range { min: -1.0 max: 1.0 }
                 border_mode: BORDER_ZERO gpu_origin: TOP_LEFT } } }""")
    message = config.node[0].options.Extensions[ImageToTensorCalculatorOptions.extension()]
    options = ImageToTensorCalculatorOptions.from_message(message)
    assert ImageToTensorCalculatorOptions.extension_number == 334361939
    assert options.output_tensor_float_range == MINUS_ONE_TO_ONE
    assert options.gpu_origin == GpuOrigin.TOP_LEFT
    assert options.border_mode == BorderMode.BORDER_ZERO
    assert options.output_tensor_int_range is None
    assert ImageFormat.SRGB  # the formats the calculator takes are MediaPipe's


def _i420_pair():
    """A real photo frame as I420 planes, and swscale's RGB of those planes."""
    av = pytest.importorskip("av")
    from mediagraph.testing import samples

    rgb = samples.face_frame_fn()(10, 30, 640, 480)
    planes = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    planes = planes.to_ndarray()
    back = av.VideoFrame.from_ndarray(planes, format="yuv420p").to_ndarray(format="rgb24")
    return planes, back


def _never_rgb():
    raise AssertionError("the I420 frame was converted to RGB")


@pytest.mark.parametrize("rect, border", [
    (None, BorderMode.BORDER_ZERO),
    (None, BorderMode.BORDER_REPLICATE),
])
def test_an_i420_frame_is_sampled_from_its_planes_like_its_rgb(rect, border):
    planes, rgb = _i420_pair()
    options = dict(output_tensor_width=128, output_tensor_height=128, keep_aspect_ratio=True,
                   border_mode=border, output_tensor_uint_range=UIntRange(min=0, max=255),
                   output_tensor_float_range=None)
    inputs = {"IMAGE": [(ImageFrame.from_i420(planes, _never_rgb), 0)]}
    if rect is not None:
        inputs["NORM_RECT"] = [(rect, 0)]
    out = CalculatorRunner("ImageToTensorCalculator", outputs=OUTPUTS,
                           options={k: v for k, v in options.items() if v is not None}
                           ).run(inputs)
    from_planes = out["TENSORS"][0].value[0][0].astype(int)
    expected = convert(rgb, rect, **options)
    from_rgb = expected["TENSORS"][0].astype(int)[0]
    difference = np.abs(from_planes - from_rgb)
    # Interpolating YUV then converting vs converting then interpolating: rounding, and
    # chroma edges (each chroma sample covers 2x2 pixels) a few levels apart.
    assert difference.mean() < 1.5 and np.percentile(difference, 99) <= 6
    assert np.array_equal(out["MATRIX"][0].value, expected["MATRIX"])
    if border == BorderMode.BORDER_ZERO and rect is None:
        assert (from_planes[:16] == 0).all() and (from_planes[-16:] == 0).all()  # black


@pytest.mark.parametrize("rect, border", [
    (NormalizedRect(x_center=0.45, y_center=0.4, width=0.3, height=0.5, rotation=0.6), None),
    (NormalizedRect(x_center=0.2, y_center=0.8, width=0.5, height=0.6, rotation=-2.0),
     BorderMode.BORDER_ZERO),
])
def test_an_i420_frame_cropped_by_a_roi_is_its_rgb_converted_once(rect, border):
    # A moving ROI needs new maps every frame: one map over the frame's RGB (the
    # decoder's own conversion, made once per frame whoever crops it) beats two over the
    # planes, and is exactly what MediaPipe crops.
    planes, rgb = _i420_pair()
    calls = []

    def rgb_once():
        calls.append(1)
        return rgb

    options = dict(output_tensor_width=128, output_tensor_height=128, keep_aspect_ratio=True,
                   border_mode=border, output_tensor_uint_range=UIntRange(min=0, max=255),
                   output_tensor_float_range=None)
    frame = ImageFrame.from_i420(planes, rgb_once)
    inputs = {"IMAGE": [(frame, 0)], "NORM_RECT": [(rect, 0)]}
    for _ in range(2):  # two nodes cropping the same frame
        out = CalculatorRunner("ImageToTensorCalculator", outputs=OUTPUTS,
                               options={k: v for k, v in options.items() if v is not None}
                               ).run(inputs)
    expected = convert(rgb, rect, **options)
    assert np.array_equal(out["TENSORS"][0].value[0], expected["TENSORS"][0])
    assert calls == [1]
