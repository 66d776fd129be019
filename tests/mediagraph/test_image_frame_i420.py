"""YCBCR420P frames (YUV 4:2:0 planes): size without converting, RGB once, on demand."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest

from mediagraph.colour import convert, i420_to_rgb, rgb_to_yuv
from mediagraph.formats import ImageFormat, ImageFrame, split_i420

pytestmark = pytest.mark.timeout(60)


def planes(height: int = 6, width: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(16, 236, (height * 3 // 2, width), dtype=np.uint8)


def test_size_and_format_come_without_converting():
    calls = []
    frame = ImageFrame.from_i420(planes(), lambda: calls.append(1) or np.zeros((6, 8, 3), np.uint8))
    assert (frame.width, frame.height, frame.channels, frame.shape) == (8, 6, 3, (6, 8, 3))
    assert frame.format == ImageFormat.YCBCR420P and frame.data.shape == (9, 8)
    assert calls == []
    rgb = convert(frame, ImageFormat.SRGB)
    assert rgb.format == ImageFormat.SRGB and rgb.data.shape == (6, 8, 3)
    assert rgb.to_ndarray() is rgb.data and convert(frame, ImageFormat.SRGB) is rgb
    assert calls == [1]
    assert not rgb.data.flags.writeable and not frame.data.flags.writeable


def test_concurrent_consumers_convert_once():
    calls = []
    gate = threading.Barrier(4)

    def to_rgb():
        calls.append(1)
        return np.zeros((6, 8, 3), np.uint8)

    frame = ImageFrame.from_i420(planes(), to_rgb)

    def consume():
        gate.wait(timeout=10)
        convert(frame, ImageFormat.SRGB)

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert calls == [1]


def test_default_conversion_is_bt601_limited_range():
    black, white = rgb_to_yuv((0, 0, 0)), rgb_to_yuv((255, 255, 255))
    assert black == (16, 128, 128) and white == (235, 128, 128)
    red = rgb_to_yuv((255, 0, 0))
    assert red == (81, 90, 240)
    y, u, v = red
    back = i420_to_rgb(np.array([[y, y], [y, y], [u, v]], np.uint8))
    assert np.abs(back[0, 0].astype(int) - (255, 0, 0)).max() <= 2


def test_split_gives_views_of_the_three_planes():
    array = planes(4, 6)
    y, u, v = split_i420(array)
    assert y.shape == (4, 6) and u.shape == v.shape == (2, 3)
    assert np.shares_memory(u, array) and np.shares_memory(v, array)
    rgb = i420_to_rgb(array)
    assert rgb.shape == (4, 6, 3)
    assert np.array_equal(convert(ImageFrame.from_i420(array), ImageFormat.SRGB).data, rgb)
    assert all(np.shares_memory(a, b) for a, b in zip(ImageFrame.from_i420(array).planes,
                                                       (y, u, v)))


def test_pickles_as_its_planes_without_the_converter():
    frame = ImageFrame.from_i420(planes(), lambda: np.full((6, 8, 3), 7, np.uint8))
    copy = pickle.loads(pickle.dumps(frame))
    assert copy.format == ImageFormat.YCBCR420P and copy == frame
    assert copy.rgb_source is None


@pytest.mark.parametrize("bad, message", [
    (np.zeros((9, 8), np.float32), "uint8"),
    (np.zeros((9, 8, 1), np.uint8), "2-D"),
    (np.zeros((10, 8), np.uint8), "H and W even"),
    (np.zeros((9, 7), np.uint8), "H and W even"),
    (np.zeros((0, 8), np.uint8), "positive"),
])
def test_bad_planes_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        ImageFrame.from_i420(bad)


def test_a_converter_giving_the_wrong_shape_is_named():
    frame = ImageFrame.from_i420(planes(), lambda: np.zeros((3, 3, 3), np.uint8))
    with pytest.raises(ValueError, match="RGB conversion gave"):
        convert(frame, ImageFormat.SRGB)
