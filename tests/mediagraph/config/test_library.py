"""The graph library: bundled graphs as package resources, the search path before them."""

from __future__ import annotations

import pytest

import mediagraph as mg
from mediagraph.config import library

pytestmark = pytest.mark.timeout(60)


def test_bundled_graphs_come_from_the_package_not_a_checkout():
    entries = {entry.name: entry for entry in library.graphs()}
    video = entries["face_detection_video"]
    assert video.origin == "mediagraph.graphs" and video.type == ""
    assert entries["face_detection_short_range_cpu"].type == "FaceDetectionShortRangeCpu"
    assert library.find_graph("face_detection_video.pbtxt") == video.resource
    assert library.find_graph("../graphs/face_detection_video") is None


def test_every_bundled_subgraph_resolves_by_type():
    for name in library.subgraph_names():
        config = library.find_subgraph(name)
        assert config.type == name


@pytest.mark.parametrize("text, first", [
    ("# One line.\n# More words.\n\ntype: \"X\"", "One line."),
    ("# Runs a thing: a -> b ->\n# c (kept). Then more.\n#\n#   mediagraph run x\n", "Runs a thing: a -> b -> c (kept)."),
    ("#\n#   example only\n", ""),
    ('node { calculator: "A" }\n# not a header', ""),
])
def test_describe_takes_the_first_sentence_of_the_header(text, first):
    assert library.describe(text) == first


def test_a_search_path_folder_overrides_a_bundled_graph_name(tmp_path, monkeypatch):
    monkeypatch.setattr(library, "_search_path", [])  # leave the process's path as it was
    (tmp_path / "video_passthrough.pbtxt").write_text("# Mine.\n")
    mg.add_search_path(tmp_path)
    entry = next(e for e in library.graphs() if e.name == "video_passthrough")
    assert entry.origin == str(tmp_path) and entry.description == "Mine."


def test_an_unknown_subgraph_name_suggests_bundled_ones():
    with pytest.raises(mg.UnknownCalculatorError, match="FaceDetectionShortRangeCpu"):
        mg.Graph('input_stream: "i" node { calculator: "FaceDetectionShortRangeCPU" '
                 'input_stream: "IMAGE:i" output_stream: "DETECTIONS:d" }')
