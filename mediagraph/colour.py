"""Colour conversions between image formats: the one place that turns YUV into RGB and back.

Frames travel in the format their producer made (a video decoder's YUV 4:2:0 planes,
a PNG's RGB); a consumer says which formats it takes on its input port
(`Input(ImageFrame, formats=...)`), and the framework calls `adapt` at the consumer's
read to convert what it does not take. A port typed ImageFrame that declares nothing
takes the interleaved formats only (`INTERLEAVED`), so planar frames reach calculators
written before planar frames existed as SRGB.

Conversions are made once per frame and kept on it (`ImageFrame.conversion`), however
many consumers, on however many threads, ask. YUV here is BT.601, limited range: what
FFmpeg's swscale assumes for untagged video and what the decoder keeps as planes. A
planar frame may carry its producer's own RGB conversion (the decoder hands over
swscale's), so its RGB is the same pixels as converting at the source.
"""

from __future__ import annotations

__all__ = ["BT601_YUV_TO_RGB", "INTERLEAVED", "PLANAR", "adapt", "convert", "i420_to_rgb",
           "reformatter", "rgb_to_i420", "rgb_to_yuv", "split_i420", "swscale_i420_to_rgb",
           "yuv_to_rgb_pixels"]

import threading
from typing import Any, Callable

import numpy as np

from mediagraph.formats import ImageFormat, ImageFrame, split_i420

PLANAR = frozenset({ImageFormat.YCBCR420P, ImageFormat.YCBCR420P10})
INTERLEAVED = frozenset(ImageFormat) - PLANAR
"""What a port typed ImageFrame takes when it declares no formats."""

# BT.601 limited range, as swscale converts "yuv420p" without other tags:
# (R, G, B) = M @ (Y, U, V, 1), the layout cv2.transform takes.
_Y_GAIN, _V_TO_R, _U_TO_G, _V_TO_G, _U_TO_B = 1.164383, 1.596027, 0.391762, 0.812968, 2.017232
BT601_YUV_TO_RGB = np.array(
    [[_Y_GAIN, 0.0, _V_TO_R, -16 * _Y_GAIN - 128 * _V_TO_R],
     [_Y_GAIN, -_U_TO_G, -_V_TO_G, -16 * _Y_GAIN + 128 * (_U_TO_G + _V_TO_G)],
     [_Y_GAIN, _U_TO_B, 0.0, -16 * _Y_GAIN - 128 * _U_TO_B]], np.float32)
BT601_YUV_TO_RGB.flags.writeable = False

# Full-range chroma (OpenCV's YCrCb) -> BT.601 limited range (swscale's default for
# rgb24 -> yuv420p): 128 + (c - 128) * 224/255.
_LIMITED_CHROMA = np.clip(np.round(128 + (np.arange(256) - 128) * 224 / 255), 0, 255
                          ).astype(np.uint8)

_local = threading.local()


# -- whole frames --------------------------------------------------------------------


def convert(frame: ImageFrame, format: ImageFormat) -> ImageFrame:
    """`frame` in `format`: itself when it already is, else converted once and kept."""
    if frame.format == format:
        return frame
    make = _CONVERSIONS.get((frame.format, format))
    if make is None:
        raise ValueError(f"no conversion from {frame.format.name} to {format.name} "
                         f"(for {frame!r})")
    return frame.conversion(format, make)


def adapt(frame: ImageFrame, accepted: frozenset[ImageFormat]) -> ImageFrame:
    """`frame` for a port that takes `accepted`: as it is when taken (or when no
    conversion can help, so the consumer names the mismatch), else converted, SRGB
    first among the targets."""
    if frame.format in accepted:
        return frame
    for target in _TARGETS:
        if target in accepted and (frame.format, target) in _CONVERSIONS:
            return convert(frame, target)
    return frame


def _i420_frame_to_srgb(frame: ImageFrame) -> ImageFrame:
    rgb = np.asarray(frame.rgb_source() if frame.rgb_source is not None
                     else i420_to_rgb(frame.data))
    if rgb.shape != (frame.height, frame.width, 3) or rgb.dtype != np.uint8:
        raise ValueError(f"{frame!r}: its RGB conversion gave {rgb.dtype} {rgb.shape}, "
                         f"expected uint8 {(frame.height, frame.width, 3)}")
    return ImageFrame(rgb, ImageFormat.SRGB)


def _srgb_frame_to_i420(frame: ImageFrame) -> ImageFrame:
    return ImageFrame.from_i420(rgb_to_i420(frame.data))


_CONVERSIONS: dict[tuple[ImageFormat, ImageFormat], Callable[[ImageFrame], ImageFrame]] = {
    (ImageFormat.YCBCR420P, ImageFormat.SRGB): _i420_frame_to_srgb,
    (ImageFormat.SRGB, ImageFormat.YCBCR420P): _srgb_frame_to_i420,
}
_TARGETS = (ImageFormat.SRGB, ImageFormat.YCBCR420P)


# -- planes and pixels ---------------------------------------------------------------


def i420_to_rgb(planes: np.ndarray) -> np.ndarray:
    """I420 planes as HxWx3 RGB with OpenCV (BT.601 limited range): the conversion for
    planes a calculator made (drawn on, blurred), with no source of its own."""
    import cv2

    return cv2.cvtColor(planes, cv2.COLOR_YUV2RGB_I420)


def swscale_i420_to_rgb(planes: np.ndarray) -> np.ndarray:
    """I420 planes as RGB by swscale: the same pixels as PyAV's `to_ndarray(format="rgb24")`
    of the decoded frame they came from (BT.601 limited range), without keeping it alive."""
    import av

    frame = av.VideoFrame.from_numpy_buffer(planes, format="yuv420p")
    return reformatter().reformat(frame, format="rgb24").to_ndarray()


def reformatter() -> Any:
    """This thread's swscale converter. PyAV's frame.to_ndarray(format=...) builds a fresh
    swscale context for every frame, which costs as much as the conversion itself."""
    converter = getattr(_local, "reformatter", None)
    if converter is None:
        import av

        converter = _local.reformatter = av.video.reformatter.VideoReformatter()
    return converter


def rgb_to_i420(rgb: np.ndarray) -> np.ndarray:
    """An even-sized RGB image as planar YUV 4:2:0 (H*3/2 x W), BT.601 limited range.

    Faster than the swscale conversion PyAV would do inside encode(), and without the
    GIL: OpenCV's I420 conversion gives Y; chroma comes from 2x2 box averages (a closer
    round trip than OpenCV's own I420 chroma, close to swscale's), converted at quarter
    size.
    """
    import cv2

    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
    half = cv2.resize(rgb, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    _, cr, cb = cv2.split(cv2.LUT(cv2.cvtColor(half, cv2.COLOR_RGB2YCrCb), _LIMITED_CHROMA))
    flat = yuv.reshape(-1)
    luma, quarter = height * width, (height // 2) * (width // 2)
    flat[luma:luma + quarter] = cb.reshape(-1)
    flat[luma + quarter:] = cr.reshape(-1)
    return yuv


def yuv_to_rgb_pixels(yuv: np.ndarray) -> np.ndarray:
    """An HxWx3 uint8 array of (Y, U, V) samples as RGB (BT.601 limited range, OpenCV)."""
    import cv2

    return cv2.transform(yuv, BT601_YUV_TO_RGB)


def rgb_to_yuv(color: tuple[int, int, int]) -> tuple[int, int, int]:
    """One RGB colour as BT.601 limited-range (Y, U, V)."""
    r, g, b = (c / 255.0 for c in color)
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    u = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    v = 128 + 112.0 * r - 93.786 * g - 18.214 * b
    return tuple(int(min(255, max(0, round(c)))) for c in (y, u, v))  # type: ignore[return-value]
