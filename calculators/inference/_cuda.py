"""NVIDIA GPUs through ONNX Runtime: find CUDA's libraries, pick the provider, say what is missing.

`onnxruntime-gpu` lists the CUDA and TensorRT providers whether or not their libraries
can load, and when one cannot start ONNX Runtime quietly runs the model on the CPU (or
prints "Falling back ... and retrying"). So this module checks beforehand: it loads the
CUDA and cuDNN libraries that `pip install 'onnxruntime-gpu[cuda,cudnn]'` brings (ONNX
Runtime's own `preload_dlls`), offers TensorRT only where `libnvinfer` loads, and turns a
failed start into a message naming the missing driver or library.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import io
import threading
from importlib import metadata
from typing import Any

import numpy as np

CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
INSTALL = "pip install 'mediagraph[gpu]'"

_PRELOAD_LOCK = threading.Lock()
_preload_failures: list[str] | None = None


def preload_libraries(ort: Any) -> list[str]:
    """Load CUDA/cuDNN from pip's nvidia-* packages once; the libraries that failed to load.

    Without this, a CUDA installed by pip (not system-wide) is invisible to the dynamic
    loader and the CUDA provider cannot start. ONNX Runtime reports failures by printing;
    the lines are kept for the error message instead.
    """
    global _preload_failures
    with _PRELOAD_LOCK:
        if _preload_failures is None:
            printed = io.StringIO()
            preload = getattr(ort, "preload_dlls", None)
            if preload is not None:
                with contextlib.redirect_stdout(printed):
                    try:
                        preload()
                    except Exception as exc:  # noqa: BLE001 - it raises RuntimeError or OSError
                        print(f"Failed to load CUDA libraries: {exc}")
            _preload_failures = [line.split(":", 1)[0].removeprefix("Failed to load ").strip()
                                 for line in printed.getvalue().splitlines()
                                 if line.startswith("Failed to load")]
        return list(_preload_failures)


def loadable(library: str) -> bool:
    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True


@functools.cache
def tensorrt_loadable() -> bool:
    """TensorRT 10's runtime and ONNX parser load (the provider links against both)."""
    return loadable("libnvinfer.so.10") and loadable("libnvonnxparser.so.10")


def providers(ort: Any) -> list[str]:
    """The GPU providers that can start here, preferred first (TensorRT, then CUDA)."""
    available = ort.get_available_providers()
    if CUDA not in available and TENSORRT not in available:
        return []
    preload_libraries(ort)
    found = []
    if TENSORRT in available and tensorrt_loadable():
        found.append(TENSORRT)
    if CUDA in available:
        found.append(CUDA)
    return found


def installed(distribution: str) -> bool:
    """Whether the pip distribution `distribution` is installed (its module may be
    another's: onnxruntime-gpu and onnxruntime-openvino both install `onnxruntime`)."""
    try:
        metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


def no_provider_message(ort: Any) -> str:
    """Why ONNX Runtime has no GPU provider, and what to install."""
    available = ", ".join(ort.get_available_providers())
    if installed("onnxruntime-gpu"):
        return ("onnxruntime-gpu is installed but ONNX Runtime lists no CUDA provider (only "
                f"{available}): the CPU package onnxruntime was installed over it. Fix with "
                "pip uninstall -y onnxruntime onnxruntime-gpu && " + INSTALL)
    return ("the GPU backend needs ONNX Runtime with the CUDA execution provider (installed "
            f"onnxruntime has only {available}): pip uninstall -y onnxruntime && {INSTALL}")


def start_failure_message(ort: Any, provider: str) -> str:
    """Why `provider` did not attach to a session: no driver, or which libraries are missing."""
    head = f"ONNX Runtime could not start {provider}"
    if not loadable("libcuda.so.1"):
        return f"{head}: no NVIDIA driver here (libcuda.so.1 not found); is there a GPU?"
    missing = preload_libraries(ort)
    cuda = getattr(ort, "cuda_version", "") or "?"
    if missing:
        return (f"{head}: cannot load {', '.join(missing)} (onnxruntime-gpu "
                f"{ort.__version__} needs CUDA {cuda} and cuDNN 9): {INSTALL}, which brings "
                "them as nvidia-* packages, or put a matching CUDA on LD_LIBRARY_PATH")
    return (f"{head} (onnxruntime-gpu {ort.__version__}, built for CUDA {cuda}): no usable "
            "GPU, or a driver too old for that CUDA; nvidia-smi shows both")


def provider_options(provider: str, *, allow_precision_loss: bool, engine_cache_dir: str = "",
                     cuda_graph: bool = False) -> dict[str, str]:
    """Per-provider options from MediaPipe's GPU delegate fields.

    `allow_precision_loss` (MediaPipe's default: true) lets TensorRT build fp16 engines and
    CUDA use TF32 tensor cores; false keeps float32 arithmetic. A cache folder
    (`serialized_model_dir` / `cached_kernel_path`) keeps TensorRT's built engines.
    `cuda_graph` has the CUDA provider capture the whole model as one CUDA graph.
    """
    if provider == TENSORRT:
        options = {"trt_fp16_enable": "1" if allow_precision_loss else "0"}
        if engine_cache_dir:
            options |= {"trt_engine_cache_enable": "1", "trt_engine_cache_path": engine_cache_dir}
        return options
    options = {"use_tf32": "1" if allow_precision_loss else "0"}
    if cuda_graph:
        options["enable_cuda_graph"] = "1"
    return options


def static_shapes(session: Any) -> bool:
    """Every input and output of `session` has a fixed shape (a CUDA graph needs that)."""
    return all(all(isinstance(d, int) and d > 0 for d in arg.shape)
               for arg in [*session.get_inputs(), *session.get_outputs()])


class GraphReplay:
    """Runs a session captured as one CUDA graph: inputs and outputs live at fixed GPU
    addresses, each call copies the inputs in, replays the graph and copies the outputs out.

    For small models most of a plain run is the launch of ~100 kernels; the replay
    launches them as one. Calls are serialised: the bound buffers are shared.
    """

    def __init__(self, ort: Any, session: Any, device: str = "cuda", device_id: int = 0) -> None:
        self._session = session
        self._lock = threading.Lock()
        self._inputs = [ort.OrtValue.ortvalue_from_shape_and_type(
            arg.shape, _NUMPY_TYPES[arg.type], device, device_id) for arg in session.get_inputs()]
        self._outputs = [ort.OrtValue.ortvalue_from_shape_and_type(
            arg.shape, _NUMPY_TYPES[arg.type], device, device_id) for arg in session.get_outputs()]
        # A GPU value's numpy() is a fresh host copy; a CPU value's is a view of the buffer
        # the next run overwrites.
        self._copy = device == "cpu"
        self._binding = session.io_binding()
        for arg, value in zip(session.get_inputs(), self._inputs):
            self._binding.bind_ortvalue_input(arg.name, value)
        for arg, value in zip(session.get_outputs(), self._outputs):
            self._binding.bind_ortvalue_output(arg.name, value)

    def run(self, arrays: list[Any]) -> list[Any]:
        with self._lock:
            for value, array in zip(self._inputs, arrays):
                value.update_inplace(array)
            self._session.run_with_iobinding(self._binding)
            if self._copy:
                return [value.numpy().copy() for value in self._outputs]
            return [value.numpy() for value in self._outputs]


_NUMPY_TYPES: dict[str, Any] = {
    "tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int32)": np.int32,
    "tensor(int64)": np.int64, "tensor(uint8)": np.uint8, "tensor(int8)": np.int8,
    "tensor(bool)": np.bool_}
