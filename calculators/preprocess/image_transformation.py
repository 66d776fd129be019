"""ImageTransformationCalculator: rotate, flip and resize an image (MediaPipe's CPU path)."""

from __future__ import annotations

import enum
from typing import Any

import numpy as np

from mediagraph.calculators._images import expect_image, positive_size
from mediagraph import (
    Calculator,
    CalculatorContext,
    Input,
    Options,
    Output,
    SideInput,
    option,
)
from mediagraph.formats import ImageFormat, ImageFrame


class RotationMode(enum.IntEnum):
    """Counterclockwise rotation (MediaPipe's `RotationMode.Mode`)."""

    UNKNOWN = 0
    ROTATION_0 = 1
    ROTATION_90 = 2
    ROTATION_180 = 3
    ROTATION_270 = 4


class ScaleMode(enum.IntEnum):
    """MediaPipe's `ScaleMode.Mode`; DEFAULT means STRETCH here, as on MediaPipe's CPU."""

    DEFAULT = 0
    STRETCH = 1
    FIT = 2
    FILL_AND_CROP = 3


class InterpolationMode(enum.IntEnum):
    """MediaPipe's `ImageTransformationCalculatorOptions.InterpolationMode`.

    The zero value is `INTERPOLATION_DEFAULT`, not MediaPipe's `DEFAULT`: both enums live
    in one message scope here and protobuf forbids two `DEFAULT` values there. Configs
    almost never spell the zero value; LINEAR and NEAREST read as in MediaPipe.
    """

    INTERPOLATION_DEFAULT = 0
    LINEAR = 1
    NEAREST = 2


class PaddingColor(Options, proto_name="mediagraph.ImageTransformationPaddingColor"):
    """`ImageTransformationCalculatorOptions.Color`: RGB in 0..255."""

    red: int = option(1, default=0)
    green: int = option(2, default=0)
    blue: int = option(3, default=0)


class ImageTransformationCalculatorOptions(
        Options, proto_name="mediapipe.ImageTransformationCalculatorOptions", extension=251952830):
    """MediaPipe's `image_transformation_calculator.proto` (field numbers and defaults)."""

    output_width: int = option(1, default=0, doc="0 with output_height 0: keep the size")
    output_height: int = option(2, default=0)
    rotation_mode: RotationMode = option(3, default=RotationMode.UNKNOWN,
                                         doc="counterclockwise; UNKNOWN means none")
    flip_vertically: bool = option(4, default=False, doc="applied after rotation")
    flip_horizontally: bool = option(5, default=False, doc="applied after rotation")
    scale_mode: ScaleMode = option(6, default=ScaleMode.DEFAULT)
    constant_padding: bool = option(7, default=True,
                                    doc="FIT pads with padding_color; false replicates edges")
    padding_color: PaddingColor = option(8, default=PaddingColor())
    interpolation_mode: InterpolationMode = option(9, default=InterpolationMode.INTERPOLATION_DEFAULT)

    def check(self) -> None:
        if self.output_width or self.output_height:
            positive_size(self.output_width, self.output_height, _SIZE_OPTIONS)


_DEGREES = {RotationMode.UNKNOWN: 0, RotationMode.ROTATION_0: 0, RotationMode.ROTATION_90: 90,
            RotationMode.ROTATION_180: 180, RotationMode.ROTATION_270: 270}


class ImageTransformationCalculator(Calculator):
    """Rotate (counterclockwise, multiples of 90°), flip, then resize an image.

    The steps run in that order, so `output_width`/`output_height` are the final size
    and a FIT letterbox is centred in it. Scale modes: STRETCH (default) resizes to the
    output size; FIT keeps the aspect ratio and pads (padding_color, or replicated
    edges when `constant_padding` is false); FILL_AND_CROP keeps the aspect ratio,
    covers the output and crops the centre. LINEAR interpolation uses INTER_AREA when
    shrinking; NEAREST uses nearest-neighbour.

    Per-frame inputs override the options (and side packets) from their frame on, as in
    MediaPipe. With OUTPUT_DIMENSIONS connected, a frame without a dimensions packet
    produces no output.

    Inputs:  IMAGE (ImageFrame, any format OpenCV can resize);
             OUTPUT_DIMENSIONS ((width, height), optional);
             ROTATION_DEGREES (int, multiple of 90, counterclockwise, optional);
             FLIP_HORIZONTALLY, FLIP_VERTICALLY (bool, optional)
    Outputs: IMAGE (ImageFrame, same format);
             LETTERBOX_PADDING ((left, top, right, bottom) normalized by the output size;
             non-zero only for FIT, optional)
    Side inputs: OUTPUT_DIMENSIONS, ROTATION_DEGREES, FLIP_HORIZONTALLY, FLIP_VERTICALLY
             (optional; override the options)
    Options: ImageTransformationCalculatorOptions (ext 251952830): output_width,
             output_height, rotation_mode, flip_vertically, flip_horizontally, scale_mode,
             constant_padding, padding_color {red green blue}, interpolation_mode

    Differences from MediaPipe's CPU code, where it is inconsistent: MediaPipe scales
    before rotating, and its CPU FILL_AND_CROP only fits; here rotation comes first and
    FILL_AND_CROP crops. LETTERBOX_PADDING is computed from the padding in pixels.

    Example config:
        node {
          calculator: "ImageTransformationCalculator"
          input_stream: "IMAGE:frame"
          output_stream: "IMAGE:small"
          output_stream: "LETTERBOX_PADDING:padding"
          options { [mediapipe.ImageTransformationCalculatorOptions.ext] {
            output_width: 256 output_height: 256 scale_mode: FIT } }
        }
    """

    Options = ImageTransformationCalculatorOptions

    image = Input(ImageFrame)
    output_dimensions = Input(tag="OUTPUT_DIMENSIONS", optional=True)
    rotation_degrees = Input(int, tag="ROTATION_DEGREES", optional=True)
    flip_horizontally = Input(bool, tag="FLIP_HORIZONTALLY", optional=True)
    flip_vertically = Input(bool, tag="FLIP_VERTICALLY", optional=True)
    out = Output(ImageFrame, tag="IMAGE")
    letterbox_padding = Output(tuple, tag="LETTERBOX_PADDING", optional=True)
    output_dimensions_side = SideInput(tag="OUTPUT_DIMENSIONS", optional=True)
    rotation_degrees_side = SideInput(int, tag="ROTATION_DEGREES", optional=True)
    flip_horizontally_side = SideInput(bool, tag="FLIP_HORIZONTALLY", optional=True)
    flip_vertically_side = SideInput(bool, tag="FLIP_VERTICALLY", optional=True)

    def open(self, cc: CalculatorContext) -> None:
        opts: ImageTransformationCalculatorOptions = self.options
        side_dims = cc.side(self.output_dimensions_side)
        if side_dims is not None:
            self._size = positive_size(*_pair(side_dims, "OUTPUT_DIMENSIONS side packet"),
                                       "OUTPUT_DIMENSIONS side packet")
        elif opts.output_width == 0 and opts.output_height == 0:
            self._size = None
        else:
            self._size = (opts.output_width, opts.output_height)
        degrees = cc.side(self.rotation_degrees_side)
        self._degrees = (_checked_degrees(degrees, "ROTATION_DEGREES side packet")
                         if degrees is not None else _DEGREES[opts.rotation_mode])
        flip_h = cc.side(self.flip_horizontally_side)
        flip_v = cc.side(self.flip_vertically_side)
        self._flip_h = bool(opts.flip_horizontally if flip_h is None else flip_h)
        self._flip_v = bool(opts.flip_vertically if flip_v is None else flip_v)
        self._scale_mode = (ScaleMode.STRETCH if opts.scale_mode == ScaleMode.DEFAULT
                            else opts.scale_mode)
        self._nearest = opts.interpolation_mode == InterpolationMode.NEAREST
        self._dims_connected = cc.connected(self.output_dimensions)

    def process(self, cc: CalculatorContext) -> None:
        degrees = cc.get(self.rotation_degrees)
        if degrees is not None:
            self._degrees = _checked_degrees(degrees, "input ROTATION_DEGREES")
        flip_h = cc.get(self.flip_horizontally)
        if flip_h is not None:
            self._flip_h = bool(flip_h)
        flip_v = cc.get(self.flip_vertically)
        if flip_v is not None:
            self._flip_v = bool(flip_v)
        if self._dims_connected:
            dims = cc.get(self.output_dimensions)
            if dims is None:
                return  # as MediaPipe: no dimensions at this timestamp, no output
            self._size = positive_size(*_pair(dims, "input OUTPUT_DIMENSIONS"),
                                       "input OUTPUT_DIMENSIONS")
        frame = cc.get(self.image)
        if frame is None:
            return
        frame = expect_image(frame, "IMAGE")
        pixels, padding = self._transform(frame)
        if pixels is not frame.data:
            frame = ImageFrame(pixels, frame.format)
        cc.send(self.out, frame)
        cc.send(self.letterbox_padding, padding)

    def _transform(self, frame: ImageFrame) -> tuple[np.ndarray, tuple[float, float, float, float]]:
        import cv2

        data = frame.data
        if self._degrees == 90:
            data = cv2.rotate(data, cv2.ROTATE_90_COUNTERCLOCKWISE)
        elif self._degrees == 180:
            data = cv2.rotate(data, cv2.ROTATE_180)
        elif self._degrees == 270:
            data = cv2.rotate(data, cv2.ROTATE_90_CLOCKWISE)
        if self._flip_h or self._flip_v:
            code = -1 if (self._flip_h and self._flip_v) else (1 if self._flip_h else 0)
            data = cv2.flip(data, code)
        data = _channels_back(data, frame.channels)
        no_padding = (0.0, 0.0, 0.0, 0.0)
        if self._size is None:
            return data, no_padding
        out_w, out_h = self._size
        in_h, in_w = data.shape[:2]
        if (in_w, in_h) == (out_w, out_h):
            return data, no_padding
        mode = self._scale_mode
        if mode == ScaleMode.STRETCH:
            shrink = out_w < in_w and out_h < in_h
            scaled = cv2.resize(data, (out_w, out_h), interpolation=self._interpolation(shrink))
            return _channels_back(scaled, frame.channels), no_padding
        fit = mode == ScaleMode.FIT
        scale = (min if fit else max)(out_w / in_w, out_h / in_h)
        target_w = max(1, round(in_w * scale))
        target_h = max(1, round(in_h * scale))
        if fit:
            target_w, target_h = min(target_w, out_w), min(target_h, out_h)
        else:
            target_w, target_h = max(target_w, out_w), max(target_h, out_h)
        scaled = cv2.resize(data, (target_w, target_h),
                            interpolation=self._interpolation(scale < 1.0))
        scaled = _channels_back(scaled, frame.channels)
        if not fit:  # FILL_AND_CROP: keep the centre
            x0, y0 = (target_w - out_w) // 2, (target_h - out_h) // 2
            return np.ascontiguousarray(scaled[y0:y0 + out_h, x0:x0 + out_w]), no_padding
        top = (out_h - target_h) // 2
        bottom = out_h - target_h - top
        left = (out_w - target_w) // 2
        right = out_w - target_w - left
        if self.options.constant_padding:
            padded = cv2.copyMakeBorder(scaled, top, bottom, left, right, cv2.BORDER_CONSTANT,
                                        value=_padding_value(self.options.padding_color,
                                                             frame.format))
        else:
            padded = cv2.copyMakeBorder(scaled, top, bottom, left, right, cv2.BORDER_REPLICATE)
        padding = (left / out_w, top / out_h, right / out_w, bottom / out_h)
        return _channels_back(padded, frame.channels), padding

    def _interpolation(self, shrinking: bool) -> int:
        import cv2

        if self._nearest:
            return cv2.INTER_NEAREST
        return cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR


_SIZE_OPTIONS = ("options output_width/output_height (set both, or neither to keep the input "
                 "size)")


def _pair(value: Any, what: str) -> tuple[Any, Any]:
    try:
        width, height = value[0], value[1]
    except (TypeError, IndexError, KeyError):
        raise ValueError(f"{what} must be (width, height), got {value!r}") from None
    return width, height


def _checked_degrees(value: Any, what: str) -> int:
    degrees = int(value)
    if degrees % 90:
        raise ValueError(f"{what} must be a multiple of 90 degrees, got {value!r}")
    return degrees % 360


def _channels_back(data: np.ndarray, channels: int) -> np.ndarray:
    """OpenCV drops a single channel axis; ImageFrame wants HxWxC."""
    return data[:, :, np.newaxis] if data.ndim == 2 and channels == 1 else data


def _padding_value(color: PaddingColor, fmt: ImageFormat) -> tuple[float, ...]:
    r, g, b = color.red, color.green, color.blue
    if fmt == ImageFormat.SBGRA:
        value: tuple[float, ...] = (b, g, r, 255)
    elif fmt in (ImageFormat.GRAY8, ImageFormat.GRAY16, ImageFormat.VEC32F1):
        value = (round(0.299 * r + 0.587 * g + 0.114 * b),)
    else:
        value = (r, g, b, 255)
    try:
        dtype = fmt.dtype
    except KeyError:
        return value
    if dtype == np.uint16:
        return tuple(v * 257 for v in value)
    if dtype == np.float32:
        return tuple(v / 255.0 for v in value)
    return value
