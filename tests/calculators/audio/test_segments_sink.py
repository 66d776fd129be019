"""SegmentsSinkCalculator: SRT, JSON lines and JSON files, finalized even when a run fails."""

from __future__ import annotations

import json

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.audio.segments_sink import (
    SegmentsSinkCalculator,
    read_segments,
    srt_time,
)
from mediagraph.calculators.audio.speech_segments import SpeechSegment
from mediagraph import (
    Calculator,
    CalculatorError,
    Graph,
    GraphBuilder,
    Input,
    Output,
    Stop,
)
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)
SEGMENTS = [SpeechSegment(0.97, 2.3125), SpeechSegment(3.5, 3661.0015)]


def write(path, segments=SEGMENTS, **options):
    runner = CalculatorRunner(SegmentsSinkCalculator, options=options or None)
    runner.run({"SEGMENTS": [(s, i) for i, s in enumerate(segments)]},
               {"OUTPUT_FILE_PATH": str(path)})
    return path


def test_srt_cues_are_numbered_with_srt_times(tmp_path):
    text = write(tmp_path / "out.srt").read_text()
    assert text == ("1\n00:00:00,970 --> 00:00:02,312\n[speech]\n\n"
                    "2\n00:00:03,500 --> 01:01:01,002\n[speech]\n\n")


@pytest.mark.parametrize("suffix", [".srt", ".jsonl", ".json"])
def test_every_format_reads_back(tmp_path, suffix):
    path = write(tmp_path / f"out{suffix}")
    assert read_segments(path) == [(0.97, 2.312), (3.5, 3661.002)]


def test_json_lines_hold_one_object_per_segment(tmp_path):
    lines = write(tmp_path / "out.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"start": 0.97, "end": 2.312},
                                                     {"start": 3.5, "end": 3661.002}]


@pytest.mark.parametrize("suffix, empty", [(".srt", ""), (".jsonl", ""), (".json", "[]\n")])
def test_no_segments_still_writes_a_valid_file(tmp_path, suffix, empty):
    assert write(tmp_path / f"out{suffix}", []).read_text() == empty


def test_format_option_overrides_the_suffix(tmp_path):
    path = write(tmp_path / "segments.txt", format="jsonl")
    assert len(path.read_text().splitlines()) == 2


def test_unknown_suffix_raises_naming_the_formats(tmp_path):
    with pytest.raises(CalculatorError, match=r"\.srt, \.jsonl or \.json"):
        write(tmp_path / "out.txt")


def test_srt_time_rounds_to_milliseconds():
    assert srt_time(0) == "00:00:00,000"
    assert srt_time(59.9996) == "00:01:00,000"


class SegmentsSinkTestFailOnThird(Calculator):
    """Passes segments through and fails on the third: gracefully (Stop from the error:
    what was sent is drained first, as a source does) or hard (a plain exception)."""

    segments = Input(SpeechSegment)
    out = Output(SpeechSegment, tag="SEGMENTS")
    count = 0
    graceful = True

    def process(self, cc):
        self.count += 1
        if self.count == 3:
            if type(self).graceful:
                raise Stop from RuntimeError("upstream broke")
            raise RuntimeError("upstream broke")
        cc.send(self.out, cc.get(self.segments))


def failing_run(path, graceful, monkeypatch):
    monkeypatch.setattr(SegmentsSinkTestFailOnThird, "graceful", graceful)
    b = GraphBuilder()
    b.input_stream("in")
    b.input_side_packet("path")
    b.node(SegmentsSinkTestFailOnThird, inputs=["SEGMENTS:in"], outputs=["SEGMENTS:passed"])
    b.node(SegmentsSinkCalculator, inputs=["SEGMENTS:passed"],
           side_inputs=["OUTPUT_FILE_PATH:path"])
    segments = [SpeechSegment(i, i + 0.5) for i in range(3)]
    with pytest.raises(CalculatorError, match="upstream broke"):
        Graph(b.build()).run({"in": [(s, i) for i, s in enumerate(segments)]},
                             {"path": str(path)}, timeout=10)
    return read_segments(path)


@pytest.mark.parametrize("suffix", [".srt", ".jsonl", ".json"])
def test_segments_sent_before_a_failure_are_written(tmp_path, suffix, monkeypatch):
    assert failing_run(tmp_path / f"out{suffix}", True, monkeypatch) == [(0, 0.5), (1, 1.5)]


@pytest.mark.parametrize("suffix", [".srt", ".jsonl", ".json"])
def test_a_hard_failure_still_leaves_a_valid_file(tmp_path, suffix, monkeypatch):
    # a failing node's queued packets may be dropped, but what arrived is finalized
    written = failing_run(tmp_path / f"out{suffix}", False, monkeypatch)
    assert written in ([], [(0, 0.5)], [(0, 0.5), (1, 1.5)])


def test_an_existing_segments_file_is_replaced_only_when_the_sink_closes(tmp_path):
    from mediagraph.testing import CalculatorRunner

    out = tmp_path / "segments.srt"
    out.write_text("earlier cues\n")
    runner = CalculatorRunner("SegmentsSinkCalculator")
    runner.run({"SEGMENTS": []}, {"OUTPUT_FILE_PATH": str(out)})
    assert out.read_text() == "" and [p.name for p in tmp_path.iterdir()] == ["segments.srt"]
