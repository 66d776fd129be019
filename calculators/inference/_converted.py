"""Models converted for one runtime, cached beside their source and keyed by its sha256.

`mediagraph models convert face_detection_short_range.tflite --to openvino` and the
backend that needs the converted model both call `converted()`: the files go next to the
source as `<stem>.<runtime>-<first 12 hex of the source's sha256><suffix>` (with any side
files the runtime writes under the same stem), so a replaced source converts afresh and
an unchanged one never converts twice. Files are written in a temporary folder beside
the target and renamed into place, the main file last: a file that exists is complete,
and two processes converting at once each rename a whole result.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from mediagraph import models

_hashes: dict[tuple[str, int, int], str] = {}
_lock = threading.Lock()


def source_hash(path: Path) -> str:
    """The first 12 hex digits of `path`'s sha256, computed once per unchanged file."""
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    with _lock:
        known = _hashes.get(key)
    if known is None:
        known = models.sha256_of(path)[:12]
        with _lock:
            _hashes[key] = known
    return known


def target_path(source: Path, runtime: str, suffix: str) -> Path:
    return source.parent / f"{source.stem}.{runtime}-{source_hash(source)}{suffix}"


def converted(source: Path, runtime: str, suffix: str, build: Callable[[Path], None]) -> Path:
    """The cached conversion of `source` for `runtime`, made with `build(target)` when absent.

    `build` writes the main file at the path it is given (and side files beside it with
    the same stem); its exceptions propagate and leave nothing behind.
    """
    target = target_path(source, runtime, suffix)
    if target.is_file():
        return target
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        build(work / target.name)
        made = sorted(work.iterdir(), key=lambda p: p.name == target.name)  # main file last
        if not made or made[-1].name != target.name:
            raise RuntimeError(f"converting {source} for {runtime} wrote no {target.name}")
        for path in made:
            os.chmod(path, 0o644)
            os.replace(path, target.parent / path.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def onnx_twin(path: Path) -> Path:
    """`path` if it is ONNX, else its `.onnx` twin (tflite2onnx, converted once, kept beside it)."""
    if path.suffix == ".onnx":
        return path
    twin = path.with_suffix(".onnx")
    if twin.is_file() and twin.stat().st_mtime_ns >= path.stat().st_mtime_ns:
        return twin
    return models.convert(path, twin)
