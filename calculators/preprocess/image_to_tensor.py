"""ImageToTensorCalculator: crop, rotate, letterbox and normalize an image into a model input."""

from __future__ import annotations

import enum
import functools
import math

import numpy as np

from mediagraph.calculators._images import expect_image
from mediagraph import Calculator, CalculatorContext, Input, Options, Output, at_least_one, option
from mediagraph.colour import convert, yuv_to_rgb_pixels
from mediagraph.formats import ImageFormat, ImageFrame, NormalizedRect, split_i420

_SAMPLED = (ImageFormat.SRGB, ImageFormat.SRGBA, ImageFormat.GRAY8, ImageFormat.YCBCR420P)


class GpuOrigin(enum.IntEnum):
    """MediaPipe's `GpuOrigin.Mode` (accepted and ignored: this calculator runs on CPU)."""

    DEFAULT = 0
    CONVENTIONAL = 1
    TOP_LEFT = 2


class BorderMode(enum.IntEnum):
    """`ImageToTensorCalculatorOptions.BorderMode`; UNSPECIFIED replicates, as in MediaPipe."""

    BORDER_UNSPECIFIED = 0
    BORDER_ZERO = 1
    BORDER_REPLICATE = 2


class FloatRange(Options, proto_name="mediapipe.ImageToTensorCalculatorOptions_FloatRange"):
    min: float = option(1, default=0.0)
    max: float = option(2, default=0.0)


class IntRange(Options, proto_name="mediapipe.ImageToTensorCalculatorOptions_IntRange"):
    min: int = option(1, default=0, proto="int64")
    max: int = option(2, default=0, proto="int64")


class UIntRange(Options, proto_name="mediapipe.ImageToTensorCalculatorOptions_UIntRange"):
    min: int = option(1, default=0, proto="uint64")
    max: int = option(2, default=0, proto="uint64")


class ImageToTensorCalculatorOptions(
        Options, proto_name="mediapipe.ImageToTensorCalculatorOptions", extension=334361939):
    """MediaPipe's `image_to_tensor_calculator.proto`; set exactly one of the three ranges."""

    output_tensor_width: int | None = option(1, default=None, proto="int32",
                                             doc="unset: the image width")
    output_tensor_height: int | None = option(2, default=None, proto="int32")
    keep_aspect_ratio: bool = option(3, default=False)
    output_tensor_float_range: FloatRange = option(4, default=None)
    gpu_origin: GpuOrigin = option(5, default=GpuOrigin.DEFAULT)
    border_mode: BorderMode = option(6, default=BorderMode.BORDER_UNSPECIFIED)
    output_tensor_int_range: IntRange = option(7, default=None)
    output_tensor_uint_range: UIntRange = option(8, default=None)

    def check(self) -> None:
        ranges = [r for r in (self.output_tensor_float_range, self.output_tensor_int_range,
                              self.output_tensor_uint_range) if r is not None]
        if len(ranges) != 1:
            raise ValueError("set exactly one of output_tensor_float_range, "
                             "output_tensor_int_range and output_tensor_uint_range")
        low, high = float(ranges[0].min), float(ranges[0].max)
        if not low < high:
            raise ValueError(f"output tensor range needs min < max, got [{low}, {high}]")
        for name in ("output_tensor_width", "output_tensor_height"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")


class ImageToTensorCalculator(Calculator):
    """Sample a (rotated) region of an image into a 1xHxWxC tensor, as MediaPipe's CPU path.

    The region is NORM_RECT (centre, size and clockwise rotation, relative to the image)
    or the whole image. With `keep_aspect_ratio` the region grows along one axis to the
    tensor's aspect ratio, so the image lands letterboxed in the tensor, the rest being
    filled per `border_mode` (zero pixels, or replicated edges when unspecified). The
    region's corners map to the tensor's corners and pixels are sampled bilinearly in 8
    bits exactly as MediaPipe's OpenCV path does (see `warp_roi`), then scaled from
    [0, 255] to the output range: float32 for `output_tensor_float_range`, int8 or uint8
    for the int/uint ranges. Checked against MediaPipe 0.10.14: identical tensors for
    whole-image letterboxing; a rotated NORM_RECT differs in a handful of values (of
    49152) where a sample position falls on a rounding tie.

    MATRIX maps tensor-relative coordinates (0..1 across the tensor) to image-relative
    ones, so DetectionProjectionCalculator takes detections back to the image with it.
    LETTERBOX_PADDING is the padding on each side, relative to the tensor size.
    A NORM_RECT that is connected but absent, or has zero width and height (MediaPipe's
    sentinel), produces no output at that timestamp.

    A YCBCR420P frame (a decoded video frame) is sampled from
    its planes (`warp_roi_i420`) and never converted whole: the tensor is the RGB one
    up to rounding (mean difference about one level in 255).

    Inputs:  IMAGE (ImageFrame SRGB, SRGBA, GRAY8 or YCBCR420P);
             NORM_RECT (NormalizedRect, optional)
    Outputs: TENSORS (list with one read-only 1xHxWxC array; C is 1 for GRAY8, else 3) or
             TENSOR (the array alone); MATRIX (float32 array of 16, row-major 4x4,
             optional); LETTERBOX_PADDING ((left, top, right, bottom), optional)
    Options: ImageToTensorCalculatorOptions (ext 334361939): output_tensor_width,
             output_tensor_height, keep_aspect_ratio, output_tensor_float_range {min max} |
             output_tensor_int_range | output_tensor_uint_range, border_mode, gpu_origin
             (ignored on CPU)

    Example config:
        node {
          calculator: "ImageToTensorCalculator"
          input_stream: "IMAGE:image"
          output_stream: "TENSORS:input_tensors"
          output_stream: "MATRIX:transform_matrix"
          options { [mediapipe.ImageToTensorCalculatorOptions.ext] {
            output_tensor_width: 128 output_tensor_height: 128
            keep_aspect_ratio: true
            output_tensor_float_range { min: -1.0 max: 1.0 }
            border_mode: BORDER_ZERO } }
        }
    """

    Options = ImageToTensorCalculatorOptions

    image = Input(ImageFrame, formats=_SAMPLED)
    norm_rect = Input(NormalizedRect, tag="NORM_RECT", optional=True)
    tensors = Output(list, optional=True)
    tensor = Output(np.ndarray, optional=True)
    matrix = Output(np.ndarray, optional=True)
    letterbox_padding = Output(tuple, tag="LETTERBOX_PADDING", optional=True)
    groups = (at_least_one(tensors, tensor, message="connect TENSORS or TENSOR"),)

    def open(self, cc: CalculatorContext) -> None:
        opts: ImageToTensorCalculatorOptions = self.options
        span = next(r for r in (opts.output_tensor_float_range, opts.output_tensor_int_range,
                                opts.output_tensor_uint_range) if r is not None)
        low, high = float(span.min), float(span.max)
        if opts.output_tensor_float_range is not None:
            self._dtype = np.dtype(np.float32)
        else:
            self._dtype = np.dtype(np.int8 if low < 0 else np.uint8)
        self._scale = (high - low) / 255.0
        self._offset = low

    def process(self, cc: CalculatorContext) -> None:
        frame = cc.get(self.image)
        if frame is None:
            return
        rect = None
        if cc.connected(self.norm_rect):
            rect = cc.get(self.norm_rect)
            if rect is None or (rect.width == 0 and rect.height == 0):
                return
        frame = expect_image(frame, "IMAGE", _SAMPLED)
        opts: ImageToTensorCalculatorOptions = self.options
        roi = region_of_interest(frame.width, frame.height, rect)
        out_w = opts.output_tensor_width or frame.width
        out_h = opts.output_tensor_height or frame.height
        roi, padding = pad_roi(out_w, out_h, opts.keep_aspect_ratio, roi)
        cc.send(self.letterbox_padding, padding)
        if cc.connected(self.matrix):
            matrix = roi_to_image_matrix(roi, frame.width, frame.height)
            matrix.flags.writeable = False
            cc.send(self.matrix, matrix)
        replicate = opts.border_mode != BorderMode.BORDER_ZERO
        if frame.format == ImageFormat.YCBCR420P:
            if rect is None:
                # The whole frame, every frame: the planes' maps are computed once, and
                # no frame-sized RGB is made.
                pixels = warp_roi_i420(frame.data, roi, out_w, out_h, replicate)
            else:
                # A ROI moves each frame, so its maps are new each time: one map over the
                # frame's RGB (converted once per frame, shared by every node that crops
                # it) costs half what the three planes' two maps do.
                pixels = warp_roi(convert(frame, ImageFormat.SRGB).data, roi, out_w, out_h,
                                  replicate)
        else:
            pixels = warp_roi(frame.data, roi, out_w, out_h, replicate)
        tensor = self._normalize(pixels)[np.newaxis]
        tensor.flags.writeable = False
        cc.send(self.tensors, [tensor])
        cc.send(self.tensor, tensor)

    def _normalize(self, pixels: np.ndarray) -> np.ndarray:
        if self._dtype == np.float32:
            values = pixels.astype(np.float32)
            values *= np.float32(self._scale)
            values += np.float32(self._offset)
            return values
        info = np.iinfo(self._dtype)
        values = np.rint(pixels.astype(np.float32) * np.float32(self._scale)
                         + np.float32(self._offset))
        return np.clip(values, info.min, info.max).astype(self._dtype)


# -- MediaPipe's image_to_tensor_utils, in pixels ----------------------------------------


def region_of_interest(width: int, height: int, rect: NormalizedRect | None
                       ) -> tuple[float, float, float, float, float]:
    """(center_x, center_y, width, height, rotation) in pixels: `rect` or the whole image."""
    if rect is None:
        return 0.5 * width, 0.5 * height, float(width), float(height), 0.0
    roi = (rect.x_center * width, rect.y_center * height, rect.width * width,
           rect.height * height, rect.rotation)
    if any(math.isnan(v) for v in roi):
        raise ValueError(f"NORM_RECT contains NaN: {rect}")
    if roi[2] <= 0 or roi[3] <= 0:
        raise ValueError(f"NORM_RECT width and height must be > 0: {rect}")
    return roi


def pad_roi(tensor_width: int, tensor_height: int, keep_aspect_ratio: bool,
            roi: tuple[float, float, float, float, float]
            ) -> tuple[tuple[float, float, float, float, float], tuple[float, float, float, float]]:
    """The ROI grown to the tensor's aspect ratio, and the (l, t, r, b) letterbox padding."""
    if not keep_aspect_ratio:
        return roi, (0.0, 0.0, 0.0, 0.0)
    cx, cy, w, h, rotation = roi
    tensor_ratio = tensor_height / tensor_width
    roi_ratio = h / w
    if tensor_ratio > roi_ratio:
        vertical = (1.0 - roi_ratio / tensor_ratio) / 2.0
        return (cx, cy, w, w * tensor_ratio, rotation), (0.0, vertical, 0.0, vertical)
    horizontal = (1.0 - tensor_ratio / roi_ratio) / 2.0
    return (cx, cy, h / tensor_ratio, h, rotation), (horizontal, 0.0, horizontal, 0.0)


def roi_to_image_matrix(roi: tuple[float, float, float, float, float], image_width: int,
                        image_height: int) -> np.ndarray:
    """Row-major 4x4 (float32[16]) taking ROI-relative points to image-relative points.

    MediaPipe's GetRotatedSubRectToRectTransformMatrix without flip: shift to the ROI's
    centre, scale by its size, rotate, translate to its centre, normalize by the image.
    """
    cx, cy, a, b, rotation = roi
    c, d = math.cos(rotation), math.sin(rotation)
    g, h = 1.0 / image_width, 1.0 / image_height
    return np.array([
        a * c * g, -b * d * g, 0.0, (-0.5 * a * c + 0.5 * b * d + cx) * g,
        a * d * h, b * c * h, 0.0, (-0.5 * b * c - 0.5 * a * d + cy) * h,
        0.0, 0.0, a * g, 0.0,
        0.0, 0.0, 0.0, 1.0], dtype=np.float32)


def warp_roi(pixels: np.ndarray, roi: tuple[float, float, float, float, float],
             out_width: int, out_height: int, replicate: bool) -> np.ndarray:
    """The ROI resampled to out_height x out_width x C (C = 3, or 1 for one channel).

    As MediaPipe's OpenCV converter: the ROI's corners (cv::boxPoints of the rotated rect)
    go to the tensor's corners (0, H), (0, 0), (W, 0), (W, H), and each tensor pixel is
    sampled bilinearly in 8 bits, alpha dropped afterwards. The sampling reproduces the
    classic OpenCV `warpPerspective` fixed-point path MediaPipe ships with (source
    positions rounded to 1/32 pixel, weights summed in integers, halves rounded up):
    OpenCV 4.11+/5's vectorized warps round differently, which moved about 1% of the
    tensor values of a letterboxed image by one level.

    That path is `remap` with fixed-point maps, which OpenCV still runs unchanged (and
    without the GIL): the maps depend only on the ROI, the sizes and the border mode, so
    they are computed once and reused while those stay the same (a video's frames).
    """
    height, width, channels = pixels.shape
    xy, fraction = _remap_maps(tuple(float(v) for v in roi), out_width, out_height)
    import cv2

    warped = cv2.remap(pixels, xy, fraction, cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE if replicate else cv2.BORDER_CONSTANT,
                       borderValue=0)
    if warped.ndim == 2:
        return warped[:, :, np.newaxis]
    return warped if channels <= 3 else warped[:, :, :3]


def warp_roi_i420(planes: np.ndarray, roi: tuple[float, float, float, float, float],
                  out_width: int, out_height: int, replicate: bool) -> np.ndarray:
    """`warp_roi` of the RGB image behind YUV 4:2:0 `planes`, without converting it all.

    Each plane is sampled as `warp_roi` samples RGB (the chroma planes at half scale,
    each chroma sample centred on its 2x2 pixels), then only the out_height x out_width
    result is converted (BT.601). The conversion is affine, so this is the RGB warp up
    to rounding: a zero border is black in YUV (16, 128, 128) and blends the same.
    """
    import cv2

    luma, cb, cr = split_i420(planes)
    border = cv2.BORDER_REPLICATE if replicate else cv2.BORDER_CONSTANT
    (xy, fraction), (xy_c, fraction_c) = _remap_maps_i420(tuple(float(v) for v in roi),
                                                          out_width, out_height)
    y = cv2.remap(luma, xy, fraction, cv2.INTER_LINEAR, borderMode=border, borderValue=16)
    u = cv2.remap(cb, xy_c, fraction_c, cv2.INTER_LINEAR, borderMode=border, borderValue=128)
    v = cv2.remap(cr, xy_c, fraction_c, cv2.INTER_LINEAR, borderMode=border, borderValue=128)
    return yuv_to_rgb_pixels(cv2.merge([y, u, v]))


@functools.lru_cache(maxsize=16)
def _remap_maps(roi: tuple[float, float, float, float, float], out_width: int,
                out_height: int) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV's fixed-point remap maps of the ROI: integer source positions (int16 x, y)
    and the 1/32-pixel fractions as one table index (uint16, y_frac * 32 + x_frac)."""
    return _quantized(_source_positions(roi, out_width, out_height))


@functools.lru_cache(maxsize=16)
def _remap_maps_i420(roi: tuple[float, float, float, float, float], out_width: int,
                     out_height: int) -> tuple[tuple[np.ndarray, np.ndarray],
                                               tuple[np.ndarray, np.ndarray]]:
    """The luma maps, and the chroma planes' from the same positions: chroma sample i
    sits at luma (2i + 0.5), so a luma position X is chroma position (X - 0.5) / 2."""
    positions = _source_positions(roi, out_width, out_height)
    chroma = _quantized((positions - _TAB_SIZE / 2) / 2)  # before positions round in place
    return _quantized(positions), chroma


def _source_positions(roi: tuple[float, float, float, float, float], out_width: int,
                      out_height: int) -> np.ndarray:
    """Each tensor pixel's source position (x, y) in 1/32 pixels, HxWx2 float64, as
    OpenCV's warpPerspective computes it: the inverse of the corners' perspective
    transform (OpenCV's own LU inverse, as warpPerspective takes), applied to every pixel
    in one cv2.perspectiveTransform. Its rows for x and y are scaled by 32 first, which is
    exact, so x' / w is the warp's x * (32 / w) to the last bit."""
    import cv2

    cx, cy, w, h, rotation = roi
    corners = cv2.boxPoints(((cx, cy), (w, h), rotation * 180.0 / math.pi))
    target = np.array([[0, out_height], [0, 0], [out_width, 0], [out_width, out_height]],
                      np.float32)
    forward = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    _, inverse = cv2.invert(forward, flags=cv2.DECOMP_LU)
    inverse[:2] *= _TAB_SIZE
    positions = cv2.perspectiveTransform(_pixel_grid(out_width, out_height), inverse)
    return positions.reshape(out_height, out_width, 2)


@functools.lru_cache(maxsize=8)
def _pixel_grid(width: int, height: int) -> np.ndarray:
    """Every pixel's (x, y), as the (H*W)x1x2 float64 points perspectiveTransform takes."""
    grid = np.empty((height, width, 2), np.float64)
    grid[..., 0] = np.arange(width, dtype=np.float64)
    grid[..., 1] = np.arange(height, dtype=np.float64)[:, np.newaxis]
    grid = grid.reshape(-1, 1, 2)
    grid.flags.writeable = False
    return grid


def _quantized(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """HxWx2 positions in 1/32 pixels as remap's maps: int16 (x, y) pixels (far outside
    stays outside) and uint16 fractions. Rounds `positions` in place."""
    limit = float(np.iinfo(np.int32).max)
    np.clip(positions, -limit, limit, out=positions)
    q = np.rint(positions, out=positions).astype(np.int32)
    xy = np.clip(q >> _INTER_BITS, np.iinfo(np.int16).min, np.iinfo(np.int16).max
                 ).astype(np.int16)
    q &= _TAB_SIZE - 1
    fraction = (q[..., 1] << _INTER_BITS | q[..., 0]).astype(np.uint16)
    xy.flags.writeable = False
    fraction.flags.writeable = False
    return xy, fraction


_INTER_BITS = 5  # OpenCV's INTER_BITS: source positions in 1/32 pixel
_TAB_SIZE = 1 << _INTER_BITS
