"""The ExecuTorch backend: a model converted once to an XNNPACK-lowered `.pte`, run by ExecuTorch.

Conversion (`mediagraph models convert MODEL --to executorch`): the ONNX model (a
`.tflite`'s `.onnx` twin, which keeps the TFLite layouts) becomes a torch module through
onnx2torch, made static-shaped for export (`_onnx_torch`); `torch.export` traces it,
`to_edge_transform_and_lower` hands every operator XNNPACK takes to the XNNPACK delegate,
and the program is saved as a `.pte` beside the source, keyed by its sha256 (`_converted`),
with a `.json` holding the model's input and output names, shapes and dtypes (a `.pte`
keeps none of the names) and the operators left outside XNNPACK (they run on ExecuTorch's
portable kernels: `aten::mean` in the hand landmark models, for one).

Running: ExecuTorch's Python runtime (`executorch.runtime`, which links libtorch, so the
extra brings torch's CPU build). Outputs live in the program's planned memory, which the
next call reuses: they are copied out. One loaded method per (file, threads); calls to it
are serialised with a lock. ExecuTorch's CPU thread pool is one per process: the first
session sizes it, and a later one asking for another count runs with the pool as it is
(logged, and said in `device`), since resizing it under a running method is unsafe.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from mediagraph import models, registry
from mediagraph.errors import MissingDependencyError

from . import _backends as B
from . import _converted, _onnx_torch
from ._mnn import _native_output

log = logging.getLogger("mediagraph.inference")

EXTRA = "executorch"
_pool_lock = threading.Lock()
_pool_threads: list[int] = []


def _module(name: str, purpose: str) -> Any:
    try:
        with _onnx_torch.quiet_torch():
            return importlib.import_module(name)
    except ImportError:
        raise MissingDependencyError("executorch", EXTRA, purpose) from None


def _describe(values: Any, initializers: set[str]) -> list[dict[str, Any]]:
    from onnx import helper

    return [{"name": v.name,
             "shape": [d.dim_value if d.HasField("dim_value") else -1
                       for d in v.type.tensor_type.shape.dim],
             "dtype": np.dtype(helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type)).str}
            for v in values if v.name not in initializers]


def _operator_name(target: Any) -> str:
    """`aten.mean.dim` from an edge operator, which prints as
    `<EdgeOpOverload: aten.mean.dim>: schema = aten::mean.dim(...)`."""
    return str(target).removeprefix("<EdgeOpOverload: ").split(">")[0].split(":")[0].strip()


def _lowered(source: Path, onnx_file: Path) -> tuple[bytes, dict[str, Any]]:
    """The `.pte` bytes of the ONNX model at `onnx_file`, and its I/O description."""
    import torch

    exir = _module("executorch.exir", "converting models for ExecuTorch")
    xnnpack = _module("executorch.backends.xnnpack.partition.xnnpack_partitioner",
                      "converting models for ExecuTorch")
    model = _onnx_torch.prepared(onnx_file)
    example = _onnx_torch.example_inputs(model, source)
    with _onnx_torch.quiet_torch():
        module = _onnx_torch.static_module(model, example, source)
        try:
            exported = torch.export.export(module, tuple(example))
        except Exception as exc:  # noqa: BLE001 - torch raises many types here
            where = _onnx_torch.onnx_operator_of(module, exc, model)
            text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise models.ModelConversionError(
                f"cannot convert {source} for ExecuTorch: torch.export failed"
                + (f" in the {where[1]} node '{where[0]}'" if where else "") + f": {text}",
                where[1] if where else None) from None
        try:
            edge = exir.to_edge_transform_and_lower(exported,
                                                    partitioner=[xnnpack.XnnpackPartitioner()])
            outside = sorted({_operator_name(n.target)
                              for n in edge.exported_program().graph_module.graph.nodes
                              if n.op == "call_function" and "aten" in str(n.target)})
            program = edge.to_executorch()
        except Exception as exc:  # noqa: BLE001 - ExecuTorch raises many types here
            text = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
            raise models.ModelConversionError(
                f"cannot convert {source} for ExecuTorch: lowering failed: {text}") from None
    initializers = {i.name for i in model.graph.initializer}
    io = {"inputs": _describe(model.graph.input, initializers),
          "outputs": _describe(model.graph.output, initializers),
          "outside_xnnpack": outside}
    return program.buffer, io


def convert(model: str | Path) -> Path:
    """The XNNPACK-lowered `.pte` (with a `.json` beside it) of `model`, converted once and
    cached beside it; `mediagraph models convert MODEL --to executorch`."""
    _module("executorch.exir", "converting models for ExecuTorch")
    _onnx_torch.onnx2torch()
    source = models.resolve(model)
    if source.suffix not in (".onnx", ".tflite"):
        raise B.ModelLoadError(f"cannot convert {source} for ExecuTorch: give a .tflite or "
                               ".onnx model")

    def build(target: Path) -> None:
        data, io = _lowered(source, _converted.onnx_twin(source))
        if io["outside_xnnpack"]:
            log.info("ExecuTorch: %s runs %s outside XNNPACK (portable kernels)", source.name,
                     ", ".join(io["outside_xnnpack"]))
        target.with_suffix(".json").write_text(json.dumps(io, indent=1))
        target.write_bytes(data)

    return _converted.converted(source, "executorch", ".pte", build)


registry.register_converter("executorch", convert)


def _thread_pool(threads: int) -> int:
    """Size ExecuTorch's process-wide thread pool on first use; its size from then on."""
    portable = _module("executorch.extension.pybindings.portable_lib", "the ExecuTorch backend")
    with _pool_lock:
        if not _pool_threads:
            portable._unsafe_reset_threadpool(threads)
            _pool_threads.append(threads)
        elif _pool_threads[0] != threads:
            log.info("ExecuTorch's thread pool is one per process and has %d threads; a "
                     "session asking for %d shares it", _pool_threads[0], threads)
        return int(portable._threadpool_get_thread_count())


class ExecuTorchSession(B.Backend):
    """An XNNPACK-lowered `.pte` on ExecuTorch's CPU runtime; outputs copied out."""

    backend = "executorch"

    def __init__(self, pte: Path, threads: int) -> None:
        runtime_module = _module("executorch.runtime", "the ExecuTorch backend")
        import torch

        self._torch = torch
        io = json.loads(pte.with_suffix(".json").read_text())
        printed: list[str] = []
        try:
            with _native_output(printed):
                pool = _thread_pool(threads)
                program = runtime_module.Runtime.get().load_program(pte)
                self._method = program.load_method("forward")
        except Exception as exc:  # noqa: BLE001 - the runtime raises RuntimeError and others
            raise B.ModelLoadError(f"cannot load model {pte} with ExecuTorch: "
                                   f"{str(exc).strip() or type(exc).__name__}") from None
        self._program = program
        self.model_file = pte
        self.inputs = [B.TensorSpec(s["name"], tuple(s["shape"]), np.dtype(s["dtype"]))
                       for s in io["inputs"]]
        self.outputs = [s["name"] for s in io["outputs"]]
        self.outside_xnnpack = list(io.get("outside_xnnpack", []))
        self._lock = threading.Lock()
        self.device = f"cpu (XNNPACK, fp32, {pool} thread{'s' if pool > 1 else ''})"

    def run(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        # Graph packets are read-only, and torch wraps read-only memory only with a
        # warning: such an input is copied (about 0.1 ms for the largest input here).
        tensors = [self._torch.from_numpy(a if a.flags.writeable and a.flags.c_contiguous
                                          else np.array(a, order="C")) for a in arrays]
        with self._lock:
            outputs = self._method.execute(tensors)
            # The planned output memory is reused by the next call: copy out.
            return [np.array(o.numpy(), copy=True) for o in outputs]


def open_backend(path: Path, threads: int, settings: dict[str, Any]) -> B.Backend:
    """The cached ExecuTorch backend for `path` with the `executorch {}` delegate `settings`."""
    threads = B.delegate_threads(settings, threads)
    pte = convert(path)
    return B.cached(("executorch", B.file_key(pte), threads),
                    lambda: ExecuTorchSession(pte, threads))
