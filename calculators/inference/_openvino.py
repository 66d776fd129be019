"""The OpenVINO backend: a model converted once to OpenVINO IR, compiled for a device.

A `.tflite` model is read by OpenVINO's own TFLite frontend (no tflite2onnx needed);
when that frontend lacks an operator (MediaPipe's custom `Convolution2DTransposeBias`
in selfie_segmentation, say) the model's `.onnx` twin is read instead, which has the
same input and output layouts. A `.onnx` model is read as it is. Either way the IR keeps
the source's layouts (NHWC for MediaPipe's models), so a graph feeds the tensors it
feeds LiteRT. The IR is saved in float32 (`save_model` would halve the weights to fp16
by default) beside the source, keyed by its sha256 (`_converted`).

Precision: OpenVINO's CPU plugin computes in bf16 by default where the CPU has AMX or
AVX512-BF16, which moved face detection's scores by more than 1. The backend sets
`INFERENCE_PRECISION_HINT: f32` unless the options allow precision loss (the device's
default, bf16 or f16) or name a precision.

ONNX Runtime's OpenVINO execution provider (`delegate { openvino { runtime:
"onnxruntime" } }`) runs the `.onnx` twin; it needs `onnxruntime-openvino`, a build of
ONNX Runtime that replaces the `onnxruntime` module (as onnxruntime-gpu does), so it is
not an extra: a clash between the two is detected and explained.

int8 (`precision: "int8"`): OpenVINO runs a quantized model's int8 operators in int8,
but quantizing one is NNCF's job (a package of its own, not a dependency here). The
backend instead quantizes the `.onnx` twin with ONNX Runtime's quantizer, calibrated on
the user's `calibration_data` (`_int8`), and converts that QDQ model to IR as usual; its
CPU plugin fuses the QuantizeLinear/DequantizeLinear pairs into int8 kernels (the
runtime model reports i8/u8 operators; `device` says int8). What stays float runs in f32
unless precision loss is allowed.

One compiled model and one infer request per (IR, device, threads, precision) for the
process; calls to one request are serialised with a lock (a request is not reentrant).
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mediagraph import models, registry
from mediagraph.errors import MissingDependencyError

from . import _backends as B
from . import _converted, _cuda, _int8

log = logging.getLogger("mediagraph.inference")

EXTRA = "openvino"
RUNTIMES = ("", "openvino", "onnxruntime")
# Option spelling -> OpenVINO's INFERENCE_PRECISION_HINT.
PRECISIONS = {"f32": "f32", "fp32": "f32", "f16": "f16", "fp16": "f16", "bf16": "bf16"}
ORT_PROVIDER = "OpenVINOExecutionProvider"
ORT_INSTALL = "pip uninstall -y onnxruntime && pip install onnxruntime-openvino"

_core: Any = None
_core_lock = threading.Lock()


def _ov() -> Any:
    try:
        import openvino
    except ImportError:
        raise MissingDependencyError("openvino", EXTRA, "the OpenVINO backend") from None
    return openvino


def core() -> Any:
    """The process's one `openvino.Core` (it holds the loaded device plugins)."""
    global _core
    with _core_lock:
        if _core is None:
            _core = _ov().Core()
        return _core


def _failed_operator(text: str) -> str | None:
    """The operator an OpenVINO frontend could not convert, from its error text."""
    match = re.search(r"No translator found for (\w+) node", text)
    if match:
        return match.group(1)
    match = re.search(r"No conversion rule found for operations: ([\w.:/-]+)", text)
    if match:
        return re.sub(r"-\d+$", "", match.group(1))  # "FooOp-28": the op and its opset
    return None


@contextlib.contextmanager
def _root_logging_kept() -> Iterator[None]:
    """OpenVINO's converter, when it fails, sets the root logger to ERROR with a handler
    of its own, which would silence every later warning of the process: put them back."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        yield
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers


def _read(ov: Any, source: Path) -> Any:
    try:
        with _root_logging_kept():
            return ov.convert_model(str(source))
    except Exception as exc:  # noqa: BLE001 - OpenVINO raises its own types
        text = str(exc)
        op = _failed_operator(text)
        if op is not None:
            raise models.ModelConversionError(
                f"cannot convert {source} to OpenVINO IR: OpenVINO {ov.__version__.split('-')[0]} has no "
                f"conversion for the operator {op}", op) from None
        if "Cannot recognize input model" in text:
            raise B.ModelLoadError(f"cannot load model {source}: OpenVINO recognizes no "
                                   "model format in it (a damaged or truncated file?)") from None
        raise models.ModelConversionError(
            f"cannot convert {source} to OpenVINO IR: {text.strip().splitlines()[-1]}") from None


def _name_outputs_as_in(onnx_file: Path, ir: Any) -> None:
    """Give each output of `ir` its ONNX graph output name alone: OpenVINO's ONNX frontend
    also attaches the names of tensors an output aliases (tflite2onnx's TFLITE2ONNX_*),
    and either may come first."""
    try:
        import onnx
    except ImportError:
        return
    names = [o.name for o in onnx.load(str(onnx_file), load_external_data=False).graph.output]
    if len(names) == len(ir.outputs):
        for port, name in zip(ir.outputs, names):
            if name in port.get_names():
                port.get_tensor().set_names({name})


def convert(model: str | Path) -> Path:
    """The OpenVINO IR (`.xml`, with its `.bin`) of `model`, converted once and cached
    beside it; `mediagraph models convert MODEL --to openvino`."""
    ov = _ov()
    source = models.resolve(model)

    def build(target: Path) -> None:
        try:
            ir = _read(ov, source)
        except models.ModelConversionError as exc:
            if source.suffix != ".tflite" or exc.operator is None:
                raise
            log.info("OpenVINO's TFLite frontend lacks %s (in %s); converting its ONNX twin",
                     exc.operator, source.name)
            ir = _read(ov, _converted.onnx_twin(source))
            _name_outputs_as_in(_converted.onnx_twin(source), ir)
        else:
            if source.suffix == ".onnx":
                _name_outputs_as_in(source, ir)
        ov.save_model(ir, str(target), compress_to_fp16=False)

    return _converted.converted(source, "openvino", ".xml", build)


registry.register_converter("openvino", convert)


def _dtype(element_type: Any) -> np.dtype:
    try:
        return np.dtype(element_type.to_dtype())
    except (TypeError, RuntimeError):
        return np.dtype(np.float32)


class OpenVinoSession(B.Backend):
    """OpenVINO IR compiled for one device; outputs copied out of the request."""

    backend = "openvino"

    def __init__(self, ir: Path, device: str, threads: int, hint: str | None,
                 int8: bool = False) -> None:
        ov_core = core()
        devices = list(ov_core.available_devices)
        base = device.split(":")[0].split(".")[0]
        if base not in ("AUTO", "HETERO", "MULTI") and device not in devices \
                and base not in devices:
            raise B.BackendUnavailable(f"OpenVINO has no device {device} here (it has "
                                       f"{', '.join(devices) or 'none'})")
        config: dict[str, Any] = {}
        if hint is not None:
            config["INFERENCE_PRECISION_HINT"] = hint
        if base == "CPU":
            # MediaPipe's one XNNPACK thread by default; latency mode and one stream, since
            # a graph calls each model once per frame; no pinning, since other stages share
            # the cores.
            config |= {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1,
                       "PERFORMANCE_HINT": "LATENCY", "ENABLE_CPU_PINNING": False}
        try:
            model = ov_core.read_model(str(ir))
            # Names from the IR as saved: compiling fuses nodes, and a compiled output can
            # carry an inner tensor's name too (tflite2onnx's TFLITE2ONNX_Transposed_*).
            self.outputs = [port.get_any_name() for port in model.outputs]
            self._compiled = ov_core.compile_model(model, device, config)
        except Exception as exc:  # noqa: BLE001 - OpenVINO raises RuntimeError subclasses
            raise B.ModelLoadError(f"OpenVINO cannot compile {ir} for {device}: "
                                   f"{str(exc).strip().splitlines()[-1]}") from None
        self.model_file = ir
        self.config = dict(config)
        # What the device computes in (the CPU plugin reports it; other devices: the hint).
        self.precision = (self._compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
                          if base == "CPU" else hint or "device default")
        if int8:
            self.precision = f"int8, {self.precision} elsewhere"
        self.inputs = [B.TensorSpec(port.get_any_name(),
                                    tuple(d.get_length() if d.is_static else -1
                                          for d in port.get_partial_shape()),
                                    _dtype(port.get_element_type()))
                       for port in self._compiled.inputs]
        self._request = self._compiled.create_infer_request()
        self._lock = threading.Lock()
        threads_text = f", {threads} thread{'s' if threads > 1 else ''}" if base == "CPU" else ""
        self.device = f"{device} ({self.precision}{threads_text})"

    def run(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        with self._lock:
            # share_outputs=False (the default): the results are copies, not views of
            # buffers the next call overwrites.
            return list(self._request.infer(arrays).to_tuple())


def _hint(precision: str, allow_precision_loss: bool) -> str | None:
    if precision:
        return PRECISIONS[precision.lower()]
    return None if allow_precision_loss else "f32"


def open_backend(path: Path, threads: int, settings: dict[str, Any]) -> B.Backend:
    """The cached OpenVINO backend for `path` with the `openvino {}` delegate `settings`."""
    device = str(settings.get("device") or "CPU").upper()
    threads = B.delegate_threads(settings, threads)
    precision = str(settings.get("precision", "")).lower()
    lossy = bool(settings.get("allow_precision_loss"))
    if precision == "int8":
        calibration = str(settings.get("calibration_data") or "")
        if not calibration:
            raise ValueError("openvino precision int8 needs calibration_data (representative "
                             "inputs: a .npy, or an .npz by input name)")
        _ov()
        ir = convert(_int8.quantized(models.resolve(path), Path(calibration).expanduser(), EXTRA))
        hint = None if lossy else "f32"
        return B.cached(("openvino-int8", B.file_key(ir), device, threads, hint),
                        lambda: OpenVinoSession(ir, device, threads, hint, int8=True))
    hint = _hint(precision, lossy)
    if settings.get("runtime") == "onnxruntime":
        onnx = _converted.onnx_twin(path)
        return B.cached(("onnxruntime-openvino", B.file_key(onnx), device, threads, hint),
                        lambda: OrtOpenVino(onnx, device, threads, hint))
    ir = convert(path)
    return B.cached(("openvino", B.file_key(ir), device, threads, hint),
                    lambda: OpenVinoSession(ir, device, threads, hint))


# -- ONNX Runtime's OpenVINO execution provider -----------------------------------------

def ort_provider_missing_message(ort: Any, installed: Any = _cuda.installed) -> str:
    """Why ONNX Runtime lists no OpenVINO provider, and what to do (as for onnxruntime-gpu)."""
    available = ", ".join(ort.get_available_providers())
    if installed("onnxruntime-openvino"):
        others = [d for d in ("onnxruntime", "onnxruntime-gpu", "onnxruntime-qnn")
                  if installed(d)]
        return ("onnxruntime-openvino is installed but ONNX Runtime lists no "
                f"{ORT_PROVIDER} (only {available}): {', '.join(others) or 'another build'} "
                "was installed over it, and the packages share the onnxruntime module. Fix "
                "with pip uninstall -y onnxruntime onnxruntime-openvino && pip install "
                "onnxruntime-openvino, or use delegate { openvino {} } (the openvino "
                "package, extra 'openvino'), which needs no ONNX Runtime build of its own")
    return (f"runtime \"onnxruntime\" needs ONNX Runtime with the {ORT_PROVIDER} "
            f"(installed onnxruntime has only {available}): {ORT_INSTALL} (it replaces the "
            "onnxruntime module), or drop runtime to use the openvino package "
            "(pip install 'mediagraph[openvino]')")


class OrtOpenVino(B._OrtBackend):
    """`.onnx` through ONNX Runtime's OpenVINO execution provider (onnxruntime-openvino)."""

    backend = "onnxruntime-openvino"

    def __init__(self, path: Path, device: str, threads: int, hint: str | None) -> None:
        ort = B._ort()
        if ORT_PROVIDER not in ort.get_available_providers():
            raise B.BackendUnavailable(ort_provider_missing_message(ort))
        so = ort.SessionOptions()
        B._no_spinning(so, threads)
        if hint == "bf16":
            raise ValueError("ONNX Runtime's OpenVINO provider takes precision f32 or f16, "
                             "not bf16 (the openvino runtime takes all three)")
        options = {"device_type": device, "num_of_threads": str(threads)}
        # The device's default (bf16 on AMX CPUs) only where precision loss is allowed.
        precision = {"f32": "FP32", "f16": "FP16"}.get(hint or "", "device default")
        if hint is not None:
            options["precision"] = precision
        self._load(path, so, [(ORT_PROVIDER, options)])
        if self._session.get_providers()[0] != ORT_PROVIDER:
            raise B.BackendUnavailable(f"ONNX Runtime could not start {ORT_PROVIDER} for "
                                       f"{path} on {device}")
        self.device = f"{device} ({precision}, {threads} thread{'s' if threads > 1 else ''})"
