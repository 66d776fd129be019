"""ImageCroppingCalculator: cut a (possibly rotated) rectangle out of an image."""

from __future__ import annotations

import enum
import math
from typing import Any

import numpy as np

from mediagraph.calculators._images import expect_image, positive_size
from mediagraph import (Calculator, CalculatorContext, Input, NodeConfig, Options, Output,
                        all_or_none, at_most_one, option)
from mediagraph.formats import ImageFrame, NormalizedRect


class BorderMode(enum.IntEnum):
    """`ImageCroppingCalculatorOptions.BorderMode`: what fills crops beyond the image."""

    BORDER_UNSPECIFIED = 0
    BORDER_ZERO = 1
    BORDER_REPLICATE = 2


class ImageCroppingCalculatorOptions(Options, proto_name="mediapipe.ImageCroppingCalculatorOptions",
                                     extension=262466399):
    """MediaPipe's `image_cropping_calculator.proto` (field numbers).

    MediaPipe tells "unset" from 0 for the centre; here an unset centre reads 0.5 (the
    image centre, which is what MediaPipe does when it is unset).
    """

    width: int = option(1, default=0, doc="crop width in pixels (with height)")
    height: int = option(2, default=0)
    rotation: float = option(3, default=0.0, doc="radians; used without RECT/NORM_RECT")
    norm_width: float = option(4, default=0.0, doc="crop width / image width (with norm_height)")
    norm_height: float = option(5, default=0.0)
    norm_center_x: float = option(6, default=0.5)
    norm_center_y: float = option(7, default=0.5)
    border_mode: BorderMode = option(8, default=BorderMode.BORDER_ZERO)

    def check(self) -> None:
        if self.border_mode == BorderMode.BORDER_UNSPECIFIED:
            raise ValueError("border_mode must be BORDER_ZERO or BORDER_REPLICATE")


class ImageCroppingCalculator(Calculator):
    """Crop a rectangle, rotated about its centre, out of an image.

    The crop comes from the first of: RECT (pixels), NORM_RECT (normalized), WIDTH and
    HEIGHT inputs, the `width`/`height` options, the `norm_width`/`norm_height` options.
    Rotation is in radians, clockwise on screen (y down), as NormalizedRect's; the
    output is upright, `round(width) x round(height)` pixels, sampled bilinearly with
    `cv2.warpAffine`. An axis-aligned crop on whole pixels copies them exactly. Parts
    outside the image are black (BORDER_ZERO) or replicate the edge (BORDER_REPLICATE).
    A frame whose RECT/NORM_RECT has no packet gives no output, as in MediaPipe.

    Inputs:  IMAGE (ImageFrame); NORM_RECT (NormalizedRect, optional);
             RECT (an object with x_center, y_center, width, height and optional
             rotation in pixels, or such a tuple; optional); WIDTH, HEIGHT (int, optional)
    Outputs: IMAGE (ImageFrame, same format)
    Options: ImageCroppingCalculatorOptions (ext 262466399): width, height, rotation,
             norm_width, norm_height, norm_center_x, norm_center_y, border_mode

    Example config:
        node {
          calculator: "ImageCroppingCalculator"
          input_stream: "IMAGE:frame"
          input_stream: "NORM_RECT:face_rect"
          output_stream: "IMAGE:face"
        }
    """

    Options = ImageCroppingCalculatorOptions

    image = Input(ImageFrame)
    norm_rect = Input(NormalizedRect, tag="NORM_RECT", optional=True)
    rect = Input(tag="RECT", optional=True)
    width = Input(int, tag="WIDTH", optional=True)
    height = Input(int, tag="HEIGHT", optional=True)
    out = Output(ImageFrame, tag="IMAGE")
    groups = (at_most_one(rect, norm_rect, message="connect RECT or NORM_RECT, not both"),
              all_or_none(width, height, message="WIDTH and HEIGHT inputs go together; connect "
                                                 "both or neither"))

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        opts: ImageCroppingCalculatorOptions = node.options
        has_size = opts.width > 0 and opts.height > 0
        has_norm_size = opts.norm_width > 0 and opts.norm_height > 0
        if not (node.connected(cls.rect) or node.connected(cls.norm_rect)
                or node.connected(cls.width) or has_size or has_norm_size):
            raise ValueError("no crop given: connect NORM_RECT or RECT (or WIDTH and HEIGHT), "
                             "or set width/height or norm_width/norm_height in the options")

    def open(self, cc: CalculatorContext) -> None:
        self._has_rect = cc.connected(self.rect)
        self._has_norm_rect = cc.connected(self.norm_rect)
        self._has_size_inputs = cc.connected(self.width) and cc.connected(self.height)

    def process(self, cc: CalculatorContext) -> None:
        frame = cc.get(self.image)
        if frame is None:
            return
        frame = expect_image(frame, "IMAGE")
        spec = self._crop_spec(cc, frame.width, frame.height)
        if spec is None:
            return
        cc.send(self.out, ImageFrame(self._crop(frame, *spec), frame.format))

    def _crop_spec(self, cc: CalculatorContext, src_w: int,
                   src_h: int) -> tuple[float, float, int, int, float] | None:
        """(center x, center y, width, height, rotation) in pixels, or None to skip."""
        opts: ImageCroppingCalculatorOptions = self.options
        if self._has_rect:
            rect = cc.get(self.rect)
            if rect is None:
                return None
            cx, cy, w, h, rotation = _pixel_rect(rect)
            return cx, cy, *positive_size(round(w), round(h), "RECT width/height"), rotation
        if self._has_norm_rect:
            rect = cc.get(self.norm_rect)
            if rect is None:
                return None
            if not isinstance(rect, NormalizedRect):
                raise TypeError(f"input NORM_RECT needs a NormalizedRect, got "
                                f"{type(rect).__name__}")
            size = positive_size(round(rect.width * src_w), round(rect.height * src_h),
                                 f"NORM_RECT size ({rect.width:g} x {rect.height:g} of a "
                                 f"{src_w}x{src_h} image)")
            return rect.x_center * src_w, rect.y_center * src_h, *size, rect.rotation
        if self._has_size_inputs:
            w, h = cc.get(self.width), cc.get(self.height)
            if w is None or h is None:
                return None
            size = positive_size(w, h, "WIDTH/HEIGHT inputs")
        elif opts.width > 0 and opts.height > 0:
            size = (opts.width, opts.height)
        else:
            size = positive_size(round(opts.norm_width * src_w), round(opts.norm_height * src_h),
                                 "norm_width/norm_height crop")
        return opts.norm_center_x * src_w, opts.norm_center_y * src_h, *size, opts.rotation

    def _crop(self, frame: ImageFrame, cx: float, cy: float, w: int, h: int,
              rotation: float) -> np.ndarray:
        import cv2

        data = frame.data
        cos, sin = math.cos(rotation), math.sin(rotation)
        # Output pixel (u, v) samples the source at centre + R(rotation) (u + .5 - w/2,
        # v + .5 - h/2) in continuous coordinates; pixel indexes sit .5 below those.
        ox, oy = 0.5 - w / 2, 0.5 - h / 2
        tx = cx + cos * ox - sin * oy - 0.5
        ty = cy + sin * ox + cos * oy - 0.5
        matrix = np.array([[cos, -sin, tx], [sin, cos, ty]], dtype=np.float64)
        if rotation == 0.0 and tx == int(tx) and ty == int(ty):
            return _exact_crop(data, int(tx), int(ty), w, h, self.options.border_mode)
        border = (cv2.BORDER_REPLICATE if self.options.border_mode == BorderMode.BORDER_REPLICATE
                  else cv2.BORDER_CONSTANT)
        result = cv2.warpAffine(data, matrix, (w, h),
                                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                borderMode=border, borderValue=0)
        return result[:, :, np.newaxis] if result.ndim == 2 else result


def _exact_crop(data: np.ndarray, x0: int, y0: int, w: int, h: int,
                border: BorderMode) -> np.ndarray:
    """An axis-aligned crop on whole pixels: a copy, padded where it leaves the image."""
    img_h, img_w = data.shape[:2]
    if x0 >= 0 and y0 >= 0 and x0 + w <= img_w and y0 + h <= img_h:
        return data[y0:y0 + h, x0:x0 + w].copy()
    ys, xs = np.arange(y0, y0 + h), np.arange(x0, x0 + w)
    result = data[np.clip(ys, 0, img_h - 1)[:, None], np.clip(xs, 0, img_w - 1)[None, :]]
    if border != BorderMode.BORDER_REPLICATE:
        inside = ((ys >= 0) & (ys < img_h))[:, None] & ((xs >= 0) & (xs < img_w))[None, :]
        result[~inside] = 0
    return result


def _pixel_rect(rect: Any) -> tuple[float, float, float, float, float]:
    try:
        if isinstance(rect, (tuple, list)):
            cx, cy, w, h, *rest = rect
            return float(cx), float(cy), float(w), float(h), float(rest[0]) if rest else 0.0
        return (float(rect.x_center), float(rect.y_center), float(rect.width),
                float(rect.height), float(getattr(rect, "rotation", 0.0) or 0.0))
    except (AttributeError, TypeError, ValueError):
        raise TypeError("input RECT needs x_center, y_center, width, height[, rotation] in "
                        f"pixels, got {rect!r}") from None
