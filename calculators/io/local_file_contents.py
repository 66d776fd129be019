"""LocalFileContentsCalculator: a file's contents as a side packet (MediaPipe's model loaders)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mediagraph import (Calculator, CalculatorContext, NodeConfig, Options, SideInputs,
                        SideOutputs, Stop, models, option)


class LocalFileContentsCalculatorOptions(
        Options, proto_name="mediapipe.LocalFileContentsCalculatorOptions", extension=346849340):
    """MediaPipe 0.10.14's `local_file_contents_calculator.proto` (field 1 is `text_mode`
    there, as the wheel's pose and face model loaders set it; later sources call it
    `read_as_binary` with the opposite sense)."""

    text_mode: bool = option(1, default=False,
                             doc="true: read as UTF-8 text (a str) instead of bytes")


class FileContents(bytes):
    """The bytes of a file, remembering the file they came from.

    TfLiteModelCalculator takes MediaPipe's MODEL_BLOB as these bytes and hands the
    inference backends the file itself (they map, convert and cache models by file), so a
    model is read once here and never written back out.
    """

    path: Path

    def __new__(cls, data: bytes, path: Path) -> FileContents:
        contents = super().__new__(cls, data)
        contents.path = path
        return contents


class LocalFileContentsCalculator(Calculator):
    """Read each FILE_PATH side packet's file and output its contents as CONTENTS.

    A path that is not a file is looked up as a model by its name in the model cache
    (`mediagraph.models.resolve`), so MediaPipe's model loaders, which read
    `mediapipe/modules/pose_landmark/pose_landmark_full.tflite` this way, run unchanged.
    FILE_PATH and CONTENTS pair up by index: `FILE_PATH:0:a` fills `CONTENTS:0:x`.

    Inputs:  none
    Outputs: none
    Side inputs: FILE_PATH (str or path), one or more
    Side outputs: CONTENTS (FileContents, a bytes; str with text_mode), one per FILE_PATH
    Options: LocalFileContentsCalculatorOptions: text_mode

    Example config:
        node {
          calculator: "LocalFileContentsCalculator"
          input_side_packet: "FILE_PATH:model_path"
          output_side_packet: "CONTENTS:model_blob"
        }
    """

    Options = LocalFileContentsCalculatorOptions

    file_paths = SideInputs(str | os.PathLike, tag="FILE_PATH")
    contents = SideOutputs(bytes | str, tag="CONTENTS")

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        paths, outputs = node.count(cls.file_paths), node.count(cls.contents)
        if paths != outputs:
            raise ValueError(f"{paths} FILE_PATH side inputs but {outputs} CONTENTS side "
                             "outputs; they pair up by index")
        if paths == 0:
            raise ValueError("LocalFileContentsCalculator needs a FILE_PATH side input")

    def open(self, cc: CalculatorContext) -> None:
        for index in range(cc.count(self.file_paths)):
            value = cc.side(self.file_paths[index])
            if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
                raise TypeError(f"FILE_PATH:{index} needs a file path, got {value!r}")
            path = models.resolve(value)
            if self.options.text_mode:
                cc.set_side(self.contents[index], path.read_text(encoding="utf-8"))
            else:
                cc.set_side(self.contents[index], FileContents(path.read_bytes(), path))

    def process(self, cc: CalculatorContext) -> Any:
        return Stop  # a side-packet node: nothing to stream
