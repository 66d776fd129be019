"""The model cache: where model files live and how a config's `model_path` resolves.

Models are never downloaded from a model hub at run time. `mediagraph models fetch`
takes MediaPipe's `.tflite` files out of the `mediapipe==0.10.14` wheel and Silero VAD's
`.onnx` out of the `silero-vad==6.2.3` wheel (both from PyPI, fetched with `pip download
--no-deps`, never installed) into the cache folder: `$MEDIAGRAPH_MODELS`, else
`~/.cache/mediagraph/models`. Every wheel and every file is pinned by sha256
(`WHEELS`, `PINNED_SHA256`): checked when fetched, when a cached file is first loaded in a
process (`resolve`), and by `mediagraph models verify`; `fetch` repairs a damaged file.

`convert()` makes an `.onnx` twin of a `.tflite` model (tflite2onnx, the `convert`
extra) with the same input and output layouts as the original, so the GPU and DSP
backends take the same tensors the LiteRT backend does.

    python -m mediagraph.models fetch [--force]
    python -m mediagraph.models list
    python -m mediagraph.models verify
    python -m mediagraph.models convert face_detection_short_range.tflite [-o out.onnx]
    python -m mediagraph.models convert face_detection_short_range.tflite --to openvino

`--to RUNTIME` runs the converter a backend registered for RUNTIME (`registry.
register_converter`: openvino, mnn, mnn-int8, ncnn, executorch from the inference
package), which caches its files beside the model, keyed by the model's sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediagraph.errors import ModelIntegrityError
from mediagraph.terminal import ArgumentParser

ENV_VAR = "MEDIAGRAPH_MODELS"
CONTENT_PREFIX = "sha256:"

MEDIAPIPE_VERSION = "0.10.14"
# Model file name -> its path inside the mediapipe wheel (MediaPipe's source-tree path).
MEDIAPIPE_MODELS: dict[str, str] = {
    name: f"mediapipe/modules/{folder}/{name}"
    for folder, name in [
        ("face_detection", "face_detection_short_range.tflite"),
        ("face_detection", "face_detection_full_range_sparse.tflite"),
        ("selfie_segmentation", "selfie_segmentation.tflite"),
        ("palm_detection", "palm_detection_lite.tflite"),
        ("hand_landmark", "hand_landmark_lite.tflite"),
        ("pose_detection", "pose_detection.tflite"),
        ("face_landmark", "face_landmark.tflite"),
        # The solutions of issue [3/6]: pose, face mesh with attention, iris, holistic.
        ("pose_landmark", "pose_landmark_full.tflite"),
        ("face_landmark", "face_landmark_with_attention.tflite"),
        ("iris_landmark", "iris_landmark.tflite"),
        ("holistic_landmark", "hand_recrop.tflite"),
        ("palm_detection", "palm_detection_full.tflite"),
        ("hand_landmark", "hand_landmark_full.tflite"),
    ]
}
# MediaPipe's own graph configs, as its wheel ships them (binary): run unchanged in tests.
MEDIAPIPE_GRAPHS: dict[str, str] = {
    f"mediapipe_graphs/{name}": f"mediapipe/modules/{folder}/{name}"
    for folder, name in [
        ("face_detection", "face_detection_short_range_cpu.binarypb"),
        ("face_detection", "face_detection_full_range_cpu.binarypb"),
        ("selfie_segmentation", "selfie_segmentation_cpu.binarypb"),
        ("hand_landmark", "hand_landmark_tracking_cpu.binarypb"),
        ("face_landmark", "face_landmark_front_cpu.binarypb"),
        ("pose_landmark", "pose_landmark_cpu.binarypb"),
        ("holistic_landmark", "holistic_landmark_cpu.binarypb"),
    ]
}
# Models MediaPipe's graphs name that its 0.10.14 wheel does not ship (MediaPipe's
# Python solutions download them at run time; mediagraph never downloads from a model
# hub): asking for one says which setting needs it and what works instead.
NOT_IN_WHEEL: dict[str, str] = {
    "pose_landmark_lite.tflite": "model_complexity 0 of the pose and holistic graphs",
    "pose_landmark_heavy.tflite": "model_complexity 2 of the pose and holistic graphs",
}
SILERO_VERSION = "6.2.3"
SILERO_MODELS: dict[str, str] = {"silero_vad.onnx": "silero_vad/data/silero_vad.onnx"}


@dataclass(frozen=True)
class PinnedWheel:
    """A wheel `models fetch` takes files from, pinned by version, file and sha256.

    The models inside are the same in every platform's wheel, so pip is asked for one
    exact file (`download_args` pick its platform and Python), whatever machine fetches.
    """

    requirement: str
    file_name: str
    sha256: str
    download_args: tuple[str, ...]
    members: dict[str, str]  # cache name -> path inside the wheel


WHEELS: tuple[PinnedWheel, ...] = (
    PinnedWheel(
        f"mediapipe=={MEDIAPIPE_VERSION}",
        f"mediapipe-{MEDIAPIPE_VERSION}-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4",
        ("--platform", "manylinux_2_17_x86_64", "--python-version", "3.11",
         "--implementation", "cp", "--abi", "cp311"),
        {**MEDIAPIPE_MODELS, **MEDIAPIPE_GRAPHS}),
    PinnedWheel(
        f"silero-vad=={SILERO_VERSION}", f"silero_vad-{SILERO_VERSION}-py3-none-any.whl",
        "7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8", (), SILERO_MODELS),
)
# The sha256 of every file `fetch` puts in the cache, checked on fetch and on first load.
PINNED_SHA256: dict[str, str] = {
    "face_detection_short_range.tflite":
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    "face_detection_full_range_sparse.tflite":
        "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
    "selfie_segmentation.tflite":
        "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
    "palm_detection_lite.tflite":
        "e9a4aaddf90dda56a87235303cf00e4c2d3fb28725f68fd88772997dac905c18",
    "hand_landmark_lite.tflite":
        "048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6",
    "pose_detection.tflite": "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    "face_landmark.tflite": "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    "pose_landmark_full.tflite":
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    "face_landmark_with_attention.tflite":
        "e06a804e0144f9929eda782122916b35d60c697c3c9344013ca2bbe76a6ce2b4",
    "iris_landmark.tflite": "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
    "hand_recrop.tflite": "67d996ce96f9d36fe17d2693022c6da93168026ab2f028f9e2365398d8ac7d5d",
    "palm_detection_full.tflite":
        "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54",
    "hand_landmark_full.tflite":
        "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3",
    "mediapipe_graphs/face_detection_short_range_cpu.binarypb":
        "84e65794d4e1d1c6d56896f4dfaab97bc769033205475c1bb9967a22f0da469c",
    "mediapipe_graphs/face_detection_full_range_cpu.binarypb":
        "00f072e71a9752536aa4b09216c6bf8d9cc7493222a8d3a472e563eb0e23163b",
    "mediapipe_graphs/selfie_segmentation_cpu.binarypb":
        "df9f291eadc2ad77a4a0fabd83d4f2c0c2b4d8626c8f44fb0d14efc2fc81f46d",
    "mediapipe_graphs/hand_landmark_tracking_cpu.binarypb":
        "942ad4e6b3ecd1903fd2743ad2255a341854de975ef9c90418a4c7b64f0b4425",
    "mediapipe_graphs/face_landmark_front_cpu.binarypb":
        "fa3c092da27d031d54ddd61a29b0e3dd521d53f55fa8898cb0f2b64d79cd6573",
    "mediapipe_graphs/pose_landmark_cpu.binarypb":
        "90ddc717625a3c1aedfdca124212a36ce595cdbbe46513fd93adca5202d8ff21",
    "mediapipe_graphs/holistic_landmark_cpu.binarypb":
        "c1da3ea92cd0dfaeb35a1b3863a3a34202c6f4beffe410eff4a337569c808fbd",
    "silero_vad.onnx": "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
}


def mediapipe_graph(name: str) -> Path:
    """One of MediaPipe's own graph configs from the cache (after `fetch`)."""
    return cache_dir() / "mediapipe_graphs" / name


class ModelConversionError(RuntimeError):
    """A `.tflite` model could not be converted; `operator` names the culprit when known."""

    def __init__(self, message: str, operator: str | None = None) -> None:
        super().__init__(message)
        self.operator = operator


def cache_dir() -> Path:
    """The model cache folder (not created here)."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "mediagraph" / "models"


def resolve(model_path: str | os.PathLike[str]) -> Path:
    """An existing file for `model_path`: as given, else by its name in the cache.

    MediaPipe configs name models by their path inside MediaPipe's source tree
    (`mediapipe/modules/face_detection/face_detection_short_range.tflite`); the file
    name is what the cache knows them by.
    """
    text = os.fspath(model_path)
    if text.startswith(CONTENT_PREFIX):  # a model a batch shipped: sha256:<hex>/<file>
        digest, _, name = text[len(CONTENT_PREFIX):].partition("/")
        path = content_folder(digest) / Path(name).name
        if not path.is_file():
            raise FileNotFoundError(f"shipped model '{text}' is not in {path.parent}")
        return _verified(path, digest)
    path = Path(text).expanduser()
    if path.is_file():
        return _verified(path)
    cached = cache_dir() / path.name
    if cached.is_file():
        return _verified(cached)
    if path.name in NOT_IN_WHEEL:
        raise FileNotFoundError(
            f"model '{model_path}' ({NOT_IN_WHEEL[path.name]}) is not in the "
            f"mediapipe=={MEDIAPIPE_VERSION} wheel, so `mediagraph models fetch` cannot bring "
            "it; use model_complexity 1 (pose_landmark_full.tflite), or put the file in "
            f"the model cache {cache_dir()} yourself")
    raise FileNotFoundError(
        f"model '{model_path}' not found as a file or in the model cache {cache_dir()}; "
        "run `mediagraph models fetch` (or set $MEDIAGRAPH_MODELS)")


_verified_files: dict[tuple[str, int, int], bool] = {}
_verified_lock = threading.Lock()


def sha256_of(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest() if hasattr(hashlib, "file_digest") \
            else hashlib.sha256(f.read()).hexdigest()


def _pinned_name(path: Path) -> str | None:
    """The cache name of `path` when it is a pinned file of the cache, else None."""
    try:
        relative = path.resolve().relative_to(cache_dir().resolve()).as_posix()
    except (ValueError, OSError):
        return None
    return relative if relative in PINNED_SHA256 else None


def content_folder(digest: str) -> Path:
    """Where a model with this sha256 lives when a batch shipped it: `<cache>/sha256/<hex>`."""
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ValueError(f"'{digest}' is not a sha256 hex digest")
    return cache_dir() / "sha256" / digest


def _verified(path: Path, expected: str | None = None) -> Path:
    """`path`, after checking a pinned cache file (or a shipped one, `expected`) against
    its sha256, once per process for an unchanged file. A mismatch is a
    ModelIntegrityError naming both hashes."""
    name = _pinned_name(path)
    if name is None and expected is None:
        return path  # a file the caller named: theirs to vouch for
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _verified_lock:
        if key in _verified_files:
            return path
    actual = sha256_of(path)
    expected = expected if expected is not None else PINNED_SHA256[str(name)]
    if actual != expected:
        raise ModelIntegrityError(
            f"model {path} is damaged or was replaced: its sha256 is {actual}, expected "
            f"{expected}; `mediagraph models fetch` repairs it")
    with _verified_lock:
        _verified_files[key] = True
    return path


def verify() -> list[tuple[str, str, str | None]]:
    """Every pinned file of the cache as (name, "ok" | "missing" | "damaged", sha256)."""
    report = []
    for name, expected in PINNED_SHA256.items():
        path = cache_dir() / name
        if not path.is_file():
            report.append((name, "missing", None))
            continue
        actual = sha256_of(path)
        report.append((name, "ok" if actual == expected else "damaged", actual))
    return report


def list_models() -> list[Path]:
    """The model files in the cache, sorted by name."""
    folder = cache_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix in (".tflite", ".onnx") and not p.name.startswith("."))


# -- fetch ------------------------------------------------------------------------------

def _pip_download(wheel: PinnedWheel, dest: Path) -> Path:
    """Download (never install) one pinned wheel with pip; returns the wheel's path.

    Tests replace this function to work without a network.
    """
    requirement = wheel.requirement
    before = set(dest.glob("*.whl"))
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           *wheel.download_args, "--dest", str(dest), requirement]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` failed:\n{result.stderr.strip()[-2000:]}")
    wheels = sorted(set(dest.glob("*.whl")) - before) or sorted(dest.glob("*.whl"))
    name = re.split(r"[=<>~!]", requirement)[0].replace("-", "_").lower()
    matching = [w for w in wheels if w.name.lower().startswith(name + "-")]
    if not matching:
        raise RuntimeError(f"pip download {requirement} produced no wheel in {dest}")
    return matching[-1]


def _readable(path: str | Path) -> None:
    """Give a mkstemp file (mode 0600) a model file's usual mode (reading the umask
    would mean setting it, which races with other threads)."""
    os.chmod(path, 0o644)


def _write_atomically(data: bytes, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        _readable(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fetch(force: bool = False) -> list[Path]:
    """Put every known model into the cache; returns their paths.

    Files already in the cache are kept when their sha256 is the pinned one (no download
    at all when every file is there and sound) unless `force`; a damaged or replaced file
    is fetched again. Every wheel and every file taken from it is checked against its pinned
    sha256 before anything is written; each file is written to a temporary name and renamed
    into place.
    """
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="mediagraph-wheels-") as tmp:
        for pinned in WHEELS:
            wanted = {n: m for n, m in pinned.members.items()
                      if force or not _sound(folder / n)}
            paths.extend(folder / n for n in pinned.members)
            if not wanted:
                continue
            wheel = _pip_download(pinned, Path(tmp))
            _check_sha256(wheel, pinned.sha256, f"wheel {pinned.file_name}")
            with zipfile.ZipFile(wheel) as zf:
                names = set(zf.namelist())
                for file_name, member in wanted.items():
                    if member not in names:
                        raise RuntimeError(f"{wheel.name} has no {member}")
                    data = zf.read(member)
                    actual = hashlib.sha256(data).hexdigest()
                    if actual != PINNED_SHA256[file_name]:
                        raise ModelIntegrityError(
                            f"{member} in {wheel.name} has sha256 {actual}, expected "
                            f"{PINNED_SHA256[file_name]}; nothing was written")
                    (folder / file_name).parent.mkdir(parents=True, exist_ok=True)
                    _write_atomically(data, folder / file_name)
    return paths


def _sound(path: Path) -> bool:
    """A cached file that is there and has its pinned sha256."""
    return path.is_file() and sha256_of(path) == PINNED_SHA256[_cache_name(path)]


def _cache_name(path: Path) -> str:
    return path.relative_to(cache_dir()).as_posix()


def _check_sha256(path: Path, expected: str, what: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise ModelIntegrityError(f"{what} ({path}) has sha256 {actual}, expected {expected}; "
                                  "nothing was taken from it")


# -- convert ----------------------------------------------------------------------------

def convert(tflite_path: str | os.PathLike[str], out: str | os.PathLike[str] | None = None) -> Path:
    """Convert a `.tflite` model to ONNX (next to it unless `out`); returns the `.onnx` path.

    tflite2onnx turns NHWC tensors into NCHW; the graph inputs and outputs are put back
    into the TFLite model's layout with Transpose nodes, so both files take the same
    tensors. Operators tflite2onnx lacks (DENSIFY, DEPTH_TO_SPACE, HARD_SWISH, MediaPipe's
    custom Convolution2DTransposeBias) are taught to it for the conversion
    (`mediagraph._tflite2onnx_ops`). Raises ModelConversionError naming the operator it
    still lacks (CUSTOM and its custom code for a custom one).
    """
    try:
        import tflite2onnx
    except ImportError:
        from mediagraph.errors import MissingDependencyError

        raise MissingDependencyError("tflite2onnx", "convert",
                                     "converting .tflite models to ONNX") from None
    import logging

    from mediagraph import _tflite2onnx_ops

    src = resolve(tflite_path)
    target = Path(out) if out is not None else src.with_suffix(".onnx")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".onnx")
    os.close(fd)
    tmp = Path(tmp_name)
    t2o_logger = logging.getLogger("tflite2onnx")
    level = t2o_logger.level
    t2o_logger.setLevel(logging.ERROR)  # it warns about every float16 tensor
    try:
        try:
            with _tflite2onnx_ops.patched():
                tflite2onnx.convert(str(src), str(tmp))
        except NotImplementedError as exc:
            match = re.search(r"OP:\s*(\d+)\s+(\w+)(?:\s*\((\w+)\))?", str(exc))
            op = match.group(2) if match else None
            what = f"the TFLite operator {op}" if op else str(exc)
            if match and match.group(3):  # a CUSTOM operator's own name
                what += f" {match.group(3)}"
            raise ModelConversionError(
                f"cannot convert {src} to ONNX: tflite2onnx {tflite2onnx.__version__} does not "
                f"support {what}; run this model with the CPU (LiteRT) backend", op) from exc
        except Exception as exc:
            raise ModelConversionError(
                f"cannot convert {src} to ONNX: tflite2onnx {tflite2onnx.__version__} failed "
                f"({type(exc).__name__}: {exc or 'no detail'}; its layout propagation does not "
                "handle this graph); run this model with the CPU (LiteRT) backend") from exc
        import onnx

        model = onnx.load(str(tmp))
        _restore_layouts(src, model)
        _decompose_hard_sigmoid(model)
        onnx.save(model, str(tmp))
        _readable(tmp)
        os.replace(tmp, target)
    finally:
        t2o_logger.setLevel(level)
        tmp.unlink(missing_ok=True)
    return target


def _tflite_io_shapes(path: Path) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    import tflite  # a tflite2onnx dependency

    model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    graph = model.Subgraphs(0)

    def shapes(indices: list[int]) -> dict[str, list[int]]:
        result = {}
        for i in indices:
            tensor = graph.Tensors(i)
            result[tensor.Name().decode()] = [int(d) for d in tensor.ShapeAsNumpy()]
        return result

    return (shapes([graph.Inputs(i) for i in range(graph.InputsLength())]),
            shapes([graph.Outputs(i) for i in range(graph.OutputsLength())]))


def _decompose_hard_sigmoid(model: Any) -> None:
    """Rewrite HardSigmoid (from HARD_SWISH) as Mul, Add and Clip, in `model` (an
    onnx.ModelProto).

    QNN's HTP backend cannot run HardSigmoid, yet its provider still claims the nodes
    (only a warning) and the emulated HTP returned masks off by 1.0 without an error;
    the decomposed model agrees with LiteRT to 1e-12. CPU results are unchanged (1e-8).
    """
    import numpy as np
    from onnx import helper, numpy_helper

    graph = model.graph
    if not any(node.op_type == "HardSigmoid" for node in graph.node):
        return
    nodes = []
    for i, node in enumerate(graph.node):
        if node.op_type != "HardSigmoid":
            nodes.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        base = f"{node.name or 'hard_sigmoid'}_{i}"
        for suffix, value in (("alpha", attrs.get("alpha", 0.2)), ("beta", attrs.get("beta", 0.5)),
                              ("zero", 0.0), ("one", 1.0)):
            graph.initializer.append(numpy_helper.from_array(np.array(value, np.float32),
                                                             f"{base}_{suffix}"))
        nodes += [
            helper.make_node("Mul", [node.input[0], f"{base}_alpha"], [f"{base}_scaled"],
                             name=f"{base}_mul"),
            helper.make_node("Add", [f"{base}_scaled", f"{base}_beta"], [f"{base}_shifted"],
                             name=f"{base}_add"),
            helper.make_node("Clip", [f"{base}_shifted", f"{base}_zero", f"{base}_one"],
                             list(node.output), name=f"{base}_clip"),
        ]
    del graph.node[:]
    graph.node.extend(nodes)


def _restore_layouts(tflite_file: Path, model: Any) -> None:
    """Wrap NCHW graph inputs/outputs of `model` (an onnx.ModelProto, changed in place)
    in Transposes so they match the TFLite NHWC ones."""
    import onnx
    from onnx import helper

    tfl_in, tfl_out = _tflite_io_shapes(tflite_file)
    graph = model.graph

    def dims(value_info: onnx.ValueInfoProto) -> list[int]:
        return [d.dim_value for d in value_info.type.tensor_type.shape.dim]

    def nchw_of(nhwc: list[int] | None) -> list[int] | None:
        return None if nhwc is None or len(nhwc) != 4 else [nhwc[0], nhwc[3], nhwc[1], nhwc[2]]

    def rename_uses(old: str, new: str, *, inputs: bool, outputs: bool) -> None:
        for info in graph.value_info:  # the shape recorded for the inner (NCHW) tensor
            if info.name == old:
                info.name = new
        for node in graph.node:
            if inputs:
                node.input[:] = [new if n == old else n for n in node.input]
            if outputs:
                node.output[:] = [new if n == old else n for n in node.output]

    prologue = []
    for vi in graph.input:
        want = tfl_in.get(vi.name)
        if want and dims(vi) != want and dims(vi) == nchw_of(want):
            inner = vi.name + "__nchw"
            rename_uses(vi.name, inner, inputs=True, outputs=False)
            prologue.append(helper.make_node("Transpose", [vi.name], [inner], perm=[0, 3, 1, 2],
                                             name=inner + "_transpose"))
            for d, size in zip(vi.type.tensor_type.shape.dim, want):
                d.dim_value = size
    for vo in graph.output:
        want = tfl_out.get(vo.name)
        if want and dims(vo) != want and dims(vo) == nchw_of(want):
            inner = vo.name + "__nchw"
            rename_uses(vo.name, inner, inputs=True, outputs=True)
            graph.node.append(helper.make_node("Transpose", [inner], [vo.name], perm=[0, 2, 3, 1],
                                               name=inner + "_transpose"))
            for d, size in zip(vo.type.tensor_type.shape.dim, want):
                d.dim_value = size
    if prologue:
        nodes = prologue + list(graph.node)
        del graph.node[:]
        graph.node.extend(nodes)


# -- command line -----------------------------------------------------------------------

def _convert_for(runtime: str, model: str, output: str | None) -> Path:
    """`convert MODEL --to RUNTIME`: the converter a backend registered for `runtime`."""
    from mediagraph import registry

    converter = registry.find_converter(runtime)
    if converter is None:
        known = ", ".join(["onnx", *registry.converter_targets()])
        raise ValueError(f"no converter for {runtime!r}; --to takes {known}")
    if output is not None:
        raise ValueError(f"--to {runtime} keeps its files beside the model (keyed by its "
                         "sha256), where the backend finds them; -o is for --to onnx")
    return Path(converter(model))



# A sub-command a higher layer adds: (help, add_arguments(parser), run(args) -> status).
Command = tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]


def main(argv: Sequence[str] | None = None, commands: dict[str, Command] | None = None) -> int:
    """`python -m mediagraph.models fetch|list|convert`; returns the exit status.

    `commands` adds sub-commands from layers above this one (the CLI adds `bench`, which
    runs the backends of the inference calculators that this module must not import).
    """
    parser = ArgumentParser(prog="mediagraph models",
                            description="manage the model cache "
                                        "($MEDIAGRAPH_MODELS or ~/.cache/mediagraph/models)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_fetch = sub.add_parser("fetch", help="extract MediaPipe's and Silero's models from their wheels")
    p_fetch.add_argument("--force", action="store_true", help="replace files already cached")
    sub.add_parser("list", help="list the cached models")
    sub.add_parser("verify", help="check every fetched file against its pinned sha256")
    p_conv = sub.add_parser("convert", help="make an .onnx twin of a .tflite model, or convert "
                                            "a model for another runtime (--to)")
    p_conv.add_argument("model", help="a .tflite/.onnx path or a cached model name")
    p_conv.add_argument("-o", "--output", help="where to write the .onnx (default: next to it)")
    p_conv.add_argument("--to", default="onnx", metavar="RUNTIME",
                        help="onnx (default), or a backend's format (openvino, mnn, mnn-int8, "
                             "ncnn, executorch): "
                             "converted with that runtime's converter and cached beside the "
                             "model, keyed by its sha256")
    for name, (summary, add_arguments, _) in (commands or {}).items():
        add_arguments(sub.add_parser(name, help=summary))
    args = parser.parse_args(argv)
    try:
        if args.command in (commands or {}):
            return (commands or {})[args.command][2](args)
        if args.command == "fetch":
            for path in fetch(force=args.force):
                print(path)
        elif args.command == "verify":
            report = verify()
            for name, status, actual in report:
                print(f"{status:8s} {name}" + (f"  sha256 {actual}, expected "
                                               f"{PINNED_SHA256[name]}" if status == "damaged"
                                               else ""))
            if any(status == "damaged" for _, status, _ in report):
                print("run `mediagraph models fetch` to repair the damaged files",
                      file=sys.stderr)
                return 1
        elif args.command == "list":
            models = list_models()
            if not models:
                print(f"no models in {cache_dir()}; run `mediagraph models fetch`")
            for path in models:
                print(f"{path.name:45s} {path.stat().st_size / 1e6:8.2f} MB")
        elif args.to == "onnx":
            print(convert(args.model, args.output))
        else:
            print(_convert_for(args.to, args.model, args.output))
    except (OSError, RuntimeError, ImportError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
