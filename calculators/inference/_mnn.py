"""The MNN backend: a model converted once to `.mnn` by MNN's own converter, run on a session.

Conversion calls the converter's native function (`_tools.mnnconvert`, which the MNN
wheel installs as a top-level extension module) with MNN's command-line arguments, and
never `MNN.tools.mnnconvert`: importing that wrapper imports `MNN.tools.utils.log`,
which runs `pip install -U aliyun-log-python-sdk` (a telemetry client) through
`os.system` in whatever environment is on PATH. A test asserts that converting and
running spawn no process. The converter reports an unsupported operator only by printing
("These Op Not Support: ONNX::X") and returns True either way, so its native output is
captured and read, and a missing output file is a failure.

A `.tflite` converts directly (MediaPipe's custom Convolution2DTransposeBias included);
a `.onnx` converts as it is. Layout: a model converted from ONNX declares its tensors
NCHW (MNN's "Caffe" dimension type) even where the data is NHWC (the `.onnx` twins keep
the TFLite layouts); feeding a host tensor marked NHWC makes MNN transpose it (face
detection's scores then moved by 50). So each input is fed, and each output read, with
the dimension type the model declares and the shape the model has: the graph's tensors
go in as they are.

int8 (`mnn { precision: "int8" }`, `models convert MODEL --to mnn-int8`): the converter
stores the weights as 8 bits per output channel (`--weightQuantBits 8`), no calibration
needed; the `.mnn` is 3 to 4 times smaller, and its outputs move by a few percent of
their range (activations stay float: MNN's full int8 is its mnnquant tool, which
calibrates on a folder of images, not wired here).

One session per (file, threads, precision) for the process; calls are serialised with a
lock (a session's tensors are shared).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mediagraph import models, registry
from mediagraph.errors import MissingDependencyError

from . import _backends as B
from . import _converted

log = logging.getLogger("mediagraph.inference")

EXTRA = "mnn"
_FORMATS = {".tflite": "TFLITE", ".onnx": "ONNX"}


@contextlib.contextmanager
def _native_output(sink: list[str]) -> Iterator[None]:
    """Collect what native code prints to file descriptors 1 and 2 meanwhile into `sink`
    (MNN prints its progress, its CPU features and its errors there; none of it belongs on
    the terminal of `mediagraph run -q`). The lines go to the debug log. Not reentrant:
    LiteRT's loader redirects under the same lock."""
    with B.NATIVE_OUTPUT_LOCK:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(1), os.dup(2)]
        try:
            with tempfile.TemporaryFile() as captured:
                os.dup2(captured.fileno(), 1)
                os.dup2(captured.fileno(), 2)
                try:
                    yield
                finally:
                    os.dup2(saved[0], 1)
                    os.dup2(saved[1], 2)
                    captured.seek(0)
                    text = captured.read().decode("utf-8", "replace")
                    sink.extend(text.splitlines())
                    for line in sink:
                        log.debug("MNN: %s", line)
        finally:
            for fd in saved:
                os.close(fd)


def _mnn() -> Any:
    if "MNN" in sys.modules and sys.modules["MNN"] is not None:
        return sys.modules["MNN"]
    try:
        with _native_output([]):
            import MNN
    except ImportError:
        raise MissingDependencyError("MNN", EXTRA, "the MNN backend") from None
    return MNN


def _converter() -> Any:
    _mnn()  # the converter ships in the same wheel: a missing MNN names the extra
    try:
        with _native_output([]):
            import _tools  # MNN's native converter; never MNN.tools.mnnconvert (see above)
    except ImportError:
        raise MissingDependencyError("MNN", EXTRA, "converting models for MNN") from None
    return _tools


def _unsupported_operator(lines: list[str]) -> str | None:
    for line in lines:
        match = (re.search(r"Op Not Support(?:ed)?:\s*(?:\w+::)?([\w./-]+)", line)
                 or re.search(r"NOT_SUPPORTED_OP: \[ ([\w./-]+) \]", line))
        if match:
            return match.group(1)
    return None


# MediaPipe custom operators MNN's TFLite reader converts; on any other custom operator
# it crashes the process (face_landmark_with_attention's Landmarks2TransformMatrix), so
# such a model is converted from its ONNX twin instead.
KNOWN_CUSTOM_OPS = frozenset({"Convolution2DTransposeBias"})


def _custom_operators(source: Path) -> set[str]:
    """The custom operator names of a `.tflite` (the `tflite` package, from the `convert`
    extra; without it, the ones LiteRT cannot resolve)."""
    try:
        import tflite
    except ImportError:
        try:
            interpreter = B._litert_interpreter_class()(model_path=str(source))
            interpreter.allocate_tensors()
        except MissingDependencyError:
            return set()
        except (ValueError, RuntimeError) as exc:
            return set(re.findall(r"unresolved custom op: (\w+)", str(exc)))
        return set()
    model = tflite.Model.GetRootAsModel(source.read_bytes(), 0)
    codes = (model.OperatorCodes(i).CustomCode() for i in range(model.OperatorCodesLength()))
    return {code.decode() for code in codes if code}


def _convert_file(tools: Any, source: Path, target: Path, int8: bool = False) -> None:
    kind = _FORMATS[source.suffix]
    printed: list[str] = []
    with _native_output(printed):
        tools.mnnconvert(["mnnconvert", "-f", kind, "--modelFile", str(source),
                          "--MNNModel", str(target), "--bizCode", "mediagraph",
                          *(["--weightQuantBits", "8"] if int8 else [])])
    if target.is_file() and not any("Converted Failed" in line for line in printed):
        return
    target.unlink(missing_ok=True)
    op = _unsupported_operator(printed)
    if op is not None:
        raise models.ModelConversionError(
            f"cannot convert {source} for MNN: MNN's converter does not support the "
            f"operator {op}", op)
    errors = [line.strip() for line in printed if "ERROR" in line or "failed" in line]
    if any("not" in line and "model" in line for line in errors) or not errors:
        raise B.ModelLoadError(f"cannot load model {source}: MNN's converter does not read "
                               f"it as a {kind} model ({'; '.join(errors) or 'no output'})")
    raise models.ModelConversionError(f"cannot convert {source} for MNN: {'; '.join(errors)}")


def _check_flatbuffer(source: Path) -> None:
    """MNN's TFLite reader does not verify its input: a damaged `.tflite` crashes the
    process (SIGSEGV) instead of raising. LiteRT's loader verifies the flatbuffer first."""
    with open(source, "rb") as f:
        head = f.read(8)
    damaged = head[4:8] != b"TFL3"
    if not damaged:
        try:
            B._litert_interpreter_class()(model_path=str(source))
        except MissingDependencyError:
            pass  # the identifier check is all there is without LiteRT
        except (ValueError, RuntimeError) as exc:
            damaged = "flatbuffer" in str(exc).lower() or "identifier" in str(exc).lower()
    if damaged:
        raise B.ModelLoadError(f"cannot load model {source}: not a valid TFLite model (its "
                               "flatbuffer does not verify); MNN's converter would crash on it")


def convert(model: str | Path, int8: bool = False) -> Path:
    """The `.mnn` of `model` (MNN's converter), converted once and cached beside it;
    `mediagraph models convert MODEL --to mnn` (`--to mnn-int8`: `int8`, weights stored
    as 8 bits by the converter's `--weightQuantBits 8`).

    A `.tflite` converts directly; one with a custom operator MNN lacks, or one whose
    conversion names an operator MNN lacks (DENSIFY), converts from its `.onnx` twin.
    """
    tools = _converter()
    source = models.resolve(model)
    if source.suffix not in _FORMATS:
        raise B.ModelLoadError(f"cannot convert {source} for MNN: MNN's converter here takes "
                               f"{' or '.join(_FORMATS)} models")
    if source.suffix == ".tflite":
        _check_flatbuffer(source)

    def build(target: Path) -> None:
        if source.suffix == ".tflite":
            unknown = _custom_operators(source) - KNOWN_CUSTOM_OPS
            if unknown:
                log.info("MNN cannot read %s's custom operators %s; converting its ONNX twin",
                         source.name, ", ".join(sorted(unknown)))
                _convert_file(tools, _converted.onnx_twin(source), target, int8)
                return
            try:
                _convert_file(tools, source, target, int8)
                return
            except models.ModelConversionError as exc:
                if exc.operator is None:
                    raise
                log.info("MNN's TFLite reader lacks %s (in %s); converting its ONNX twin",
                         exc.operator, source.name)
            _convert_file(tools, _converted.onnx_twin(source), target, int8)
            return
        _convert_file(tools, source, target, int8)

    return _converted.converted(source, "mnn-int8" if int8 else "mnn", ".mnn", build)


registry.register_converter("mnn", convert)
registry.register_converter("mnn-int8", lambda model: convert(model, int8=True))


def _dtype(mnn: Any, tensor: Any) -> tuple[np.dtype, Any]:
    kind = tensor.getDataType()
    for halide, dtype in ((mnn.Halide_Type_Float, np.float32), (mnn.Halide_Type_Int, np.int32),
                          (mnn.Halide_Type_Uint8, np.uint8), (mnn.Halide_Type_Int64, np.int64)):
        if kind == halide:
            return np.dtype(dtype), halide
    return np.dtype(np.float32), mnn.Halide_Type_Float


class MnnSession(B.Backend):
    """A `.mnn` model on MNN's CPU backend, fed in the layout each tensor declares."""

    backend = "mnn"

    def __init__(self, path: Path, threads: int, allow_precision_loss: bool,
                 int8: bool = False) -> None:
        mnn = _mnn()
        self._mnn = mnn
        precision = "low" if allow_precision_loss else "high"
        printed: list[str] = []
        try:
            with _native_output(printed):
                # The module API knows the model's input and output order; the session API
                # (below) returns its tensors in a dict by name.
                info = mnn.nn.load_module_from_file(str(path), [], []).get_info()
                self._interp = mnn.Interpreter(str(path))
                self._session = self._interp.createSession(
                    {"backend": "CPU", "numThread": threads, "precision": precision})
        except Exception as exc:  # noqa: BLE001 - MNN raises bare Exceptions and TypeErrors
            raise B.ModelLoadError(f"cannot load model {path} with MNN: {exc}; "
                                   f"{' '.join(printed)[-300:]}") from None
        self.model_file = path
        self._in = [self._interp.getSessionInput(self._session, n) for n in info["inputNames"]]
        self._out = [self._interp.getSessionOutput(self._session, n) for n in info["outputNames"]]
        self._in_types = [_dtype(mnn, t) for t in self._in]
        self._out_types = [_dtype(mnn, t) for t in self._out]
        self.inputs = [B.TensorSpec(name, tuple(t.getShape()), dtype)
                       for name, t, (dtype, _) in zip(info["inputNames"], self._in, self._in_types)]
        self.outputs = list(info["outputNames"])
        self.layouts = [_LAYOUTS.get(t.getDimensionType(), "NC4HW4") for t in self._in]
        self._lock = threading.Lock()
        self.device = (f"cpu ({'int8 weights, ' if int8 else ''}"
                       f"{'fp16 allowed' if allow_precision_loss else 'fp32'}, "
                       f"{threads} thread{'s' if threads > 1 else ''})")

    def run(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        mnn = self._mnn
        with self._lock:
            for tensor, array, (dtype, halide) in zip(self._in, arrays, self._in_types):
                host = mnn.Tensor(tensor.getShape(), halide,
                                  np.ascontiguousarray(array, dtype), tensor.getDimensionType())
                tensor.copyFrom(host)
            self._interp.runSession(self._session)
            results = []
            for tensor, (dtype, halide) in zip(self._out, self._out_types):
                shape = tuple(tensor.getShape())
                host = mnn.Tensor(shape, halide, np.zeros(shape, dtype),
                                  tensor.getDimensionType())
                tensor.copyToHostTensor(host)
                results.append(np.array(host.getNumpyData(), dtype).reshape(shape))
            return results


_LAYOUTS = {1: "NCHW", 0: "NHWC"}  # Tensor_DimensionType_Caffe / _Tensorflow


def open_backend(path: Path, threads: int, settings: dict[str, Any]) -> B.Backend:
    """The cached MNN backend for `path` with the `mnn {}` delegate `settings`."""
    threads = B.delegate_threads(settings, threads)
    lossy = bool(settings.get("allow_precision_loss"))
    int8 = str(settings.get("precision", "")).lower() == "int8"
    converted = convert(path, int8=int8)
    return B.cached(("mnn", B.file_key(converted), threads, lossy),
                    lambda: MnnSession(converted, threads, lossy, int8))
