"""The ncnn backend: a model converted once by pnnx to ncnn's `.param`/`.bin`, run by ncnn.

Conversion: the ONNX model (a `.tflite`'s `.onnx` twin, which has the TFLite layouts)
goes through the `pnnx` tool (`pnnx m.onnx inputshape=[...] fp16=0`) in a folder of its
own. Three of pnnx's habits are handled:
- it stores fp16 weights unless told `fp16=0` (face detection then moved by 4e-2);
- it leaves tflite2onnx's `Resize` nodes unconverted while they carry
  `nearest_mode=round_prefer_floor` (ncnn then lacks a "Resize" layer); that value is
  ONNX's default, so the attribute is dropped from a copy before conversion;
- it passes ONNX DepthToSpace through without its attributes, as a layer ncnn lacks:
  the layer is rewritten as ncnn's PixelShuffle with the model's block size and mode;
- it renames inputs and outputs to `in0..`/`out0..` (in the model's order) and writes
  side files (`*_pnnx.py`, `*.pnnx.onnx`, ...): only the `.param`/`.bin` are kept, with a
  `.json` beside them holding the model's own names, shapes and dtypes.
The result is loaded once before it is cached: a layer ncnn lacks fails the conversion,
naming the operator.

pnnx is found on PATH or inside the `pnnx` wheel, whose Python part needs torch; only its
executable is used here, so `pip install --no-deps pnnx` suffices.

Layout: ncnn's tensors have no batch axis; a batch-1 input goes in without it, in the
model's own layout (the twin's NHWC input is permuted inside the graph), and each output
comes back reshaped to the model's shape. Each call uses its own extractor on the shared
net (ncnn's way to run one net on several threads).

int8: ncnn runs int8 only from a model rewritten by its `ncnn2int8` tool with a
calibration table made by `ncnn2table` (KL or ACIQ over a folder of images). Neither
tool is in the ncnn or pnnx wheels on PyPI (the wheel exposes only the per-tensor
`quantize_to_int8` helper they are built from), so `precision: "int8"` is refused,
naming the int8 paths that do run here (`_options.NCNN_INT8_MESSAGE`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from importlib import util
from pathlib import Path
from typing import Any

import numpy as np

from mediagraph import models, registry
from mediagraph.errors import MissingDependencyError

from . import _backends as B
from . import _converted
from ._mnn import _native_output
from ._options import NCNN_INT8_MESSAGE

log = logging.getLogger("mediagraph.inference")

EXTRA = "ncnn"
PNNX_TIMEOUT_S = 300
_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 6: np.int32, 7: np.int64, 10: np.float16}


def _ncnn() -> Any:
    try:
        import ncnn
    except ImportError:
        raise MissingDependencyError("ncnn", EXTRA, "the ncnn backend") from None
    return ncnn


def pnnx_executable() -> str:
    """The pnnx tool: the native executable inside the installed `pnnx` wheel, else a
    `pnnx` on PATH. The wheel's binary comes first: pip's `pnnx` console script imports
    the package, whose __init__ needs torch (absent with `--no-deps`), and PATH may hold
    another environment's script."""
    spec = util.find_spec("pnnx")  # finding does not import it (its __init__ imports torch)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "pnnx"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("pnnx")
    if found:
        return found
    raise MissingDependencyError(
        "pnnx", None, "converting models for ncnn (pip install --no-deps pnnx: only its "
                      "executable is used, not the torch it depends on)")


def _prepared_onnx(source: Path, folder: Path) -> tuple[Path, dict[str, Any]]:
    """A copy of the ONNX model pnnx can convert, and the model's I/O description."""
    try:
        import onnx
    except ImportError:
        raise MissingDependencyError("onnx", "convert", "converting models for ncnn") from None
    try:
        model = onnx.load(str(source))
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise B.ModelLoadError(f"cannot load model {source}: not a valid ONNX model "
                               f"({type(exc).__name__}: {exc})") from None
    for node in model.graph.node:
        if node.op_type == "Resize":
            kept = [a for a in node.attribute
                    if not (a.name == "nearest_mode" and a.s == b"round_prefer_floor")]
            del node.attribute[:]
            node.attribute.extend(kept)
    initializers = {i.name for i in model.graph.initializer}

    def describe(values: Any) -> list[dict[str, Any]]:
        return [{"name": v.name,
                 "shape": [d.dim_value if d.HasField("dim_value") else -1
                           for d in v.type.tensor_type.shape.dim],
                 "dtype": np.dtype(_DTYPES.get(v.type.tensor_type.elem_type, np.float32)).str}
                for v in values if v.name not in initializers]

    io = {"inputs": describe(model.graph.input), "outputs": describe(model.graph.output),
          "depth_to_space": [
              (next((a.i for a in n.attribute if a.name == "blocksize"), 0),
               next((a.s.decode() for a in n.attribute if a.name == "mode"), "DCR"))
              for n in model.graph.node if n.op_type == "DepthToSpace"]}
    for spec in io["inputs"]:
        if -1 in spec["shape"] or not spec["shape"] or spec["shape"][0] != 1:
            raise models.ModelConversionError(
                f"cannot convert {source} for ncnn: input {spec['name']} has shape "
                f"{spec['shape']}; ncnn needs a fixed shape with batch 1")
    prepared = folder / "model.onnx"
    onnx.save(model, str(prepared))
    return prepared, io


# ncnn's PixelShuffle `mode` for ONNX DepthToSpace's: DCR is TensorFlow's order, CRD PyTorch's.
_PIXEL_SHUFFLE_MODE = {"DCR": 1, "CRD": 0}


def _depth_to_space_as_pixel_shuffle(param: Path, blocks: list[tuple[int, str]]) -> None:
    """pnnx passes ONNX DepthToSpace through as a "DepthToSpace" layer without its
    attributes, and ncnn has no such layer; its PixelShuffle is the same operation. The
    layers are rewritten in the `.param` when every DepthToSpace of the model has the same
    block size and mode (the layer lines do not say which ONNX node they came from)."""
    if len(set(blocks)) != 1 or blocks[0][1] not in _PIXEL_SHUFFLE_MODE:
        return
    size, mode = blocks[0]
    lines = param.read_text().splitlines()
    for i, line in enumerate(lines):
        fields = line.split()
        if fields and fields[0] == "DepthToSpace":
            ends = 4 + int(fields[2]) + int(fields[3])  # type name #in #out ins outs
            lines[i] = " ".join(["PixelShuffle", *fields[1:ends], f"0={size}",
                                 f"1={_PIXEL_SHUFFLE_MODE[mode]}"])
    param.write_text("\n".join(lines) + "\n")


def _layers_ncnn_lacks(ncnn: Any, param: Path, binary: Path) -> str | None:
    """Load the converted net once; the layer type ncnn lacks, or the load error."""
    printed: list[str] = []
    net = ncnn.Net()
    with _native_output(printed):
        status = net.load_param(str(param))
        if status == 0:
            status = net.load_model(str(binary))
    net.clear()
    for line in printed:
        match = re.search(r"layer (\S+) not exists or registered", line)
        if match:
            return match.group(1)
    return None if status == 0 else f"(ncnn could not load it: {' '.join(printed)[-200:]})"


def convert(model: str | Path) -> Path:
    """The ncnn `.param` (with `.bin` and `.json` beside it) of `model`, made by pnnx once
    and cached beside it; `mediagraph models convert MODEL --to ncnn`."""
    ncnn = _ncnn()
    tool = pnnx_executable()
    source = models.resolve(model)
    if source.suffix not in (".onnx", ".tflite"):
        raise B.ModelLoadError(f"cannot convert {source} for ncnn: give a .tflite or .onnx model")

    def build(target: Path) -> None:
        onnx_file = _converted.onnx_twin(source)
        with tempfile.TemporaryDirectory(prefix="mediagraph-pnnx-") as tmp:
            work = Path(tmp)
            prepared, io = _prepared_onnx(onnx_file, work)
            shapes = ",".join("[" + ",".join(str(d) for d in spec["shape"]) + "]"
                              for spec in io["inputs"])
            try:
                done = subprocess.run([tool, str(prepared), f"inputshape={shapes}", "fp16=0"],
                                      cwd=work, capture_output=True, text=True,
                                      timeout=PNNX_TIMEOUT_S, check=False)
            except subprocess.TimeoutExpired:
                raise models.ModelConversionError(
                    f"cannot convert {source} for ncnn: pnnx ran past {PNNX_TIMEOUT_S} s") from None
            param, binary = work / "model.ncnn.param", work / "model.ncnn.bin"
            if done.returncode != 0 or not param.is_file():
                text = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
                reason = re.search(r"Unsupported [^\n]*", text)
                raise models.ModelConversionError(
                    f"cannot convert {source} for ncnn: pnnx failed (exit {done.returncode}): "
                    + (reason.group(0).strip() if reason
                       else " | ".join(text.strip().splitlines()[-3:])))
            blocks = io.pop("depth_to_space")
            if blocks:
                _depth_to_space_as_pixel_shuffle(param, blocks)
            missing = _layers_ncnn_lacks(ncnn, param, binary)
            if missing is not None:
                op = None if missing.startswith("(") else missing
                raise models.ModelConversionError(
                    f"cannot convert {source} for ncnn: "
                    + (f"ncnn has no layer for the operator {op}" if op else missing), op)
            shutil.move(str(binary), target.with_suffix(".bin"))
            target.with_suffix(".json").write_text(json.dumps(io, indent=1))
            shutil.move(str(param), target)

    return _converted.converted(source, "ncnn", ".param", build)


registry.register_converter("ncnn", convert)


class NcnnSession(B.Backend):
    """An ncnn net on the CPU; batch-1 tensors in the model's own layout."""

    backend = "ncnn"

    def __init__(self, param: Path, threads: int, allow_precision_loss: bool) -> None:
        ncnn = _ncnn()
        self._ncnn = ncnn
        io = json.loads(param.with_suffix(".json").read_text())
        net = ncnn.Net()
        net.opt.num_threads = threads
        # fp32 unless allowed: ncnn turns fp16/bf16 storage and arithmetic on where the
        # CPU has them.
        for flag in ("use_fp16_storage", "use_fp16_packed", "use_fp16_arithmetic",
                     "use_bf16_storage"):
            setattr(net.opt, flag, allow_precision_loss)
        printed: list[str] = []
        with _native_output(printed):
            status = net.load_param(str(param)) or net.load_model(str(param.with_suffix(".bin")))
        if status != 0:
            raise B.ModelLoadError(f"cannot load model {param} with ncnn: {' '.join(printed)}")
        self._net = net
        self.model_file = param
        self.inputs = [B.TensorSpec(s["name"], tuple(s["shape"]), np.dtype(s["dtype"]))
                       for s in io["inputs"]]
        self.outputs = [s["name"] for s in io["outputs"]]
        self._out_shapes = [tuple(s["shape"]) for s in io["outputs"]]
        self.device = (f"cpu ({'fp16 allowed' if allow_precision_loss else 'fp32'}, "
                       f"{threads} thread{'s' if threads > 1 else ''})")

    def run(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        ncnn = self._ncnn
        extractor = self._net.create_extractor()
        try:
            for i, array in enumerate(arrays):
                extractor.input(f"in{i}", ncnn.Mat(np.ascontiguousarray(array[0], np.float32)))
            results = []
            for i, shape in enumerate(self._out_shapes):
                status, mat = extractor.extract(f"out{i}")
                if status != 0:
                    raise RuntimeError(f"ncnn could not compute output {self.outputs[i]} of "
                                       f"{self.model_file}")
                results.append(np.array(mat, np.float32).reshape(shape))
            return results
        finally:
            extractor.clear()


def open_backend(path: Path, threads: int, settings: dict[str, Any]) -> B.Backend:
    """The cached ncnn backend for `path` with the `ncnn {}` delegate `settings`."""
    if str(settings.get("precision", "")).lower() == "int8":
        raise ValueError(NCNN_INT8_MESSAGE)
    threads = B.delegate_threads(settings, threads)
    lossy = bool(settings.get("allow_precision_loss"))
    param = convert(path)
    return B.cached(("ncnn", B.file_key(param), threads, lossy),
                    lambda: NcnnSession(param, threads, lossy))
