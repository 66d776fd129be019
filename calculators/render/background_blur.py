"""BackgroundBlurCalculator: blur an image where a segmentation mask says background."""

from __future__ import annotations

import numpy as np

from mediagraph.calculators._images import expect_image, mask_plane
from mediagraph import Calculator, CalculatorContext, Input, Options, Output, option
from mediagraph.formats import ImageFormat, ImageFrame, split_i420

_BLURRABLE = (ImageFormat.SRGB, ImageFormat.SRGBA, ImageFormat.SBGRA, ImageFormat.GRAY8,
              ImageFormat.YCBCR420P)


class BackgroundBlurCalculatorOptions(Options,
                                      proto_name="mediagraph.BackgroundBlurCalculatorOptions"):
    """mediagraph's own options (no MediaPipe counterpart; the extension number is derived)."""

    blur_radius: int = option(1, default=15, doc="Gaussian blur radius in pixels (kernel 2r+1)")
    mask_threshold: float = option(2, default=0.0,
                                   doc="0: blend by the mask's value; else a hard cut, "
                                       "foreground where mask >= threshold")
    invert_mask: bool = option(3, default=False, doc="blur the foreground instead")

    def check(self) -> None:
        if self.blur_radius < 0:
            raise ValueError(f"blur_radius must be 0 or more, got {self.blur_radius}")
        if not 0.0 <= self.mask_threshold <= 1.0:
            raise ValueError(f"mask_threshold must be in [0, 1], got {self.mask_threshold}")


class BackgroundBlurCalculator(Calculator):
    """Blur the background of an image, keeping the person (or whatever the mask marks) sharp.

    out = image * m + blurred(image) * (1 - m), m the mask resized (bilinear) to the
    image: pixels where the mask is 1 are kept exactly, where it is 0 they come from a
    Gaussian blur of the whole frame. A soft mask blends smoothly; `mask_threshold`
    makes it a hard cut. One OpenCV blur and a few numpy operations per frame.

    A YCBCR420P frame (a decoded video frame) is blurred on its planes and goes out
    YCBCR420P (`blur_background_i420`).

    Inputs:  IMAGE (ImageFrame: SRGB, SRGBA, SBGRA, GRAY8 or YCBCR420P), MASK (VEC32F1 ImageFrame
             or HxW float array in [0, 1], 1 = foreground; e.g. SelfieSegmentationCpu's
             SEGMENTATION_MASK). A frame without a mask at its timestamp is passed
             through unchanged.
    Outputs: IMAGE (ImageFrame, the input's format and size)
    Options: BackgroundBlurCalculatorOptions: blur_radius (15), mask_threshold (0: soft),
             invert_mask

    Example config:
        node {
          calculator: "BackgroundBlurCalculator"
          input_stream: "IMAGE:input_video"
          input_stream: "MASK:segmentation_mask"
          output_stream: "IMAGE:output_video"
          options { [mediagraph.BackgroundBlurCalculatorOptions.ext] { blur_radius: 21 } }
        }
    """

    Options = BackgroundBlurCalculatorOptions

    image = Input(ImageFrame, tag="IMAGE", formats=_BLURRABLE)
    mask = Input(tag="MASK")
    out = Output(ImageFrame, tag="IMAGE")

    def process(self, cc: CalculatorContext) -> None:
        frame = cc.get(self.image)
        if frame is None:
            return
        frame = expect_image(frame, "IMAGE", _BLURRABLE)
        mask = cc.get(self.mask)
        if mask is None:
            cc.send(self.out, frame)
            return
        plane = mask_plane(mask, "input MASK")
        blur = (blur_background_i420 if frame.format == ImageFormat.YCBCR420P
                else blur_background)
        cc.send(self.out, ImageFrame(blur(frame.data, plane, self.options), frame.format))


def _weight(mask: np.ndarray, height: int, width: int,
            opts: BackgroundBlurCalculatorOptions) -> np.ndarray:
    """The foreground weight per pixel (HxW float32 in [0, 1]) from the mask."""
    import cv2

    mask = mask.astype(np.float32, copy=False)
    if mask.shape != (height, width):
        mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
    if opts.mask_threshold > 0.0:
        weight = (mask >= np.float32(opts.mask_threshold)).astype(np.float32)
    else:
        weight = np.clip(mask, 0.0, 1.0)
    return 1.0 - weight if opts.invert_mask else weight


def _blend(sharp: np.ndarray, blurred: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """blurred + (sharp - blurred) * w: exact where w is 0 or 1, one multiply a channel."""
    out = blurred.astype(np.float32)
    out += (sharp.astype(np.float32) - out) * weight
    return np.rint(out, out=out).astype(np.uint8)


def blur_background(pixels: np.ndarray, mask: np.ndarray,
                    opts: BackgroundBlurCalculatorOptions) -> np.ndarray:
    """`pixels` (HxWxC uint8) with the background (mask 0) blurred; a new array."""
    import cv2

    height, width = pixels.shape[:2]
    weight = _weight(mask, height, width, opts)
    if opts.blur_radius == 0:
        return pixels.copy()
    kernel = 2 * opts.blur_radius + 1
    blurred = cv2.GaussianBlur(pixels, (kernel, kernel), 0)
    if blurred.ndim == 2:
        blurred = blurred[:, :, np.newaxis]
    return _blend(pixels, blurred, weight[:, :, np.newaxis])


def blur_background_i420(planes: np.ndarray, mask: np.ndarray,
                         opts: BackgroundBlurCalculatorOptions) -> np.ndarray:
    """`blur_background` on YUV 4:2:0 planes; a new (H*3/2)xW array.

    Blur and blend are linear, so each plane is done alone: luma as the RGB pixels are,
    chroma at half size with half the Gaussian's sigma and each sample weighted by the
    mean of its 2x2 pixels -- the RGB result up to rounding once it is 4:2:0 again.
    """
    import cv2

    if opts.blur_radius == 0:
        return planes.copy()
    out = np.empty_like(planes)
    luma, _, _ = split_i420(planes)
    height, width = luma.shape
    weight = _weight(mask, height, width, opts)
    half = cv2.resize(weight, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    kernel = 2 * opts.blur_radius + 1
    sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8  # OpenCV's sigma for this kernel size
    chroma_kernel = 2 * ((opts.blur_radius + 1) // 2) + 1
    for source, target, scale, w in zip(split_i420(planes), split_i420(out), (1, 2, 2),
                                        (weight, half, half)):
        size = kernel if scale == 1 else chroma_kernel
        blurred = cv2.GaussianBlur(source, (size, size), sigma / scale)
        target[:] = _blend(source, blurred, w)
    return out
