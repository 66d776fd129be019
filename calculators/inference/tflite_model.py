"""TfLiteModelCalculator: turn a model resource or blob into the MODEL inference nodes take."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from mediagraph import Calculator, CalculatorContext, SideInput, SideOutput, Stop, models, one_of
from mediagraph.staged_file import StagedFile


class TfLiteModelCalculator(Calculator):
    """Output MODEL_RESOURCE or MODEL_BLOB as the MODEL side packet of InferenceCalculator.

    MediaPipe builds a `tflite::FlatBufferModel` here. mediagraph's InferenceCalculator
    takes its MODEL as a model file path (its backends load, convert and cache models by
    file), so MODEL is a file's path as a `str`:
    - MODEL_RESOURCE (a path, as ResourceProviderCalculator outputs): that file.
    - MODEL_BLOB (bytes, as LocalFileContentsCalculator outputs, MediaPipe's pose and face
      model loaders): the file the bytes were read from when they still match it, else
      the bytes stored once in the model cache by their sha256 (`sha256:<hex>/model.tflite`).
    MediaPipe's MODEL_FD (a file descriptor) is not supported.

    Inputs:  none
    Outputs: none
    Side inputs: MODEL_RESOURCE (str or path) | MODEL_BLOB (bytes): exactly one
    Side outputs: MODEL (str, an existing .tflite or .onnx file)
    Options: none

    Example config:
        node {
          calculator: "TfLiteModelCalculator"
          input_side_packet: "MODEL_BLOB:model_blob"
          output_side_packet: "MODEL:model"
        }
    """

    model_resource = SideInput(str | os.PathLike, optional=True)
    model_blob = SideInput(bytes | str, optional=True)  # MediaPipe: a std::string
    model = SideOutput(str)
    groups = (one_of(model_resource, model_blob),)

    def open(self, cc: CalculatorContext) -> None:
        if cc.connected(self.model_blob):
            cc.set_side(self.model, _blob_file(cc.side(self.model_blob)))
            return
        resource = cc.side(self.model_resource)
        if not isinstance(resource, (str, os.PathLike)) or not str(resource):
            raise TypeError(f"MODEL_RESOURCE needs a model file path, got {resource!r}")
        cc.set_side(self.model, os.fspath(models.resolve(resource)))

    def process(self, cc: CalculatorContext) -> Any:
        return Stop  # a side-packet node: nothing to stream


def _blob_file(blob: Any) -> str:
    """A model file holding exactly `blob`."""
    if not isinstance(blob, (bytes, bytearray, memoryview)) or not len(blob):
        raise TypeError(f"MODEL_BLOB needs the model's bytes (LocalFileContentsCalculator "
                        f"with read_as_binary), got {type(blob).__name__}")
    source = getattr(blob, "path", None)
    if isinstance(source, Path) and source.is_file() and source.stat().st_size == len(blob):
        return os.fspath(source)  # LocalFileContents read it; same size: the file is the blob
    digest = hashlib.sha256(blob).hexdigest()
    target = models.content_folder(digest) / "model.tflite"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = StagedFile(target)
        try:
            staged.path.write_bytes(bytes(blob))
            staged.commit()
        finally:
            staged.discard()
    return os.fspath(models.resolve(f"{models.CONTENT_PREFIX}{digest}/model.tflite"))
