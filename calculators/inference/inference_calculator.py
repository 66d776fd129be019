"""InferenceCalculator: run a TFLite or ONNX model on the CPU, a CUDA GPU, the Hexagon DSP,
or another runtime (OpenVINO, MNN, ncnn, ExecuTorch; Core ML on macOS)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from mediagraph.calculators.inference import _backends as B
from mediagraph.calculators.inference import (_converted, _coreml, _executorch, _io_map, _mnn,
                                              _ncnn, _openvino)
from mediagraph.calculators.inference._options import (
    Auto,
    CoreMl,
    Delegate,
    Dsp,
    ExecuTorch,
    Gpu,
    InferenceCalculatorOptions,
    InferenceUsage,
    Mnn,
    Ncnn,
    Nnapi,
    OpenVino,
    TfLite,
    Xnnpack,
)
from mediagraph import (Calculator, CalculatorContext, Input, Inputs, NodeConfig, Output, Outputs,
                        SideInput, models)
from mediagraph.errors import MissingDependencyError

__all__ = ["Auto", "CoreMl", "Delegate", "Dsp", "ExecuTorch", "Gpu", "InferenceCalculator",
           "InferenceCalculatorOptions", "Mnn", "Ncnn", "Nnapi", "OpenVino", "TfLite", "Xnnpack"]

log = logging.getLogger("mediagraph.inference")

_CPU, _GPU, _DSP, _NNAPI, _AUTO = "cpu", "gpu", "dsp", "nnapi", "auto"
# The runtimes with a backend module of their own: delegate member -> its open_backend.
_RUNTIMES = {"openvino": _openvino.open_backend, "mnn": _mnn.open_backend,
             "ncnn": _ncnn.open_backend, "executorch": _executorch.open_backend,
             "coreml": _coreml.open_backend}


class InferenceCalculator(Calculator):
    """Run a model on a list of tensors: `.tflite` with LiteRT, `.onnx` with ONNX Runtime.

    The device comes from `delegate` (MediaPipe's field, plus mediagraph's `dsp`):
      tflite {} / xnnpack {}  CPU: LiteRT (XNNPACK) for .tflite, ONNX Runtime for .onnx
                              and for a .tflite with custom ops LiteRT lacks (its twin)
      gpu {}                  ONNX Runtime CUDA (TensorRT when present); a .tflite model
                              is converted once to an .onnx twin next to it
      dsp {} / hexagon {}     ONNX Runtime QNN, HTP backend, the whole model on HTP
                              (emulated off ARM); precision, context_cache_dir, ...
      nnapi {}                Android only: an error here (CPU with allow_fallback)
      openvino {}             OpenVINO (extra `openvino`): the model converted once to
                              OpenVINO IR beside it; float32 unless allow_precision_loss;
                              device, num_threads, precision (int8 with
                              calibration_data); runtime: "onnxruntime" for
                              ONNX Runtime's OpenVINO provider (onnxruntime-openvino)
      mnn {}                  MNN (extra `mnn`): converted once to .mnn beside the model
                              by MNN's converter; num_threads, allow_precision_loss,
                              precision: "int8" (int8 weights)
      ncnn {}                 ncnn (extra `ncnn`, and the pnnx tool): converted once by
                              pnnx to .param/.bin beside the model; batch-1 models
      executorch {}           ExecuTorch (extra `executorch`, and onnx2torch): converted
                              once to an XNNPACK-lowered .pte beside the model; fp32
      coreml {}               ONNX Runtime's CoreML provider on the .onnx twin; macOS
                              only (elsewhere open fails, naming the CPU path)
      auto {} or none         the best available: CUDA GPU, then real Hexagon HTP, then CPU
    A device that is unavailable fails `open` with what is missing, unless
    `allow_fallback: true`, which logs and runs on the CPU. Loaded models are cached per
    (file, backend, settings) for the process, so a graph run again reuses them.
    `profile_info` (and `backend`) say which backend and device really ran.

    Inputs:  TENSORS (list of numpy arrays, in the model's input order), or TENSOR:0..N
             (one numpy array per stream)
    Outputs: TENSORS (list of numpy arrays, read-only, in the model's output order), or
             TENSOR:0..M (one per stream)
    Side inputs: MODEL (path, optional; overrides model_path), OP_RESOLVER (optional,
             MediaPipe's custom-op resolver: accepted and ignored)
    Options: InferenceCalculatorOptions: model_path, cpu_num_thread (-1), delegate,
             input_output_config (tensor order by index or name; feedback links that
             carry a recurrent model's state from call to call, zeros at each run),
             use_gpu/use_nnapi (deprecated), allow_fallback (mediagraph's)

    Example config:
        node {
          calculator: "InferenceCalculator"
          input_stream: "TENSORS:image_tensor"
          output_stream: "TENSORS:detection_tensors"
          options { [mediapipe.InferenceCalculatorOptions.ext] {
            model_path: "mediapipe/modules/face_detection/face_detection_short_range.tflite"
            delegate { xnnpack {} } } }
        }
    """

    Options = InferenceCalculatorOptions

    tensors_in = Input(list, tag="TENSORS", optional=True)
    tensor_in = Inputs(Any, tag="TENSOR")  # or one stream per tensor, as MediaPipe allows
    tensors_out = Output(list, tag="TENSORS", optional=True)
    tensor_out = Outputs(Any, tag="TENSOR")
    model = SideInput(str, tag="MODEL", optional=True)
    # MediaPipe's custom-op resolver: LiteRT resolves the ops of these models itself.
    op_resolver = SideInput(Any, tag="OP_RESOLVER", optional=True)

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        if not node.options.model_path and not node.connected(cls.model):
            raise ValueError("no model: set model_path or the MODEL side packet")
        for vector, single, side in ((cls.tensors_in, cls.tensor_in, "inputs"),
                                     (cls.tensors_out, cls.tensor_out, "outputs")):
            if node.connected(vector) == node.connected(single):
                raise ValueError(f"connect either TENSORS or TENSOR:0..N {side}, not "
                                 f"{'both' if node.connected(single) else 'neither'}")

    def open(self, cc: CalculatorContext) -> None:
        opts: InferenceCalculatorOptions = self.options
        source = cc.side(self.model) or opts.model_path
        if not source:  # a MODEL side packet that arrived empty
            raise ValueError(f"node '{cc.node_name}': no model: the MODEL side packet is empty")
        path = models.resolve(str(source))
        self.model_path = path
        kind, settings = _requested(opts)
        fallback = opts.allow_fallback or bool(settings.get("allow_fallback"))
        try:
            self.session = self._open_backend(kind, path, opts, settings)
        except (B.BackendUnavailable, MissingDependencyError, models.ModelConversionError) as exc:
            if kind == _CPU or not fallback:
                raise
            log.warning("node '%s': %s backend unavailable (%s); running on the CPU",
                        cc.node_name, kind, exc)
            self.session = self._open_backend(_CPU, path, opts, {})
        self.profile_info = {"backend": self.session.backend, "device": self.session.device}
        self.backend = self.session.backend
        self._node = cc.node_name
        self._io = _io_map.build(opts.input_output_config, self.session.inputs,
                                 self.session.outputs,
                                 aliases=getattr(self.session, "aliases", None),
                                 where=f"node '{cc.node_name}' (model {path.name})")
        self._mapped = not self._io.identity
        self._inputs = [self.session.inputs[i] for i in self._io.inputs]
        self._vector_in, self._vector_out = self._check_ports(cc, path.name)

    def _check_ports(self, cc: CalculatorContext, model: str) -> tuple[bool, bool]:
        """TENSORS (a vector) or TENSOR:0..N (one stream per tensor, one per model tensor)."""
        sides = []
        for single, side, count in ((self.tensor_in, "inputs", len(self._inputs)),
                                    (self.tensor_out, "outputs", len(self._io.outputs))):
            streams = cc.count(single)
            if streams and streams != count:
                raise ValueError(f"node '{cc.node_name}': {streams} TENSOR {side}, but model "
                                 f"{model} has {count}")
            sides.append(not streams)
        return sides[0], sides[1]

    def _open_backend(self, kind: str, path: Path, opts: InferenceCalculatorOptions,
                      settings: dict[str, Any]) -> B.Backend:
        threads = settings.get("num_threads", -1)
        if threads is None or threads < 0:
            threads = opts.cpu_num_thread
        if kind == _AUTO:
            return self._open_auto(path, threads)
        if kind == _NNAPI:
            raise B.BackendUnavailable("the NNAPI delegate is Android-only and not available on "
                                       "this platform; use xnnpack {}, gpu {} or dsp {}")
        if kind == _CPU:
            return B.cpu(path, threads, _onnx_twin)
        if kind in _RUNTIMES:
            return _RUNTIMES[kind](path, threads, settings)
        onnx = _onnx_twin(path)
        if kind == _GPU:
            lossy = bool(settings.get("allow_precision_loss", True))
            cache = str(settings.get("serialized_model_dir") or settings.get("cached_kernel_path")
                        or "")
            # MediaPipe's usage: SUSTAINED_SPEED (video, the default) replays a CUDA graph;
            # FAST_SINGLE_ANSWER skips the capture's warm-up.
            replay = settings.get("usage") != InferenceUsage.FAST_SINGLE_ANSWER
            return B.cached(("onnxruntime-gpu", B.file_key(onnx), threads, lossy, cache, replay),
                            lambda: B.OrtGpu(onnx, threads, lossy, cache, replay))
        dsp = {k: v for k, v in settings.items() if k != "num_threads"}
        config = {"precision": dsp.get("precision", ""),
                  "context_cache_dir": dsp.get("context_cache_dir", ""),
                  "allow_cpu_nodes": bool(dsp.get("allow_fallback", False)),
                  "soc_model": dsp.get("soc_model", ""),
                  "performance_mode": dsp.get("htp_performance_mode", ""),
                  "backend_path": dsp.get("backend_path", ""),
                  "calibration_data": dsp.get("calibration_data", ""),
                  "graph_optimization_mode": dsp.get("graph_optimization_mode", "")}
        return B.cached(("onnxruntime-qnn-htp", B.file_key(onnx), tuple(sorted(config.items()))),
                        lambda: B.QnnHtp(onnx, **config))

    def _open_auto(self, path: Path, threads: int) -> B.Backend:
        candidates: list[tuple[str, dict[str, Any]]] = []
        if B.gpu_providers():
            candidates.append((_GPU, {}))
        if not B.htp_emulated() and _importable("onnxruntime_qnn"):
            candidates.append((_DSP, {}))
        opts = self.options
        for kind, settings in candidates:
            try:
                return self._open_backend(kind, path, opts, {**settings, "num_threads": threads})
            except (B.BackendUnavailable, MissingDependencyError,
                    models.ModelConversionError) as exc:
                log.info("auto delegate: %s not used for %s (%s)", kind, path.name, exc)
        return self._open_backend(_CPU, path, opts, {"num_threads": threads})

    def process(self, cc: CalculatorContext) -> None:
        if self._vector_in:
            tensors = cc.get(self.tensors_in)
            if tensors is None:
                return
            if isinstance(tensors, np.ndarray):
                tensors = [tensors]
        else:
            tensors = cc.get(self.tensor_in)
            missing = [i for i, t in enumerate(tensors) if t is None]
            if len(missing) == len(tensors):
                return
            if missing:
                raise ValueError(f"node '{self._node}': TENSOR:{missing[0]} has no packet at "
                                 f"{cc.input_timestamp} while the other TENSOR inputs do")
        arrays = self._checked(list(tensors))
        if self._mapped:
            outputs = self._io.calculator_outputs(self.session.run(self._io.model_arrays(arrays)))
        else:
            outputs = self.session.run(arrays)
        for out in outputs:
            out.flags.writeable = False
        if self._vector_out:
            cc.send(self.tensors_out, outputs)
        else:
            for index, out in enumerate(outputs):
                cc.send(self.tensor_out[index], out)

    def _checked(self, tensors: list[Any]) -> list[np.ndarray]:
        specs = self._inputs
        if len(tensors) != len(specs):
            raise ValueError(f"node '{self._node}': model {self.model_path.name} takes "
                             f"{len(specs)} input tensors ({', '.join(s.name for s in specs)}), "
                             f"got {len(tensors)}")
        arrays = []
        for spec, tensor in zip(specs, tensors):
            array = np.asarray(tensor)
            shape_ok = len(array.shape) == len(spec.shape) and all(
                want in (-1, 0, got) for want, got in zip(spec.shape, array.shape))
            if not shape_ok or array.dtype != spec.dtype:
                raise ValueError(
                    f"node '{self._node}': model input '{spec.name}' of {self.model_path.name} "
                    f"expects shape {list(spec.shape)} {spec.dtype}, got shape "
                    f"{list(array.shape)} {array.dtype}")
            arrays.append(np.ascontiguousarray(array))
        return arrays


def _requested(opts: InferenceCalculatorOptions) -> tuple[str, dict[str, Any]]:
    """The backend kind the options ask for, and that delegate member's settings."""
    delegate = opts.delegate
    if delegate is not None:
        chosen = delegate.chosen()  # one at most: checked at validation
        if chosen:
            name = chosen[0]
            member = getattr(delegate, name)
            settings = {f: getattr(member, f) for f in member.__dataclass_fields__}
            kind = {"tflite": _CPU, "xnnpack": _CPU, "gpu": _GPU, "nnapi": _NNAPI,
                    "dsp": _DSP, "hexagon": _DSP, "auto": _AUTO}.get(name, name)
            return kind, settings
    # MediaPipe: the deprecated use_* flags count only when no delegate is set.
    if opts.use_gpu:
        return _GPU, {}
    if opts.use_nnapi:
        return _NNAPI, {}
    return _AUTO, {}


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _onnx_twin(path: Path) -> Path:
    """`path` if it is ONNX, else its converted `.onnx` twin (converted once, then reused)."""
    return _converted.onnx_twin(path)
