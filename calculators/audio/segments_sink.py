"""SegmentsSinkCalculator: write speech segments as SRT subtitles, JSON lines or JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO

from mediagraph.calculators.audio.speech_segments import SpeechSegment
from mediagraph.staged_file import StagedFile
from mediagraph import Calculator, CalculatorContext, Input, Options, SideInput

FORMATS = {".srt": "srt", ".jsonl": "jsonl", ".json": "json"}


class SegmentsSinkCalculatorOptions(Options):
    format: str = ""      # "srt", "jsonl" or "json"; "": from the file suffix
    text: str = "[speech]"  # the subtitle text of each SRT cue

    def check(self) -> None:
        if self.format and self.format.lower().lstrip(".") not in FORMATS.values():
            raise ValueError(f"format {self.format!r} is not one of srt, jsonl, json "
                             "(or \"\" to follow the file suffix)")


def srt_time(seconds: float) -> str:
    """SRT's `HH:MM:SS,mmm`."""
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{ms:03d}"


def srt_cue(index: int, segment: SpeechSegment, text: str) -> str:
    return f"{index}\n{srt_time(segment.start)} --> {srt_time(segment.end)}\n{text}\n\n"


def segment_record(segment: SpeechSegment) -> dict[str, float]:
    # whole milliseconds, rounded as the SRT times are
    return {"start": round(segment.start * 1000) / 1000, "end": round(segment.end * 1000) / 1000}


class SegmentsSinkCalculator(Calculator):
    """Write each speech segment to a file as it arrives: SRT cues, JSON lines or JSON.

    The format follows the path's suffix (`.srt`, `.jsonl`, `.json`) unless `format` is
    set. SRT cues and JSON lines are appended and flushed segment by segment, so a
    live (microphone) run can be followed with `tail -f`; a `.json` file (one array) is
    written in close(). close() runs even when the run fails, so the segments found
    before a failure are always on disk, and the file always exists (empty, or `[]`).

    Inputs:  SEGMENTS (SpeechSegment)
    Side inputs: OUTPUT_FILE_PATH (str)
    Options: format ("" = by suffix), text (SRT cue text, default "[speech]")

    Example config:
        node { calculator: "SegmentsSinkCalculator" input_stream: "SEGMENTS:segments"
               input_side_packet: "OUTPUT_FILE_PATH:output_path" }
    """

    Options = SegmentsSinkCalculatorOptions
    segments = Input(SpeechSegment)
    output_file_path = SideInput(str)

    def open(self, cc: CalculatorContext) -> None:
        self.path = Path(os.fspath(cc.side(self.output_file_path)))
        fmt = self.options.format.lower().lstrip(".") or FORMATS.get(self.path.suffix.lower())
        if fmt not in FORMATS.values():
            raise ValueError(f"node '{cc.node_name}': cannot tell the segments format of "
                             f"'{self.path}'; use a .srt, .jsonl or .json file name (or set "
                             f"the format option)")
        self.format = fmt
        self.count = 0
        self.collected: list[dict[str, float]] = []
        # Written beside the target and renamed over it when the sink closes (StagedFile).
        self.staged = StagedFile(self.path)
        self.file: IO[str] | None = self.staged.path.open("w", encoding="utf-8")

    def process(self, cc: CalculatorContext) -> None:
        segment: SpeechSegment = cc.get(self.segments)
        self.count += 1
        if self.format == "json":
            self.collected.append(segment_record(segment))
            return
        assert self.file is not None
        if self.format == "srt":
            self.file.write(srt_cue(self.count, segment, self.options.text))
        else:
            self.file.write(json.dumps(segment_record(segment)) + "\n")
        self.file.flush()

    def close(self, cc: CalculatorContext) -> None:
        file, self.file = self.file, None
        if file is None:
            return
        try:
            if self.format == "json":
                json.dump(self.collected, file, indent=1)
                file.write("\n")
        except BaseException:
            file.close()
            self.staged.discard()
            raise
        file.close()
        self.staged.commit()


def read_segments(path: str | os.PathLike[str]) -> list[tuple[float, float]]:
    """Segments back from a file this sink wrote (any of its formats), in seconds."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return [(r["start"], r["end"]) for r in json.loads(text)]
    if suffix == ".jsonl":
        return [(r["start"], r["end"]) for r in map(json.loads, filter(None, text.splitlines()))]
    out: list[tuple[float, float]] = []
    for block in text.strip().split("\n\n"):
        lines = block.strip().splitlines()
        if len(lines) >= 2:
            start, _, end = lines[1].partition(" --> ")
            out.append((_srt_seconds(start), _srt_seconds(end)))
    return out


def _srt_seconds(text: str) -> float:
    hms, _, ms = text.strip().partition(",")
    h, m, s = (int(x) for x in hms.split(":"))
    return h * 3600 + m * 60 + s + int(ms) / 1000
