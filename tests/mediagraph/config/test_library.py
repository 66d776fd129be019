"""The graph library: bundled graphs as package resources, the search path before them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def _scanned_type(text: str) -> str:
    from mediagraph.config.loader import _scan

    return _scan(text).top_level_type


def test_the_quick_type_peek_agrees_with_the_full_scan_on_every_bundled_graph():
    from mediagraph.config.loader import top_level_type

    entries = library.graphs()
    assert len(entries) > 50
    for entry in entries:
        text = entry.resource.read_text(encoding="utf-8")
        assert top_level_type(text) == _scanned_type(text) == entry.type, entry.name


_ITEMS = ['type: "A"', "type:'B'", 'type : "C"', '# type: "E" {', 'package: "type"',
          'input_stream: "type: \\"K\\""', 'executor { type: "I" name: "e" }',
          'node < calculator: "C" input_stream: "x" >', 'node { calculator: "type" }',
          'node { calculator: "N" node_options { [type.googleapis.com/mediapipe.X] {} } }',
          'max_queue_size: 2']


@given(st.lists(st.sampled_from(_ITEMS), max_size=8), st.sampled_from([" ", "\n", "\n\n  "]))
@settings(max_examples=300, deadline=None)
def test_the_quick_type_peek_finds_the_type_protobuf_reads(items, separator):
    from google.protobuf import text_format

    from mediagraph.config.loader import top_level_type
    from mediagraph.config.pool import CalculatorGraphConfig

    text = separator.join(items)
    try:
        config = text_format.Parse(text, CalculatorGraphConfig(), allow_unknown_extension=True)
    except text_format.ParseError:
        return  # two `type:` fields, say: the real parser reports those
    assert top_level_type(text) == config.type == _scanned_type(text)
