"""ImageFileSinkCalculator: images to numbered files; round trip with the source."""

from __future__ import annotations

import os

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import CalculatorError, Graph, GraphConfigError
from mediagraph.testing import samples
from mediagraph.formats import ImageFormat, ImageFrame
from mediagraph.testing import CalculatorRunner, values

pytestmark = pytest.mark.timeout(120)


def _images(n, width=32, height=24):
    return [(ImageFrame(samples.video_frame(i, n, width, height)), i * 1000) for i in range(n)]


def test_source_to_sink_round_trip_is_lossless_for_png(tmp_path):
    originals = samples.make_images(tmp_path / "in", 5, (40, 30))
    (tmp_path / "out").mkdir()
    graph = Graph("""
        input_side_packet: "pattern" input_side_packet: "out_dir"
        node { calculator: "ImageFileSourceCalculator" input_side_packet: "FILE_PATTERN:pattern"
               output_stream: "IMAGE:image" }
        node { calculator: "ImageFileSinkCalculator" input_stream: "IMAGE:image"
               input_side_packet: "OUTPUT_DIR:out_dir" output_stream: "FILE_PATH:written" }""")
    result = graph.run(side_packets={"pattern": str(tmp_path / "in"),
                                     "out_dir": str(tmp_path / "out")}, timeout=60)
    written = values(result["written"])
    assert [os.path.basename(p) for p in written] == [f"frame_{i:05d}.png" for i in range(5)]
    import cv2
    for original, copy in zip(originals, written):
        assert np.array_equal(cv2.imread(str(original)), cv2.imread(copy))


@pytest.mark.parametrize("pattern, names", [
    ("img_{index}.jpg", ["img_0.jpg", "img_1.jpg", "img_2.jpg"]),
    ("at_{timestamp}.png", ["at_0.png", "at_1000.png", "at_2000.png"]),
    ("sub/{index:02d}.png", ["sub/00.png", "sub/01.png", "sub/02.png"]),
])
def test_pattern_names_files_and_suffix_picks_the_format(tmp_path, pattern, names):
    (tmp_path / "sub").mkdir()
    runner = CalculatorRunner("ImageFileSinkCalculator",
                              options={"pattern": pattern, "output_dir": str(tmp_path)})
    runner.run({"IMAGE": _images(3)})
    for name in names:
        data = (tmp_path / name).read_bytes()
        magic = b"\xff\xd8" if name.endswith(".jpg") else b"\x89PNG"
        assert data.startswith(magic)


@pytest.mark.parametrize("fmt", [ImageFormat.SRGBA, ImageFormat.GRAY8])
def test_alpha_and_gray_images_are_written(tmp_path, fmt):
    data = np.full((8, 8, fmt.channels), 77, np.uint8)
    CalculatorRunner("ImageFileSinkCalculator").run(
        {"IMAGE": [(ImageFrame(data, fmt), 0)]}, {"OUTPUT_DIR": str(tmp_path)})
    import cv2
    assert cv2.imread(str(tmp_path / "frame_00000.png"), cv2.IMREAD_UNCHANGED).shape[:2] == (8, 8)


def _file_as_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    return tmp_path / "file"


@pytest.mark.parametrize("make, options, expected", [
    (lambda d: d / "missing", {}, "does not exist"),
    (_file_as_folder, {}, "not a folder"),
    (lambda d: d, {"pattern": "frame_{index}.xyz"}, "cannot write images as"),
], ids=["missing-folder", "folder-is-a-file", "unknown-suffix"])
def test_bad_output_fails_in_open(tmp_path, make, options, expected):
    folder = make(tmp_path)
    with pytest.raises(CalculatorError, match=expected) as excinfo:
        CalculatorRunner("ImageFileSinkCalculator", options=options).run(
            {"IMAGE": _images(1)}, {"OUTPUT_DIR": str(folder)})
    assert excinfo.value.method == "open"
    if "folder" in expected or "exist" in expected:
        assert str(folder) in str(excinfo.value)


def test_bad_pattern_fails_at_validation(tmp_path):
    with pytest.raises(GraphConfigError, match="bad file name pattern 'frame_{number}.png'"):
        CalculatorRunner("ImageFileSinkCalculator", options={"pattern": "frame_{number}.png"}
                         ).run({"IMAGE": _images(1)}, {"OUTPUT_DIR": str(tmp_path)})


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_unwritable_folder_fails_in_open(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(CalculatorError, match="cannot write images") as excinfo:
            CalculatorRunner("ImageFileSinkCalculator").run(
                {"IMAGE": _images(1)}, {"OUTPUT_DIR": str(folder)})
        assert str(folder) in str(excinfo.value)
    finally:
        folder.chmod(0o700)
