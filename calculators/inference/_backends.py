"""Inference backends: one small class per runtime, and the process-wide session cache.

A backend loads one model once and runs it on a list of numpy arrays. Every backend
exposes `inputs` (name, shape, dtype per model input), `run(arrays) -> list[ndarray]`,
and `backend`/`device` strings saying what really ran.

Sessions are cached per (model file, backend, settings) for the life of the process,
so a graph run again (or two nodes with the same model) reuses a loaded model. Each
backend serialises its own `run` with a lock where its runtime is not thread-safe
(LiteRT's interpreter); ONNX Runtime sessions run concurrently.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import platform
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mediagraph.errors import MissingDependencyError

from . import _cuda

log = logging.getLogger("mediagraph.inference")


class BackendUnavailable(RuntimeError):
    """The asked-for device or runtime cannot run here; the message says what is missing."""


class ModelLoadError(ValueError):
    """The model file is missing, corrupt, or not a model this backend reads."""


class UnresolvedCustomOp(ModelLoadError):
    """A .tflite model with a custom operator LiteRT lacks (MediaPipe's own, say)."""

    def __init__(self, message: str, op: str) -> None:
        super().__init__(message)
        self.op = op


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int, ...]   # -1 where the model leaves a dimension open
    dtype: np.dtype


# -- session cache ----------------------------------------------------------------------

_SESSIONS: dict[tuple[Any, ...], Backend] = {}
_SESSIONS_LOCK = threading.Lock()


def cached(key: tuple[Any, ...], factory: Callable[[], Backend]) -> Backend:
    """The cached backend for `key`, building it with `factory` on first use."""
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            session = _SESSIONS[key] = factory()
        return session


def file_key(path: Path) -> tuple[str, int, int]:
    """The model file's identity in the cache key: a replaced file loads afresh."""
    st = path.stat()
    return str(path.resolve()), st.st_mtime_ns, st.st_size


# -- backends ---------------------------------------------------------------------------

class Backend:
    backend: str = ""
    device: str = ""
    inputs: list[TensorSpec]
    outputs: list[str]

    def run(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError


def _litert_interpreter_class() -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter  # the older package name
        except ImportError:
            raise MissingDependencyError("ai-edge-litert", None,
                                         "running .tflite models on the CPU") from None
    return Interpreter


def _signature_aliases(interp: Any) -> dict[str, str]:
    """Signature key -> tensor name of a one-signature model: MediaPipe's tensor names
    maps use the signature's names."""
    try:
        signatures = interp.get_signature_list()
        if len(signatures) != 1:
            return {}
        runner = interp.get_signature_runner(next(iter(signatures)))
        details = {**runner.get_input_details(), **runner.get_output_details()}
    except (AttributeError, ValueError, RuntimeError):
        return {}
    return {key: detail["name"] for key, detail in details.items()}


_stderr_lock = threading.Lock()
# Held by whoever points file descriptors 1/2 elsewhere to catch a runtime's native
# output (here, and the MNN and ncnn backends): two threads redirecting at once would
# restore each other's temporary file as the process's stderr.
NATIVE_OUTPUT_LOCK = _stderr_lock


@contextlib.contextmanager
def _native_info_to_log() -> Iterator[None]:
    """Route LiteRT's native "INFO: Created TensorFlow Lite XNNPACK delegate" line to the
    `mediagraph.inference` logger instead of the terminal (`mediagraph run -q` means
    quiet), while everything else written to stderr meanwhile still reaches it.

    LiteRT prints from C++ to file descriptor 2 and offers Python no log level, so fd 2
    points at a temporary file while the interpreter is built (a lock keeps two builds
    from nesting), then the lines go on: INFO ones to the logger, the rest to stderr.
    """
    with _stderr_lock:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with tempfile.TemporaryFile() as captured:
                os.dup2(captured.fileno(), 2)
                try:
                    yield
                finally:
                    os.dup2(saved, 2)
                    captured.seek(0)
                    for line in captured.read().decode("utf-8", "replace").splitlines(True):
                        if line.startswith("INFO: "):
                            log.info("LiteRT: %s", line[6:].strip())
                        else:
                            os.write(2, line.encode("utf-8", "replace"))
        finally:
            os.close(saved)


class LiteRtCpu(Backend):
    """`.tflite` on the CPU with LiteRT (XNNPACK); batch-1 fast path, buffers allocated once."""

    backend = "litert"

    def __init__(self, path: Path, num_threads: int) -> None:
        interpreter_class = _litert_interpreter_class()
        # Unset (-1): one XNNPACK thread, MediaPipe's desktop default
        # (GetXnnpackDefaultNumThreads), and LiteRT's own when it is given none.
        threads = num_threads if num_threads > 0 else 1
        try:
            with _native_info_to_log():
                self._interp = interpreter_class(model_path=str(path), num_threads=threads)
                self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            text = str(exc).strip() or type(exc).__name__
            custom = re.search(r"unresolved custom op: (\w+)", text)
            if custom:
                raise UnresolvedCustomOp(f"cannot load model {path} with LiteRT: it has the "
                                         f"custom operator {custom.group(1)}, which LiteRT "
                                         "lacks", custom.group(1)) from None
            raise ModelLoadError(f"cannot load model {path}: not a valid TFLite model "
                                 f"(LiteRT: {text})") from None
        self.device = f"cpu (XNNPACK, {threads} thread{'s' if threads > 1 else ''})"
        details = self._interp.get_input_details()
        self._in_index = [d["index"] for d in details]
        self.inputs = [TensorSpec(d["name"], tuple(int(s) for s in d.get("shape_signature", d["shape"])),
                                  np.dtype(d["dtype"])) for d in details]
        self._allocated = [tuple(int(s) for s in d["shape"]) for d in details]
        out = self._interp.get_output_details()
        self._out_index = [d["index"] for d in out]
        self.outputs = [d["name"] for d in out]
        self.aliases = _signature_aliases(self._interp)
        self._lock = threading.Lock()

    def run(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        interp = self._interp
        with self._lock:
            resized = False
            for i, (index, array) in enumerate(zip(self._in_index, arrays)):
                if array.shape != self._allocated[i]:  # an open dimension took a new size
                    interp.resize_tensor_input(index, array.shape)
                    self._allocated[i] = array.shape
                    resized = True
            if resized:
                interp.allocate_tensors()
            for index, array in zip(self._in_index, arrays):
                interp.set_tensor(index, array)
            interp.invoke()
            # LiteRT reuses its output buffers on the next invoke: copy out.
            return [interp.get_tensor(index).copy() for index in self._out_index]


def delegate_threads(settings: dict[str, Any], threads: int) -> int:
    """The thread count a runtime's delegate asks for (its own `num_threads` when set
    above 0, else the calculator's), at least 1."""
    own = settings.get("num_threads", -1)
    chosen = own if own is not None and own > 0 else threads
    return chosen if chosen > 0 else 1


def cpu(path: Path, threads: int, onnx_twin: Callable[[Path], Path]) -> Backend:
    """The CPU backend for `path`: ONNX Runtime for .onnx, LiteRT for .tflite, and for a
    .tflite model with custom operators LiteRT lacks (face_landmark_with_attention's
    MediaPipe transforms), its converted ONNX twin (`onnx_twin(path)`, converted once and
    kept beside it) on ONNX Runtime, said in a log line."""
    if path.suffix == ".onnx":
        return cached(("onnxruntime-cpu", file_key(path), threads), lambda: OrtCpu(path, threads))
    try:
        return cached(("litert", file_key(path), threads), lambda: LiteRtCpu(path, threads))
    except UnresolvedCustomOp as exc:
        twin = onnx_twin(path)
        log.info("LiteRT cannot run %s (custom operator %s); running its ONNX twin %s on "
                 "onnxruntime's CPU provider", path.name, exc.op, twin.name)
        return cached(("onnxruntime-cpu", file_key(twin), threads), lambda: OrtCpu(twin, threads))


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise MissingDependencyError("onnxruntime", None, "running .onnx models") from None
    return onnxruntime


def _no_spinning(so: Any, threads: int) -> None:
    # Spinning ORT threads burn the cores other graph stages need between frames.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    so.intra_op_num_threads = max(threads, 0)
    so.log_severity_level = 3  # errors only; the QNN provider warns a lot at load


class _OrtBackend(Backend):
    def _load(self, path: Path, so: Any, providers: list[Any] | None = None) -> None:
        ort = _ort()
        try:
            self._session = ort.InferenceSession(str(path), sess_options=so, providers=providers)
        except Exception as exc:
            text = str(exc)
            if "INVALID_PROTOBUF" in text or "NO_SUCHFILE" in text or "protobuf parsing" in text:
                raise ModelLoadError(f"cannot load model {path}: not a valid ONNX model "
                                     f"(onnxruntime: {text.strip()})") from None
            raise
        self._load_specs()

    def _load_specs(self) -> None:
        self.inputs = [TensorSpec(i.name, tuple(d if isinstance(d, int) else -1 for d in i.shape),
                                  _ort_dtype(i.type)) for i in self._session.get_inputs()]
        self.outputs = [o.name for o in self._session.get_outputs()]
        self._names = [i.name for i in self.inputs]

    def run(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        return self._session.run(None, dict(zip(self._names, arrays)))

    @property
    def session(self) -> Any:
        return self._session


_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16,
              "tensor(double)": np.float64, "tensor(int8)": np.int8, "tensor(uint8)": np.uint8,
              "tensor(int16)": np.int16, "tensor(int32)": np.int32, "tensor(int64)": np.int64,
              "tensor(bool)": np.bool_}


def _ort_dtype(type_name: str) -> np.dtype:
    return np.dtype(_ORT_TYPES.get(type_name, np.float32))


class OrtCpu(_OrtBackend):
    """`.onnx` on the CPU with ONNX Runtime, thread spinning off."""

    backend = "onnxruntime-cpu"

    def __init__(self, path: Path, num_threads: int) -> None:
        so = _ort().SessionOptions()
        _no_spinning(so, num_threads)
        self._load(path, so, ["CPUExecutionProvider"])
        self.device = f"cpu ({'auto' if num_threads <= 0 else num_threads} threads)"


def gpu_providers() -> list[str]:
    """ONNX Runtime's GPU providers that can start here, preferred first (TensorRT, CUDA)."""
    try:
        return _cuda.providers(_ort())
    except MissingDependencyError:
        return []


class OrtGpu(_OrtBackend):
    """`.onnx` on an NVIDIA GPU: ONNX Runtime's TensorRT provider where it loads, else CUDA.

    With `cuda_graph` (MediaPipe's `usage: SUSTAINED_SPEED`, the default) a model with
    fixed shapes is captured once as a CUDA graph and replayed per call; a model the
    capture refuses (nodes ONNX Runtime keeps on the CPU) runs plainly.
    """

    def __init__(self, path: Path, num_threads: int, allow_precision_loss: bool,
                 engine_cache_dir: str = "", cuda_graph: bool = False) -> None:
        ort = _ort()
        wanted = gpu_providers()
        if not wanted:
            raise BackendUnavailable(_cuda.no_provider_message(ort))
        self._threads, self._replay = num_threads, None
        settings = {"allow_precision_loss": allow_precision_loss,
                    "engine_cache_dir": engine_cache_dir}
        self._start(path, wanted, settings)
        active = self._session.get_providers()[0]
        if active not in wanted:  # the provider could not start: ORT ran it on the CPU
            raise BackendUnavailable(_cuda.start_failure_message(ort, wanted[-1]))
        if cuda_graph and active == _cuda.CUDA and _cuda.static_shapes(self._session):
            plain = self._session
            try:
                self._start(path, wanted, {**settings, "cuda_graph": True})
                self._replay = _cuda.GraphReplay(ort, self._session)
                for _ in range(3):  # ONNX Runtime captures after its warm-up runs
                    self._replay.run([np.zeros(s.shape, s.dtype) for s in self.inputs])
            except Exception as exc:  # noqa: BLE001 - ORT raises its own Fail types
                log.info("%s: no CUDA graph (%s); plain CUDA runs", path.name,
                         str(exc).strip().splitlines()[0])
                self._session, self._replay = plain, None
                self._load_specs()
        self.backend = "onnxruntime-tensorrt" if active == _cuda.TENSORRT else "onnxruntime-cuda"
        options = dict(self._session.get_provider_options().get(active, {}))
        precision = "fp16 allowed" if allow_precision_loss and active == _cuda.TENSORRT else (
            "tf32 allowed" if allow_precision_loss else "fp32")
        graph = ", cuda graph" if self._replay is not None else ""
        self.device = f"cuda:{options.get('device_id', '0')} ({precision}{graph})"

    def _start(self, path: Path, wanted: list[str], settings: dict[str, Any]) -> None:
        so = _ort().SessionOptions()
        _no_spinning(so, self._threads)
        providers = [(name, _cuda.provider_options(name, **settings)) for name in wanted]
        self._load(path, so, [*providers, "CPUExecutionProvider"])

    def run(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        if self._replay is not None:
            return self._replay.run(arrays)
        return super().run(arrays)


# -- QNN (Hexagon HTP) ------------------------------------------------------------------

_QNN_LOCK = threading.Lock()
_QNN_REGISTERED: list[str] = []
QNN_EP = "QNNExecutionProvider"
DEFAULT_SOC_MODEL = "60"


def _qnn_package() -> Any:
    try:
        import onnxruntime_qnn
    except ImportError:
        raise MissingDependencyError("onnxruntime-qnn", "dsp",
                                     "the Hexagon DSP (QNN HTP) backend") from None
    return onnxruntime_qnn


def qnn_devices() -> list[Any]:
    """The QNN provider's ONNX Runtime devices, registering the plugin library once.

    onnxruntime-qnn 2.x is a plugin execution provider: its library is registered with
    `register_execution_provider_library` and attached to a session through its
    `OrtEpDevice`s. Returns [] for an older onnxruntime that has the provider built in.
    """
    ort = _ort()
    qnn = _qnn_package()
    if not hasattr(ort, "register_execution_provider_library"):
        return []
    with _QNN_LOCK:
        if not _QNN_REGISTERED:
            library = qnn.get_library_path()
            if not any(d.ep_name == QNN_EP for d in ort.get_ep_devices()):
                try:
                    ort.register_execution_provider_library(QNN_EP, library)
                except Exception as exc:  # noqa: BLE001 - ORT raises its own Fail types
                    raise BackendUnavailable(f"cannot load the QNN execution provider {library}: "
                                             f"{exc}") from None
            _QNN_REGISTERED.append(library)
    return [d for d in ort.get_ep_devices() if d.ep_name == QNN_EP]


def htp_backend_path(override: str = "") -> str:
    if override:
        return override
    qnn = _qnn_package()
    getter = getattr(qnn, "get_qnn_htp_path", None)
    return getter() if getter else os.path.join(os.path.dirname(qnn.__file__), "libQnnHtp.so")


def htp_emulated() -> bool:
    """QNN's HTP backend runs on a Hexagon NPU only on ARM; elsewhere it is a simulator."""
    return platform.machine().lower() not in ("aarch64", "arm64")


def _has_qdq(path: Path) -> bool:
    data = path.read_bytes()
    return b"QuantizeLinear" in data


def _calibration_samples(calibration: Path, names: list[str]) -> list[dict[str, np.ndarray]]:
    """Samples from a `.npy` (one input: N x input shape) or `.npz` (one N x shape array per
    input name) file."""
    data = np.load(calibration)
    if isinstance(data, np.ndarray):
        if len(names) != 1:
            raise ValueError(f"calibration file {calibration}: the model has {len(names)} inputs "
                             f"({', '.join(names)}); give an .npz with one array per input")
        arrays = {names[0]: data}
    else:
        missing = [n for n in names if n not in data.files]
        if missing:
            raise ValueError(f"calibration file {calibration} lacks arrays for model inputs "
                             f"{missing} (it has {data.files})")
        arrays = {n: data[n] for n in names}
    count = min(len(a) for a in arrays.values())
    return [{n: np.ascontiguousarray(a[i]) for n, a in arrays.items()} for i in range(count)]


def quantize_for_htp(model: Path, calibration: Path, folder: Path, *,
                     activation_bits: int = 8) -> Path:
    """A QDQ copy of `model` (8-bit weights, 8- or 16-bit activations) calibrated on
    `calibration`, made once and cached in `folder`."""
    try:
        from onnxruntime.quantization import CalibrationDataReader, QuantType, quantize
        from onnxruntime.quantization.execution_providers.qnn import get_qnn_qdq_config
    except ImportError:
        raise MissingDependencyError("onnx", "dsp", "int8 quantization for the DSP") from None
    key = (file_key(model), file_key(calibration), activation_bits)
    tag = hashlib.sha1(repr(key).encode()).hexdigest()[:12]
    target = folder / f"{model.stem}.qdq.{tag}.onnx"
    if target.is_file():
        return target
    names = [i.name for i in _ort().InferenceSession(
        str(model), providers=["CPUExecutionProvider"]).get_inputs()]
    samples = _calibration_samples(calibration, names)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(samples)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._it, None)

    activations = QuantType.QUInt16 if activation_bits == 16 else QuantType.QUInt8
    config = get_qnn_qdq_config(str(model), Reader(), activation_type=activations,
                                weight_type=QuantType.QUInt8)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{target.name}.{os.getpid()}.{threading.get_ident()}.part"
    try:
        quantize(str(model), str(partial), config)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


class QnnHtp(_OrtBackend):
    """`.onnx` on the Hexagon DSP with ONNX Runtime's QNN provider, HTP backend."""

    backend = "onnxruntime-qnn-htp"

    def __init__(self, path: Path, *, precision: str = "", context_cache_dir: str = "",
                 allow_cpu_nodes: bool = False, soc_model: str = "",
                 performance_mode: str = "", backend_path: str = "",
                 calibration_data: str = "", graph_optimization_mode: str = "") -> None:
        ort = _ort()
        devices = qnn_devices()
        library = htp_backend_path(backend_path)
        if not os.path.isfile(library):
            raise BackendUnavailable(f"QNN HTP backend library {library} is missing "
                                     "(reinstall: pip install 'mediagraph[dsp]')")
        if graph_optimization_mode not in ("", "1", "2", "3"):
            raise ValueError(f"dsp graph_optimization_mode {graph_optimization_mode!r}: use 1 "
                             "(fastest to prepare), 2 or 3 (most optimized)")
        if precision not in ("", "fp32", "fp16", "int8", "a16w8"):
            raise ValueError(f"dsp precision {precision!r}: use fp32, fp16, int8 or a16w8")
        if precision in ("int8", "a16w8") and not _has_qdq(path):
            if not calibration_data:
                raise ValueError(
                    f"dsp precision {precision} needs a QDQ-quantized ONNX model, and {path} has no "
                    "QuantizeLinear nodes: give dsp { calibration_data: \"inputs.npz\" } "
                    "(representative inputs) to quantize it")
            path = quantize_for_htp(path, Path(calibration_data).expanduser(),
                                    Path(context_cache_dir).expanduser() if context_cache_dir
                                    else path.parent,
                                    activation_bits=16 if precision == "a16w8" else 8)
        self.model_file = path
        provider_options = {"backend_path": library}
        if precision == "fp16":
            provider_options["enable_htp_fp16_precision"] = "1"
            provider_options["soc_model"] = soc_model or DEFAULT_SOC_MODEL
        elif precision == "fp32":
            provider_options["enable_htp_fp16_precision"] = "0"
        if soc_model:
            provider_options["soc_model"] = soc_model
        if performance_mode:
            provider_options["htp_performance_mode"] = performance_mode

        # QNN's default graph finalization fails with MEM_ALLOC on some models
        # (pose_detection); its optimization mode 3 finalizes them, so a failed default
        # is retried once at 3.
        modes = [graph_optimization_mode] if graph_optimization_mode else ["", "3"]
        for mode in modes:
            options = {**provider_options}
            if mode:
                options["htp_graph_finalization_optimization_mode"] = mode
            try:
                self._open_session(ort, path, devices, options, allow_cpu_nodes,
                                   context_cache_dir)
                break
            except (BackendUnavailable, ModelLoadError):
                raise
            except Exception as exc:  # noqa: BLE001 - ORT raises its own Fail types
                if "MEM_ALLOC" in str(exc) and mode != modes[-1]:
                    log.info("%s: QNN graph finalization ran out of memory; retrying with "
                             "optimization mode %s", path.name, modes[-1])
                    continue
                raise BackendUnavailable(
                    f"QNN HTP backend ({library}) could not run {path}: {str(exc).strip()}"
                    + ("" if allow_cpu_nodes else
                       " (CPU fallback for unsupported nodes is off; dsp { allow_fallback: "
                       "true } allows it)")) from None
        if QNN_EP not in self._session.get_providers():
            raise BackendUnavailable(f"QNN HTP backend did not attach to the session for {path}")
        where = "emulated on " + platform.machine() if htp_emulated() else "Hexagon NPU"
        self.device = f"Hexagon HTP ({where}{', fp16' if precision == 'fp16' else ''})"

    def _open_session(self, ort: Any, path: Path, devices: list[Any], provider_options: dict,
                      allow_cpu_nodes: bool, context_cache_dir: str) -> None:
        so = ort.SessionOptions()
        _no_spinning(so, 0)
        if not allow_cpu_nodes:
            so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
        source = path
        if context_cache_dir:
            folder = Path(context_cache_dir).expanduser()
            folder.mkdir(parents=True, exist_ok=True)
            tag = hashlib.sha1(repr((file_key(path), sorted(provider_options.items()))).encode())
            context = folder / f"{path.stem}.{tag.hexdigest()[:12]}_qnn_ctx.onnx"
            if context.is_file():
                source = context  # the compiled context binary: no HTP graph compile
            else:
                so.add_session_config_entry("ep.context_enable", "1")
                so.add_session_config_entry("ep.context_file_path", str(context))
                so.add_session_config_entry("ep.context_embed_mode", "1")
            self.context_file = context
        if devices:
            so.add_provider_for_devices(devices, provider_options)
            self._load(source, so)
        elif QNN_EP in ort.get_available_providers():
            self._load(source, so, [(QNN_EP, provider_options)])
        else:
            raise BackendUnavailable("onnxruntime-qnn is installed but ONNX Runtime lists no "
                                     "QNNExecutionProvider device")
