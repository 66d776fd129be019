"""RecolorCalculator: blend a colour into an image where a mask says so (MediaPipe's)."""

from __future__ import annotations

import enum
from typing import Any

import numpy as np

from mediagraph.calculators._images import expect_image
from mediagraph.calculators.render._color import ColorOption
from mediagraph import Calculator, CalculatorContext, Input, Options, Output, option
from mediagraph.colour import rgb_to_yuv
from mediagraph.formats import ImageFormat, ImageFrame, split_i420

_RECOLORABLE = (ImageFormat.SRGB, ImageFormat.SRGBA, ImageFormat.YCBCR420P)
_MASKS = (ImageFormat.VEC32F1, ImageFormat.GRAY8, ImageFormat.SRGB, ImageFormat.SRGBA)
# MediaPipe's Color has no default and the calculator refuses a config without one: an
# unset colour reads as this, which check() refuses by name.
_UNSET = ColorOption(r=-1, g=-1, b=-1)
_LUMA = np.array([0.299, 0.587, 0.114], np.float32) / np.float32(255.0)


class MaskChannel(enum.IntEnum):
    """`RecolorCalculatorOptions.MaskChannel`: which channel of a multi-channel mask to use."""

    UNKNOWN = 0
    RED = 1
    ALPHA = 2


class RecolorCalculatorOptions(Options, proto_name="mediapipe.RecolorCalculatorOptions",
                               extension=252527117):
    """MediaPipe's `recolor_calculator.proto` (numbers and defaults)."""

    mask_channel: MaskChannel = option(1, default=MaskChannel.RED,
                                       doc="the mask channel of an RGB(A) mask: RED or ALPHA")
    color: ColorOption = option(2, default=_UNSET, doc="the colour blended in (required)")
    invert_mask: bool = option(3, default=False, doc="recolor where the mask is 0 instead")
    adjust_with_luminance: bool = option(4, default=True,
                                         doc="scale the weight by the pixel's luminance")

    def check(self) -> None:
        if self.color == _UNSET:
            raise ValueError("color is required: the colour to blend in, e.g. "
                             "color { r: 0 g: 0 b: 255 }")
        if not all(0 <= c <= 255 for c in (self.color.r, self.color.g, self.color.b)):
            raise ValueError(f"color components must be within 0..255, got {self.color}")


class RecolorCalculator(Calculator):
    """Blend `color` into an image by a mask: MediaPipe's segmentation tint.

    Per pixel, w = the mask value (VEC32F1 as is, 8-bit masks / 255; an RGB(A) mask's
    `mask_channel`: RED is channel 0, ALPHA channel 3), resized bilinearly to the image;
    1 - w with `invert_mask`; times the pixel's luminance (0.299 R + 0.587 G + 0.114 B,
    over 255) with `adjust_with_luminance`. Then out = in * (1 - w) + color * w, each
    product rounded to 8 bits before the sum, as MediaPipe's CPU path does. A timestamp
    with an image and no mask passes the image on unchanged (MediaPipe's too).

    An SRGBA image keeps its alpha. A YCBCR420P frame (a decoded video frame) is blended
    on its planes and goes out YCBCR420P: the blend is linear, so luma takes the per-pixel
    weight and each chroma sample the mean of its 2x2 pixels' weights (the luminance,
    when used, read from the luma plane: (Y - 16) / 219).

    Inputs:  IMAGE (ImageFrame: SRGB, SRGBA or YCBCR420P);
             MASK (ImageFrame: VEC32F1, GRAY8, SRGB or SRGBA, or an HxW array; optional
             at any timestamp)
    Outputs: IMAGE (ImageFrame, the input's format and size)
    Options: RecolorCalculatorOptions (ext 252527117): mask_channel (1, default RED),
             color (2, required), invert_mask (3), adjust_with_luminance (4, default true)

    Example config (MediaPipe's pose renderer: the background painted blue):
        node {
          calculator: "RecolorCalculator"
          input_stream: "IMAGE:input_image"
          input_stream: "MASK:segmentation_mask"
          output_stream: "IMAGE:segmented_image"
          options { [mediapipe.RecolorCalculatorOptions.ext] {
            color { r: 0 g: 0 b: 255 } mask_channel: RED invert_mask: true
            adjust_with_luminance: false } }
        }
    """

    Options = RecolorCalculatorOptions

    image = Input(ImageFrame, tag="IMAGE", formats=_RECOLORABLE)
    mask = Input(tag="MASK")
    out = Output(ImageFrame, tag="IMAGE")

    def open(self, cc: CalculatorContext) -> None:
        opts: RecolorCalculatorOptions = self.options
        self._rgb = (opts.color.r, opts.color.g, opts.color.b)
        self._yuv = rgb_to_yuv(self._rgb)

    def process(self, cc: CalculatorContext) -> None:
        frame = cc.get(self.image)
        if frame is None:
            return
        frame = expect_image(frame, "IMAGE", _RECOLORABLE)
        mask = cc.get(self.mask)
        if mask is None:
            cc.send(self.out, frame)
            return
        weight = self._weight(mask, frame.width, frame.height)
        if frame.format == ImageFormat.YCBCR420P:
            cc.send(self.out, ImageFrame.from_i420(self._blend_planes(frame.data, weight)))
            return
        pixels = frame.data
        rgb = pixels[:, :, :3]
        if self.options.adjust_with_luminance:
            weight = weight * (rgb @ _LUMA)
        out = pixels.copy()
        out[:, :, :3] = blend_rgb(rgb, self._rgb, weight)
        cc.send(self.out, ImageFrame(out, frame.format))

    def _weight(self, mask: Any, width: int, height: int) -> np.ndarray:
        """The HxW float32 blend weight before the luminance: mask channel, scale, resize,
        inversion."""
        import cv2

        opts: RecolorCalculatorOptions = self.options
        plane = _mask_values(mask, opts.mask_channel)
        if plane.shape != (height, width):
            plane = cv2.resize(plane, (width, height), interpolation=cv2.INTER_LINEAR)
        if opts.invert_mask:
            plane = 1.0 - plane
        return plane

    def _blend_planes(self, planes: np.ndarray, weight: np.ndarray) -> np.ndarray:
        import cv2

        out = planes.copy()
        y, u, v = split_i420(out)
        if self.options.adjust_with_luminance:
            luminance = np.clip((y.astype(np.float32) - 16.0) / 219.0, 0.0, 1.0)
            weight = weight * luminance
        half = cv2.resize(weight, (u.shape[1], u.shape[0]), interpolation=cv2.INTER_AREA)
        for plane, w, target in ((y, weight, self._yuv[0]), (u, half, self._yuv[1]),
                                 (v, half, self._yuv[2])):
            plane[:] = np.clip(np.rint(plane * (1.0 - w) + np.float32(target) * w), 0, 255)
        return out


def blend_rgb(rgb: np.ndarray, color: tuple[int, int, int], weight: np.ndarray) -> np.ndarray:
    """MediaPipe's CPU blend of an HxWx3 uint8 image: round(in * (1 - w)) + round(color * w),
    saturated to 8 bits (OpenCV's Vec3b arithmetic)."""
    w = weight.astype(np.float64)[:, :, np.newaxis]
    kept = np.rint(rgb * (1.0 - w))
    added = np.rint(np.asarray(color, np.float64) * w)
    return np.clip(np.clip(kept, 0, 255) + np.clip(added, 0, 255), 0, 255).astype(np.uint8)


def _mask_values(mask: Any, channel: MaskChannel) -> np.ndarray:
    """The mask as an HxW float32 array of weights in [0, 1] (8-bit values over 255)."""
    if isinstance(mask, ImageFrame):
        if mask.format not in _MASKS:
            raise ValueError(f"input MASK needs a VEC32F1, GRAY8, SRGB or SRGBA image, "
                             f"got {mask!r}")
        data = mask.data
    elif isinstance(mask, np.ndarray):
        data = mask
    else:
        raise TypeError(f"input MASK needs an ImageFrame or an HxW array, got "
                        f"{type(mask).__name__}")
    if data.ndim == 3:
        if data.shape[2] == 1:
            data = data[:, :, 0]
        elif channel == MaskChannel.ALPHA:
            if data.shape[2] != 4:
                raise ValueError(f"mask_channel ALPHA needs a 4-channel mask, got shape "
                                 f"{data.shape}")
            data = data[:, :, 3]
        else:
            data = data[:, :, 0]
    if data.ndim != 2 or data.size == 0:
        raise ValueError(f"input MASK needs an HxW mask, got shape {data.shape}")
    if np.issubdtype(data.dtype, np.integer):
        return data.astype(np.float32) * np.float32(1.0 / 255.0)
    return data.astype(np.float32, copy=False)
