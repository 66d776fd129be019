"""The video graphs keep decoded frames YCBCR420P from decoder to encoder: no node converts
them, except that the frame of a graph that crops moving ROIs (hand, pose, face mesh,
holistic) is converted to RGB once, for all its crops."""

from __future__ import annotations

from pathlib import Path

import pytest

import mediagraph as mg
from mediagraph import colour, models
from mediagraph.formats import ImageFormat
from mediagraph.testing import samples

GRAPHS = Path(__file__).resolve().parents[2] / "graphs"
pytestmark = pytest.mark.timeout(180)


@pytest.mark.parametrize("graph, model, make", [
    ("face_detection_video", "face_detection_short_range.tflite", samples.make_face_video),
    ("selfie_segmentation", "selfie_segmentation.tflite", samples.make_face_video),
    ("selfie_segmentation_overlay", "selfie_segmentation.tflite", samples.make_face_video),
])
def test_no_node_converts_a_decoded_frame(tmp_path, monkeypatch, graph, model, make):
    try:
        models.resolve(model)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    clip = make(tmp_path / "in.mp4", frames=6, width=320, height=240, audio=False)

    def refuse(frame):
        raise AssertionError(f"{graph} converted {frame!r} to SRGB")

    monkeypatch.setitem(colour._CONVERSIONS, (ImageFormat.YCBCR420P, ImageFormat.SRGB), refuse)
    written = []
    runner = mg.Graph((GRAPHS / f"{graph}.pbtxt").read_text())
    runner.observe_output_stream("output_video", written.append)
    runner.run(side_packets={"input_video_path": str(clip),
                             "output_video_path": str(tmp_path / "out.mp4")})
    assert len(written) == 6
    assert all(p.value.format == ImageFormat.YCBCR420P for p in written)


@pytest.mark.parametrize("graph, model, make", [
    ("hand_tracking", "hand_landmark_lite.tflite", samples.make_hand_video),
    ("holistic_tracking", "hand_recrop.tflite", samples.make_person_video),
])
def test_a_graph_cropping_rois_converts_each_frame_once(tmp_path, monkeypatch, graph, model,
                                                       make):
    try:
        models.resolve(model)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    clip = make(tmp_path / "in.mp4", frames=4, width=320, height=240, audio=False)
    convert = colour._CONVERSIONS[(ImageFormat.YCBCR420P, ImageFormat.SRGB)]
    converted = []

    def count(frame):
        converted.append(id(frame))
        return convert(frame)

    monkeypatch.setitem(colour._CONVERSIONS, (ImageFormat.YCBCR420P, ImageFormat.SRGB), count)
    written = []
    runner = mg.Graph((GRAPHS / f"{graph}.pbtxt").read_text())
    runner.observe_output_stream("output_video", written.append)
    runner.run(side_packets={"input_video_path": str(clip),
                             "output_video_path": str(tmp_path / "out.mp4")})
    assert len(written) == 4
    assert all(p.value.format == ImageFormat.YCBCR420P for p in written)
    assert 1 <= len(converted) == len(set(converted)) <= 4  # at most once per frame
