"""Images at the server's edge: JPEG or PNG bytes in, `ImageFrame` (SRGB) out, and back.

Decoding says exactly what was wrong with a bad upload (`BadImage`, a ValueError the
routes answer with 400): empty, not a JPEG or PNG by its first bytes, or undecodable.
OpenCV does the work; it releases the GIL, so callers run these in a worker thread.
"""

from __future__ import annotations

import numpy as np

from mediagraph.formats import ImageFormat, ImageFrame

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_PIXELS = 64_000_000  # a 8000x8000 photo; beyond this a "photo" is a decompression bomb


class BadImage(ValueError):
    """Bytes that are not a usable JPEG or PNG image; the message says why."""


def image_kind(data: bytes) -> str:
    """"jpeg" or "png" by the magic bytes, else BadImage."""
    if not data:
        raise BadImage("the body is empty: send the bytes of one JPEG or PNG image")
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    if data.startswith(PNG_MAGIC):
        return "png"
    raise BadImage(f"not a JPEG or PNG image: it starts with {bytes(data[:8])!r} "
                   "(a JPEG starts with FF D8 FF, a PNG with 89 'PNG')")


def decode_image(data: bytes) -> ImageFrame:
    """The RGB `ImageFrame` of a JPEG or PNG (alpha dropped, 16-bit PNGs scaled to 8)."""
    import cv2

    kind = image_kind(data)
    size = declared_size(data, kind)
    if size is not None and size[0] * size[1] > MAX_PIXELS:  # refused before any pixel is made
        raise BadImage(f"the image is {size[0]}x{size[1]}: more than {MAX_PIXELS} pixels")
    buffer = np.frombuffer(data, np.uint8)
    try:
        pixels = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    except cv2.error as exc:  # e.g. more pixels than OpenCV allows
        raise BadImage(f"cannot decode this {kind.upper()}: {exc.msg.strip()}") from None
    if pixels is None or pixels.size == 0:
        raise BadImage(f"cannot decode this {kind.upper()}: the data is damaged or cut short "
                       f"({len(data)} bytes)")
    if pixels.shape[0] * pixels.shape[1] > MAX_PIXELS:
        raise BadImage(f"the image is {pixels.shape[1]}x{pixels.shape[0]}: more than "
                       f"{MAX_PIXELS} pixels")
    return ImageFrame(cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB), ImageFormat.SRGB)


def declared_size(data: bytes, kind: str) -> tuple[int, int] | None:
    """(width, height) as the file's header states it (PNG's IHDR, a JPEG's SOF marker),
    or None where the header does not say (then the decoder finds out)."""
    if kind == "png":
        return (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) \
            if len(data) >= 24 and data[12:16] == b"IHDR" else None
    at = 2
    while at + 9 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        length = int.from_bytes(data[at + 2:at + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a start of frame
            return (int.from_bytes(data[at + 7:at + 9], "big"),
                    int.from_bytes(data[at + 5:at + 7], "big"))
        at += 2 + length
    return None


def encode_jpeg(frame: ImageFrame, quality: int = 80) -> bytes:
    """JPEG bytes of an image of any format (converted to RGB first)."""
    import cv2

    return bytes(cv2.imencode(".jpg", _bgr(frame), [cv2.IMWRITE_JPEG_QUALITY, quality])[1])


def encode_png(frame: ImageFrame) -> bytes:
    import cv2

    return bytes(cv2.imencode(".png", _bgr(frame))[1])


def _bgr(frame: ImageFrame) -> np.ndarray:
    import cv2

    from mediagraph.colour import convert

    pixels = frame.to_ndarray()
    if frame.format == ImageFormat.GRAY8:
        return pixels
    if frame.format == ImageFormat.VEC32F1:  # a mask or a score map in [0, 1]
        return (np.clip(pixels, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if frame.format == ImageFormat.SRGBA:
        return cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGR)
    if frame.format != ImageFormat.SRGB:
        pixels = convert(frame, ImageFormat.SRGB).to_ndarray()
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
