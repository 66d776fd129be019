"""LocalFileContentsCalculator, and MediaPipe's model-loader chain it starts:
ConstantSidePacket -> LocalFileContents -> TfLiteModelCalculator(MODEL_BLOB) -> MODEL."""

from __future__ import annotations

import os

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import Graph, MediaGraphError, models
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


def test_contents_are_the_file_bytes_and_remember_the_file(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(b"\x00\x01model")
    runner = CalculatorRunner("LocalFileContentsCalculator", side_outputs=["CONTENTS"])
    runner.run({}, {"FILE_PATH": str(path)})
    contents = runner.output_side_packets["CONTENTS"]
    assert contents == b"\x00\x01model" and contents.path == path


def test_text_mode_and_indexed_pairs(tmp_path):
    (tmp_path / "a.txt").write_text("left\n")
    (tmp_path / "b.txt").write_text("right\n")
    graph = Graph(f"""
        output_side_packet: "a" output_side_packet: "b"
        node {{ calculator: "LocalFileContentsCalculator"
               input_side_packet: "FILE_PATH:0:pa" input_side_packet: "FILE_PATH:1:pb"
               output_side_packet: "CONTENTS:0:a" output_side_packet: "CONTENTS:1:b"
               options {{ [mediapipe.LocalFileContentsCalculatorOptions.ext] {{
                 text_mode: true }} }} }}
    """)
    graph.run({}, {"pa": str(tmp_path / "a.txt"), "pb": str(tmp_path / "b.txt")}, timeout=10)
    assert graph.get_output_side_packet("a") == "left\n"
    assert graph.get_output_side_packet("b") == "right\n"


def test_a_missing_file_names_it(tmp_path):
    runner = CalculatorRunner("LocalFileContentsCalculator", side_outputs=["CONTENTS"])
    with pytest.raises(MediaGraphError, match="nowhere.tflite"):
        runner.run({}, {"FILE_PATH": str(tmp_path / "nowhere.tflite")})


def test_blob_from_a_file_is_that_file(tmp_path):
    path = tmp_path / "tiny.tflite"
    path.write_bytes(b"model bytes")
    reader = CalculatorRunner("LocalFileContentsCalculator", side_outputs=["CONTENTS"])
    reader.run({}, {"FILE_PATH": str(path)})
    runner = CalculatorRunner("TfLiteModelCalculator", side_outputs=["MODEL"])
    runner.run({}, {"MODEL_BLOB": reader.output_side_packets["CONTENTS"]})
    assert runner.output_side_packets["MODEL"] == os.fspath(path)


def test_plain_blob_is_stored_once_by_its_hash(tmp_path, monkeypatch):
    monkeypatch.setenv(models.ENV_VAR, str(tmp_path / "cache"))
    paths = []
    for _ in range(2):
        runner = CalculatorRunner("TfLiteModelCalculator", side_outputs=["MODEL"])
        runner.run({}, {"MODEL_BLOB": b"bytes of a model"})
        paths.append(runner.output_side_packets["MODEL"])
    assert paths[0] == paths[1]
    with open(paths[0], "rb") as f:
        assert f.read() == b"bytes of a model"
    assert str(tmp_path / "cache" / "sha256") in paths[0]


def test_blob_and_resource_together_are_refused():
    with pytest.raises(MediaGraphError, match="exactly one of"):
        Graph("""node { calculator: "TfLiteModelCalculator"
                        input_side_packet: "MODEL_BLOB:b" input_side_packet: "MODEL_RESOURCE:r"
                        output_side_packet: "MODEL:m" }""")


def test_mediapipe_loader_chain_reaches_the_cached_model():
    try:
        expected = models.resolve("pose_landmark_full.tflite")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    graph = Graph("""
        output_side_packet: "model"
        node { calculator: "ConstantSidePacketCalculator" output_side_packet: "PACKET:path"
               options { [mediapipe.ConstantSidePacketCalculatorOptions.ext] {
                 packet { string_value: "mediapipe/modules/pose_landmark/pose_landmark_full.tflite" }
               } } }
        node { calculator: "LocalFileContentsCalculator"
               input_side_packet: "FILE_PATH:path" output_side_packet: "CONTENTS:blob" }
        node { calculator: "TfLiteModelCalculator"
               input_side_packet: "MODEL_BLOB:blob" output_side_packet: "MODEL:model" }
    """)
    graph.run({}, {}, timeout=20)
    assert graph.get_output_side_packet("model") == os.fspath(expected)


def test_mediapipes_loader_option_text_mode_false_reads_bytes(tmp_path):
    """MediaPipe's model loaders set `text_mode: false` (field 1, proto default false)."""
    path = tmp_path / "m.tflite"
    path.write_bytes(b"\xff\xfe binary")
    graph = Graph("""
        output_side_packet: "blob"
        node { calculator: "LocalFileContentsCalculator" input_side_packet: "FILE_PATH:p"
               output_side_packet: "CONTENTS:blob"
               options { [mediapipe.LocalFileContentsCalculatorOptions.ext] { text_mode: false } } }
    """)
    graph.run({}, {"p": str(path)}, timeout=10)
    assert graph.get_output_side_packet("blob") == b"\xff\xfe binary"
