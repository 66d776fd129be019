"""SsdAnchorsCalculator: the SSD anchor grid a detection model's box offsets are relative to."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mediagraph import Calculator, CalculatorContext, Options, SideOutput, Stop, option


class Anchor(Options, proto_name="mediapipe.Anchor"):
    """MediaPipe's `object_detection/anchor.proto` (used by `fixed_anchors`)."""

    x_center: float = option(1, default=0.0)
    y_center: float = option(2, default=0.0)
    h: float = option(3, default=0.0)
    w: float = option(4, default=0.0)


class SsdAnchorsCalculatorOptions(Options, proto_name="mediapipe.SsdAnchorsCalculatorOptions",
                                  extension=247258239):
    """MediaPipe's `ssd_anchors_calculator.proto` (fields 1-21, numbers and defaults)."""

    input_size_width: int = option(1, default=0)
    input_size_height: int = option(2, default=0)
    min_scale: float = option(3, default=0.0)
    max_scale: float = option(4, default=0.0)
    anchor_offset_x: float = option(5, default=0.5)
    anchor_offset_y: float = option(6, default=0.5)
    num_layers: int = option(7, default=0)
    feature_map_width: tuple[int, ...] = option(8, default=())
    feature_map_height: tuple[int, ...] = option(9, default=())
    strides: tuple[int, ...] = option(10, default=())
    aspect_ratios: tuple[float, ...] = option(11, default=())
    reduce_boxes_in_lowest_layer: bool = option(12, default=False)
    interpolated_scale_aspect_ratio: float = option(13, default=1.0)
    fixed_anchor_size: bool = option(14, default=False)
    multiscale_anchor_generation: bool = option(15, default=False)
    min_level: int = option(16, default=3)
    max_level: int = option(17, default=7)
    anchor_scale: float = option(18, default=4.0)
    scales_per_octave: int = option(19, default=2)
    normalize_coordinates: bool = option(20, default=True)
    fixed_anchors: tuple[Anchor, ...] = option(21, default=())

    def check(self) -> None:
        if self.fixed_anchors:
            return
        if not self.feature_map_height and not self.strides:
            raise ValueError("both feature map shape and strides are missing; give one of them")
        num_layers = (self.max_level - self.min_level + 1
                      if self.multiscale_anchor_generation else self.num_layers)
        if self.feature_map_height:
            if (len(self.feature_map_height) != num_layers
                    or len(self.feature_map_width) != num_layers):
                raise ValueError(f"feature_map_height/width need {num_layers} entries each, "
                                 f"got {len(self.feature_map_height)} and "
                                 f"{len(self.feature_map_width)}")
        elif len(self.strides) != num_layers:
            raise ValueError(f"{len(self.strides)} strides for {num_layers} layers; they must "
                             "match")


ANCHOR_COLUMNS = ("x_center", "y_center", "w", "h")
"""Column order of the anchors array (MediaPipe's Anchor has the same four values)."""


class SsdAnchorsCalculator(Calculator):
    """Generate SSD anchors in `open()` and publish them as output side packet 0.

    The anchors are a read-only float32 array of shape (num_anchors, 4) whose columns are
    `ANCHOR_COLUMNS` = (x_center, y_center, w, h), normalized to the model input, instead
    of MediaPipe's `std::vector<Anchor>`: TensorsToDetectionsCalculator decodes all boxes
    with a few numpy operations over it. The generation follows MediaPipe exactly: layers
    with equal strides are merged, each cell gets one anchor per aspect ratio plus an
    interpolated-scale one (`interpolated_scale_aspect_ratio` > 0), the lowest layer can use
    MediaPipe's fixed 3 boxes (`reduce_boxes_in_lowest_layer`), and `fixed_anchor_size`
    makes every w and h 1.0. `multiscale_anchor_generation` gives RetinaNet-style anchors
    (levels `min_level`..`max_level`), and `fixed_anchors`, when given, are used as they are.

    Inputs:  none
    Side outputs: index 0 (numpy float32 Nx4: x_center, y_center, w, h)
    Options: SsdAnchorsCalculatorOptions (ext 247258239): input_size_width/height,
             min_scale, max_scale, anchor_offset_x/y, num_layers, feature_map_width/height,
             strides, aspect_ratios, reduce_boxes_in_lowest_layer,
             interpolated_scale_aspect_ratio, fixed_anchor_size, multiscale_anchor_generation,
             min_level, max_level, anchor_scale, scales_per_octave, normalize_coordinates,
             fixed_anchors

    Example config (face_detection_short_range: 896 anchors):
        node {
          calculator: "SsdAnchorsCalculator"
          output_side_packet: "anchors"
          options { [mediapipe.SsdAnchorsCalculatorOptions.ext] {
            num_layers: 4 min_scale: 0.1484375 max_scale: 0.75
            input_size_width: 128 input_size_height: 128
            anchor_offset_x: 0.5 anchor_offset_y: 0.5
            strides: 8 strides: 16 strides: 16 strides: 16
            aspect_ratios: 1.0 fixed_anchor_size: true } }
        }
    """

    Options = SsdAnchorsCalculatorOptions

    anchors = SideOutput(np.ndarray, tag="")

    def open(self, cc: CalculatorContext) -> None:
        cc.set_side(self.anchors, generate_anchors(self.options))

    def process(self, cc: CalculatorContext) -> Any:
        return Stop


def generate_anchors(options: SsdAnchorsCalculatorOptions) -> np.ndarray:
    """The anchors for `options` as a read-only float32 (N, 4) array (see ANCHOR_COLUMNS)."""
    options.check()  # validate did too, for a node; a direct caller gets the same errors
    if options.fixed_anchors:
        rows = [(a.x_center, a.y_center, a.w, a.h) for a in options.fixed_anchors]
        return _frozen(np.array(rows, np.float32).reshape(-1, 4))
    if options.multiscale_anchor_generation:
        return _frozen(_multiscale_anchors(options))
    return _frozen(_ssd_anchors(options))


def _scale(min_scale: float, max_scale: float, index: int, count: int) -> float:
    if count == 1:
        return (min_scale + max_scale) * 0.5
    return min_scale + (max_scale - min_scale) * index / (count - 1.0)


def _feature_map(options: SsdAnchorsCalculatorOptions, layer: int) -> tuple[int, int]:
    """(height, width) of layer `layer`'s feature map."""
    if options.feature_map_height:
        return options.feature_map_height[layer], options.feature_map_width[layer]
    stride = options.strides[layer]
    return (math.ceil(options.input_size_height / stride),
            math.ceil(options.input_size_width / stride))


def _ssd_anchors(options: SsdAnchorsCalculatorOptions) -> np.ndarray:
    strides = options.strides
    # MediaPipe counts scales over the strides, and loops forever without them; with only
    # feature map sizes given, each layer stands alone here.
    count = len(strides) or options.num_layers
    blocks: list[np.ndarray] = []
    layer = 0
    while layer < options.num_layers:
        aspect_ratios: list[float] = []
        scales: list[float] = []
        # Consecutive layers with the same stride share one grid; their anchors interleave.
        last = layer
        while last < count and (strides[last] == strides[layer] if strides else last == layer):
            scale = _scale(options.min_scale, options.max_scale, last, count)
            if last == 0 and options.reduce_boxes_in_lowest_layer:
                aspect_ratios += [1.0, 2.0, 0.5]
                scales += [0.1, scale, scale]
            else:
                for ratio in options.aspect_ratios:
                    aspect_ratios.append(ratio)
                    scales.append(scale)
                if options.interpolated_scale_aspect_ratio > 0.0:
                    scale_next = (1.0 if last == count - 1 else
                                  _scale(options.min_scale, options.max_scale, last + 1, count))
                    scales.append(math.sqrt(scale * scale_next))
                    aspect_ratios.append(options.interpolated_scale_aspect_ratio)
            last += 1
        ratio_sqrt = np.sqrt(np.asarray(aspect_ratios, np.float32))
        scales_arr = np.asarray(scales, np.float32)
        heights = scales_arr / ratio_sqrt
        widths = scales_arr * ratio_sqrt
        if options.fixed_anchor_size:
            heights = np.ones_like(heights)
            widths = np.ones_like(widths)
        fm_h, fm_w = _feature_map(options, layer)
        ys = (np.arange(fm_h, dtype=np.float32) + np.float32(options.anchor_offset_y)) / fm_h
        xs = (np.arange(fm_w, dtype=np.float32) + np.float32(options.anchor_offset_x)) / fm_w
        per_cell = len(aspect_ratios)
        block = np.empty((fm_h, fm_w, per_cell, 4), np.float32)  # order: y, x, anchor
        block[..., 0] = xs[None, :, None]
        block[..., 1] = ys[:, None, None]
        block[..., 2] = widths
        block[..., 3] = heights
        blocks.append(block.reshape(-1, 4))
        layer = last
    return np.concatenate(blocks) if blocks else np.zeros((0, 4), np.float32)


def _multiscale_anchors(options: SsdAnchorsCalculatorOptions) -> np.ndarray:
    ratios = list(options.aspect_ratios)
    octave_scales = [2.0 ** (i / options.scales_per_octave)
                     for i in range(options.scales_per_octave)]
    blocks = []
    for index, level in enumerate(range(options.min_level, options.max_level + 1)):
        stride = 2.0 ** level
        base = stride * options.anchor_scale
        denominator = 2 ** level
        offset_y = stride / 2.0 if (options.input_size_height % denominator == 0
                                    or options.input_size_height == 1) else 0.0
        offset_x = stride / 2.0 if (options.input_size_width % denominator == 0
                                    or options.input_size_width == 1) else 0.0
        # Per cell: aspect ratio outer, scale inner (MediaPipe's loop order).
        sizes = [(s * base * math.sqrt(r), s * base / math.sqrt(r))
                 for r in ratios for s in octave_scales]
        fm_h, fm_w = _feature_map(options, index)
        block = np.empty((fm_h, fm_w, len(sizes), 4), np.float64)
        block[..., 0] = (np.arange(fm_w) * stride + offset_x)[None, :, None]
        block[..., 1] = (np.arange(fm_h) * stride + offset_y)[:, None, None]
        block[..., 2] = [w for w, _ in sizes]
        block[..., 3] = [h for _, h in sizes]
        if options.normalize_coordinates:
            block[..., [0, 2]] /= options.input_size_width
            block[..., [1, 3]] /= options.input_size_height
        blocks.append(block.reshape(-1, 4).astype(np.float32))
    return np.concatenate(blocks) if blocks else np.zeros((0, 4), np.float32)


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array, dtype=np.float32)
    array.flags.writeable = False
    return array
