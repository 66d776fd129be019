"""RectTransformationCalculator: scale, shift, rotate and square a NormalizedRect."""

from __future__ import annotations

import dataclasses
import math

from mediagraph.calculators.postprocess._geometry import image_size, normalize_radians
from mediagraph import Calculator, CalculatorContext, Input, Options, Output, one_of, option
from mediagraph.formats import NormalizedRect


class RectTransformationCalculatorOptions(
        Options, proto_name="mediapipe.RectTransformationCalculatorOptions",
        extension=262226312):
    """MediaPipe's `rect_transformation_calculator.proto` (numbers and defaults)."""

    scale_x: float = option(1, default=1.0)
    scale_y: float = option(2, default=1.0)
    rotation: float | None = option(3, default=None, proto="float", doc="radians, added")
    rotation_degrees: int | None = option(4, default=None, proto="int32")
    shift_x: float = option(5, default=0.0, doc="in rect widths, along the rect's own x axis")
    shift_y: float = option(6, default=0.0)
    square_long: bool = option(7, default=False)
    square_short: bool = option(8, default=False)

    def check(self) -> None:
        if self.square_long and self.square_short:
            raise ValueError("square_long and square_short are mutually exclusive")


class RectTransformationCalculator(Calculator):
    """Grow, move and turn rects, MediaPipe's way of turning a detection into a crop ROI.

    In order: the rotation option (radians, else degrees) is added and wrapped to
    [-pi, pi); the centre moves by (shift_x * width, shift_y * height) along the rect's
    rotated axes, computed in pixels; with `square_long` (`square_short`) both sides
    become the long (short) side in pixels; finally width *= scale_x, height *= scale_y.
    Pixel math needs IMAGE_SIZE; rects with rotation 0 shift without it.

    Inputs:  NORM_RECT (NormalizedRect) or NORM_RECTS (list of NormalizedRect);
             IMAGE_SIZE ((width, height))
    Outputs: untagged: the transformed rect (or list, matching the input)
    Options: RectTransformationCalculatorOptions (ext 262226312): scale_x, scale_y,
             rotation, rotation_degrees, shift_x, shift_y, square_long, square_short

    Example config (MediaPipe's palm_detection_detection_to_roi.pbtxt):
        node {
          calculator: "RectTransformationCalculator"
          input_stream: "NORM_RECT:raw_roi"
          input_stream: "IMAGE_SIZE:image_size"
          output_stream: "roi"
          options { [mediapipe.RectTransformationCalculatorOptions.ext] {
            scale_x: 2.6 scale_y: 2.6 shift_y: -0.5 square_long: true } }
        }
    """

    Options = RectTransformationCalculatorOptions

    norm_rect = Input(NormalizedRect, tag="NORM_RECT", optional=True)
    norm_rects = Input(list, tag="NORM_RECTS", optional=True)
    image_size = Input(tuple, tag="IMAGE_SIZE", optional=True)
    out = Output(tag="")
    groups = (one_of(norm_rect, norm_rects),)

    def open(self, cc: CalculatorContext) -> None:
        opts: RectTransformationCalculatorOptions = self.options
        if opts.rotation is not None:
            self._extra_rotation: float | None = opts.rotation
        elif opts.rotation_degrees is not None:
            self._extra_rotation = math.radians(opts.rotation_degrees)
        else:
            self._extra_rotation = None

    def process(self, cc: CalculatorContext) -> None:
        rect = cc.get(self.norm_rect)
        rects = cc.get(self.norm_rects)
        if rect is None and rects is None:
            return
        size = cc.get(self.image_size)
        if rect is not None:
            cc.send(self.out, self.transform(rect, size))
        else:
            cc.send(self.out, [self.transform(r, size) for r in rects])

    def transform(self, rect: NormalizedRect, size: tuple[int, int] | None) -> NormalizedRect:
        opts: RectTransformationCalculatorOptions = self.options
        width, height, rotation = rect.width, rect.height, rect.rotation
        if self._extra_rotation is not None:
            rotation = normalize_radians(rotation + self._extra_rotation)
        x, y = rect.x_center, rect.y_center
        if rotation == 0.0:
            x += width * opts.shift_x
            y += height * opts.shift_y
        elif opts.shift_x or opts.shift_y:
            img_w, img_h = image_size(size, "a shift of a rotated rect")
            dx = width * img_w * opts.shift_x
            dy = height * img_h * opts.shift_y
            c, s = math.cos(rotation), math.sin(rotation)
            x += (dx * c - dy * s) / img_w
            y += (dx * s + dy * c) / img_h
        if opts.square_long or opts.square_short:
            img_w, img_h = image_size(size, "square_long/square_short")
            pick = max if opts.square_long else min
            side = pick(width * img_w, height * img_h)
            width, height = side / img_w, side / img_h
        return dataclasses.replace(rect, x_center=x, y_center=y, width=width * opts.scale_x,
                                   height=height * opts.scale_y, rotation=rotation)
