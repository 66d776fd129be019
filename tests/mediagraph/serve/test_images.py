"""Uploads to images: what is refused, and why, before the graph sees anything."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from mediagraph.formats import ImageFormat
from mediagraph.serve.images import BadImage, declared_size, decode_image, encode_jpeg


def test_jpeg_and_png_decode_to_rgb():
    bgr = np.zeros((8, 10, 3), np.uint8)
    bgr[..., 2] = 255  # red, in OpenCV's order
    for suffix in (".png", ".jpg"):
        frame = decode_image(bytes(cv2.imencode(suffix, bgr)[1]))
        assert frame.format == ImageFormat.SRGB and frame.shape == (8, 10, 3)
        assert frame.to_ndarray()[4, 5, 0] > 240 and frame.to_ndarray()[4, 5, 2] < 15
    assert encode_jpeg(frame)[:3] == b"\xff\xd8\xff"


def test_a_huge_image_is_refused_from_its_header_before_decoding():
    jpeg = bytes(cv2.imencode(".jpg", np.zeros((48, 64, 3), np.uint8))[1])
    png = bytes(cv2.imencode(".png", np.zeros((48, 64, 3), np.uint8))[1])
    assert declared_size(jpeg, "jpeg") == (64, 48) and declared_size(png, "png") == (64, 48)
    header = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    bomb = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + header
            + struct.pack(">I", zlib.crc32(b"IHDR" + header)))
    with pytest.raises(BadImage, match="60000x60000: more than"):
        decode_image(bomb)
