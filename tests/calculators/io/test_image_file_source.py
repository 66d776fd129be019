"""ImageFileSourceCalculator: a file, a glob or a folder of images, in sorted order."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import CalculatorError
from mediagraph.testing import samples
from mediagraph.formats import ImageFormat
from mediagraph.testing import CalculatorRunner, timestamps

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def folder(tmp_path):
    samples.make_images(tmp_path / "imgs", 4, (32, 24))
    return tmp_path / "imgs"


def read(pattern, options=None):
    runner = CalculatorRunner("ImageFileSourceCalculator", options=options)
    return runner.run({}, {"FILE_PATTERN": str(pattern)})["IMAGE"]


@pytest.mark.parametrize("pattern, count", [("{d}", 4), ("{d}/*.png", 4),
                                            ("{d}/image_00[12].png", 2),
                                            ("{d}/image_003.png", 1)],
                         ids=["folder", "glob", "glob-range", "one-file"])
def test_patterns_select_sorted_images(folder, pattern, count):
    images = read(pattern.format(d=folder))
    assert len(images) == count
    assert timestamps(images) == [i * 33_333 for i in range(count)]
    means = [float(p.value.to_ndarray().mean()) for p in images]
    assert means == sorted(means)


def test_images_are_rgb_and_match_the_files(folder):
    [image] = read(folder / "image_002.png")
    assert image.value.format == ImageFormat.SRGB
    assert np.array_equal(image.value.to_ndarray(), samples.video_frame(2, 4, 32, 24))


def test_frame_interval_sets_timestamps(folder):
    images = read(folder, {"frame_interval_us": 1000, "first_timestamp": 5})
    assert timestamps(images) == [5, 1005, 2005, 3005]


def test_folder_ignores_files_that_are_not_images(folder):
    (folder / "notes.txt").write_text("not an image")
    assert len(read(folder)) == 4


@pytest.mark.parametrize("make", [lambda d: d / "nothing_here",
                                  lambda d: d / "*.jpg",
                                  lambda d: (d / "empty").mkdir() or d / "empty"],
                         ids=["missing-file", "glob-without-matches", "folder-without-images"])
def test_pattern_without_images_fails_in_open_naming_it(tmp_path, make):
    pattern = make(tmp_path)
    with pytest.raises(CalculatorError) as excinfo:
        read(pattern)
    assert excinfo.value.method == "open" and str(pattern) in str(excinfo.value)


def test_unreadable_image_fails_naming_the_file(folder):
    bad = folder / "image_001.png"
    bad.write_bytes(b"definitely not a png")
    with pytest.raises(CalculatorError, match="cannot read image") as excinfo:
        read(folder)
    assert str(bad) in str(excinfo.value)
