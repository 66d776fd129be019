"""`InferenceCalculatorOptions`: MediaPipe's message (ext 336783863) plus mediagraph's DSP members.

Field numbers follow `mediapipe/calculators/tensor/inference_calculator.proto`, so MediaPipe
configs (text and binary) load unchanged. mediagraph's own additions use numbers from 100
up, far from MediaPipe's: `Delegate.dsp` (100, alias `hexagon` 101), `Delegate.auto` (102),
`Delegate.openvino` (103), `Delegate.mnn` (104), `Delegate.ncnn` (105),
`Delegate.executorch` (106), `Delegate.coreml` (107) and `allow_fallback` (100).
"""

from __future__ import annotations

import enum

from mediagraph import Options, option

_P = "mediapipe.InferenceCalculatorOptions"


class TfLite(Options, proto_name=f"{_P}.Delegate.TfLite"):
    """Default TFLite CPU inference (LiteRT with its built-in XNNPACK)."""


class GpuApi(enum.IntEnum):
    ANY = 0
    OPENGL = 1
    OPENCL = 2


class CacheWritingBehavior(enum.IntEnum):
    NO_WRITE = 0
    TRY_WRITE = 1
    WRITE_OR_ERROR = 2


class InferenceUsage(enum.IntEnum):
    UNSPECIFIED = 0
    FAST_SINGLE_ANSWER = 1
    SUSTAINED_SPEED = 2


class Gpu(Options, proto_name=f"{_P}.Delegate.Gpu"):
    """MediaPipe's GPU delegate; here ONNX Runtime's CUDA (or TensorRT) provider.

    `allow_precision_loss` (default true, as in MediaPipe) lets TensorRT build fp16
    engines and CUDA use TF32; false keeps float32. `serialized_model_dir` (or
    `cached_kernel_path`) is where TensorRT keeps its built engines between runs. The
    other fields are accepted for compatibility and have no effect.
    """

    use_advanced_gpu_api: bool = option(1, default=False)
    cached_kernel_path: str = option(2, default="")
    allow_precision_loss: bool = option(3, default=True)
    api: GpuApi = option(4, default=GpuApi.ANY)
    usage: InferenceUsage = option(5, default=InferenceUsage.SUSTAINED_SPEED)
    serialized_model_dir: str = option(7, default="")
    model_token: str = option(8, default="")
    cache_writing_behavior: CacheWritingBehavior = option(
        10, default=CacheWritingBehavior.WRITE_OR_ERROR)


class Nnapi(Options, proto_name=f"{_P}.Delegate.Nnapi"):
    """Android's NNAPI: not available off Android (an error, or CPU with allow_fallback)."""

    cache_dir: str = option(1, default="")
    model_token: str = option(2, default="")
    accelerator_name: str = option(3, default="")


class Xnnpack(Options, proto_name=f"{_P}.Delegate.Xnnpack"):
    num_threads: int = option(1, default=-1, doc="-1: chosen from the CPU count")
    enable_zero_copy_tensor_io: bool = option(7, default=False)


class Dsp(Options, proto_name=f"{_P}.Delegate.Dsp"):
    """mediagraph's Hexagon DSP delegate: ONNX Runtime's QNN provider, HTP backend.

    precision: "" (the backend's default), "fp32", "fp16" (HTP fp16 math; needs a
               `soc_model`, default "60"), "int8" (a QDQ-quantized ONNX model, or one
               quantized once here from `calibration_data` and cached next to it) or
               "a16w8" (the same with 16-bit activations: slower, closer to float). Off ARM the HTP is a simulator: with no
               `soc_model` it computes in fp32; naming a SoC makes it emulate that
               chip's fp16 math, and QNN keeps that SoC for every later session in
               the process, so set precision the same way on every DSP node
    context_cache_dir: folder for compiled QNN context binaries (and int8 models); a
               later open loads the binary instead of compiling again
    calibration_data: representative inputs for int8: a `.npy` (N x input shape) for a
               one-input model, or an `.npz` with one such array per input name
    allow_fallback: nodes HTP cannot run go to the CPU, and a missing QNN runs the
               model on the CPU (logged); false: the whole model runs on HTP or open fails
    """

    precision: str = option(1, default="")
    context_cache_dir: str = option(2, default="")
    allow_fallback: bool = option(3, default=False)
    soc_model: str = option(4, default="")
    htp_performance_mode: str = option(5, default="", doc="burst, balanced, power_saver, ...")
    backend_path: str = option(6, default="", doc="libQnnHtp.so to use instead of the wheel's")
    calibration_data: str = option(7, default="", doc=".npy/.npz of inputs for int8")
    graph_optimization_mode: str = option(
        8, default="", doc="QNN graph finalization: 1 (fastest to prepare), 2, 3 (most "
        "optimized); empty: QNN's default, retried at 3 when it runs out of memory")


class OpenVino(Options, proto_name=f"{_P}.Delegate.OpenVino"):
    """mediagraph's OpenVINO delegate (extra `openvino`): the model converted once to
    OpenVINO IR (cached beside it), compiled for `device`.

    device:   OpenVINO's device name: CPU (default), GPU, NPU, AUTO
    num_threads: CPU inference threads; -1: cpu_num_thread, else 1 (MediaPipe's default)
    allow_precision_loss: false (default) pins INFERENCE_PRECISION_HINT to f32; true leaves
              the device's default (bf16 on CPUs with AMX, which moved face detection's
              scores by more than 1)
    precision: f32, f16 or bf16 explicitly (overrides allow_precision_loss), or int8: the
              model quantized once (8-bit weights and activations, QDQ, by ONNX Runtime's
              quantizer) from `calibration_data`, run by OpenVINO's int8 kernels
    calibration_data: for int8, representative inputs as the graph feeds the model: a
              `.npy` (N x input shape) for a one-input model, else an `.npz` by input name
    runtime:  "" or "openvino": the openvino package; "onnxruntime": ONNX Runtime's
              OpenVINO execution provider (needs onnxruntime-openvino in place of onnxruntime)
    """

    device: str = option(1, default="CPU")
    num_threads: int = option(2, default=-1)
    allow_precision_loss: bool = option(3, default=False)
    precision: str = option(4, default="")
    runtime: str = option(5, default="")
    calibration_data: str = option(6, default="", doc=".npy/.npz of inputs for int8")

    def check(self) -> None:
        precision = self.precision.lower()
        if precision and precision not in ("f32", "fp32", "f16", "fp16", "bf16", "int8"):
            raise ValueError(f"openvino precision {self.precision!r}: use f32, f16, bf16 or int8")
        if self.runtime not in ("", "openvino", "onnxruntime"):
            raise ValueError(f"openvino runtime {self.runtime!r}: use openvino or onnxruntime")
        if precision == "int8" and not self.calibration_data:
            raise ValueError(
                "openvino precision int8 needs calibration_data: int8 activations need their "
                "ranges, which only representative inputs give (a .npy of N inputs as the "
                "graph feeds the model, or an .npz by input name)")
        if precision == "int8" and self.runtime == "onnxruntime":
            raise ValueError("openvino precision int8 runs on the openvino runtime; drop "
                             "runtime: \"onnxruntime\"")


class Mnn(Options, proto_name=f"{_P}.Delegate.Mnn"):
    """mediagraph's MNN delegate (extra `mnn`): the model converted once to `.mnn` beside
    it by MNN's converter, run on MNN's CPU backend.

    num_threads: -1: cpu_num_thread, else 1 (MediaPipe's default)
    allow_precision_loss: false (default) asks MNN for high (fp32) precision; true for
              low, fp16 arithmetic where the CPU has it (ARMv8.2; x86-64 stays fp32)
    precision: "" (float weights) or "int8": weights stored as 8 bits, quantized per
              channel by MNN's converter (`--weightQuantBits 8`); no calibration needed
              (MNN's full int8, activations included, is its mnnquant tool, which
              calibrates on a folder of images: not wired here)
    """

    num_threads: int = option(1, default=-1)
    allow_precision_loss: bool = option(2, default=False)
    precision: str = option(3, default="")

    def check(self) -> None:
        if self.precision.lower() not in ("", "fp32", "f32", "int8"):
            raise ValueError(f"mnn precision {self.precision!r}: use fp32 or int8")


class Ncnn(Options, proto_name=f"{_P}.Delegate.Ncnn"):
    """mediagraph's ncnn delegate (extra `ncnn`, plus the pnnx tool to convert): the
    model converted once by pnnx to ncnn's .param/.bin beside it, run by ncnn.

    num_threads: -1: cpu_num_thread, else 1 (MediaPipe's default)
    allow_precision_loss: false (default) keeps ncnn's fp16/bf16 storage and arithmetic
              off; true lets ncnn use them where the CPU has them
    precision: "" or "fp32"; "int8" is refused (NCNN_INT8_MESSAGE): ncnn runs int8 only
              from a model rewritten by its ncnn2table and ncnn2int8 tools
    """

    num_threads: int = option(1, default=-1)
    allow_precision_loss: bool = option(2, default=False)
    precision: str = option(3, default="")

    def check(self) -> None:
        precision = self.precision.lower()
        if precision == "int8":
            raise ValueError(NCNN_INT8_MESSAGE)
        if precision not in ("", "fp32", "f32"):
            raise ValueError(f"ncnn precision {self.precision!r}: use fp32 (int8 is not "
                             "available here)")


NCNN_INT8_MESSAGE = (
    "ncnn precision int8 is not available here: ncnn runs int8 only from a model rewritten "
    "by its ncnn2int8 tool with a calibration table from its ncnn2table tool (KL or ACIQ "
    "over a folder of images), and neither tool is in the ncnn or pnnx wheels on PyPI (they "
    "build from ncnn's source); int8 that runs here: openvino { precision: \"int8\" "
    "calibration_data: ... } (full int8) or mnn { precision: \"int8\" } (int8 weights)")


class ExecuTorch(Options, proto_name=f"{_P}.Delegate.ExecuTorch"):
    """mediagraph's ExecuTorch delegate (extra `executorch`, plus onnx2torch to convert):
    the model converted once (onnx2torch, torch.export, XNNPACK lowering) to a `.pte`
    beside it, run by ExecuTorch's CPU runtime in fp32.

    num_threads: -1: cpu_num_thread, else 1 (MediaPipe's default); ExecuTorch's thread
              pool is one per process, sized by the first session that opens
    """

    num_threads: int = option(1, default=-1)


class CoreMl(Options, proto_name=f"{_P}.Delegate.CoreMl"):
    """mediagraph's Core ML delegate: ONNX Runtime's CoreML execution provider on the
    model's `.onnx` twin. macOS only (ONNX Runtime builds the provider only for Apple's
    systems); elsewhere `open` fails saying so and naming the CPU path.

    compute_units: ONNX Runtime's MLComputeUnits: ALL (default), CPUOnly, CPUAndGPU,
              CPUAndNeuralEngine
    model_format: MLProgram (default) or NeuralNetwork (older Core ML)
    cache_dir: where Core ML's compiled model is kept between runs (ModelCacheDirectory)
    num_threads: threads of the CPU provider that runs what Core ML does not take
    """

    compute_units: str = option(1, default="")
    model_format: str = option(2, default="")
    cache_dir: str = option(3, default="")
    num_threads: int = option(4, default=-1)

    def check(self) -> None:
        units = ("ALL", "CPUOnly", "CPUAndGPU", "CPUAndNeuralEngine")
        if self.compute_units and self.compute_units not in units:
            raise ValueError(f"coreml compute_units {self.compute_units!r}: use "
                             + ", ".join(units))
        if self.model_format and self.model_format not in ("MLProgram", "NeuralNetwork"):
            raise ValueError(f"coreml model_format {self.model_format!r}: use MLProgram or "
                             "NeuralNetwork")


class Auto(Options, proto_name=f"{_P}.Delegate.Auto"):
    """Best available: a CUDA GPU, then real (not emulated) Hexagon HTP, then the CPU."""


class Delegate(Options, proto_name=f"{_P}.Delegate"):
    """MediaPipe's `oneof delegate`, plus mediagraph's `dsp`/`hexagon`, `auto` and the
    runtimes (`openvino`, `mnn`, `ncnn`, `executorch`, `coreml`)."""

    tflite: TfLite = option(1, default=None)
    gpu: Gpu = option(2, default=None)
    nnapi: Nnapi = option(3, default=None)
    xnnpack: Xnnpack = option(4, default=None)
    dsp: Dsp = option(100, default=None)
    hexagon: Dsp = option(101, default=None)
    auto: Auto = option(102, default=None)
    openvino: OpenVino = option(103, default=None)
    mnn: Mnn = option(104, default=None)
    ncnn: Ncnn = option(105, default=None)
    executorch: ExecuTorch = option(106, default=None)
    coreml: CoreMl = option(107, default=None)

    def chosen(self) -> list[str]:
        """The members that are set (validation allows one)."""
        return [name for name in DELEGATE_MEMBERS if getattr(self, name) is not None]

    def check(self) -> None:
        chosen = self.chosen()
        if len(chosen) > 1:
            raise ValueError("delegate sets " + " and ".join(chosen)
                             + "; set one of " + ", ".join(DELEGATE_MEMBERS))
        for name in chosen:
            getattr(self, name).check()


class TensorIndicesMap(Options, proto_name=f"{_P}.InputOutputConfig.TensorIndicesMap"):
    """The model I/O index of each calculator tensor, in the calculator's order."""

    model_tensor_indices: tuple[int, ...] = option(1, default=())


class TensorNamesMap(Options, proto_name=f"{_P}.InputOutputConfig.TensorNamesMap"):
    """The model I/O tensor name of each calculator tensor, in the calculator's order."""

    tensor_names: tuple[str, ...] = option(1, default=())


class FeedbackTensorLink(Options, proto_name=f"{_P}.InputOutputConfig.FeedbackTensorLink"):
    """A model output fed back as a model input on the next call (recurrent state)."""

    from_output_tensor_name: str = option(1, default="")
    to_input_tensor_name: str = option(2, default="")


class InputOutputConfig(Options, proto_name=f"{_P}.InputOutputConfig"):
    """MediaPipe's tensor order maps (indices or names; one of each side) and feedback links."""

    input_tensor_indices_map: TensorIndicesMap = option(1, default=None)
    output_tensor_indices_map: TensorIndicesMap = option(2, default=None)
    input_tensor_names_map: TensorNamesMap = option(3, default=None)
    output_tensor_names_map: TensorNamesMap = option(4, default=None)
    feedback_tensor_links: tuple[FeedbackTensorLink, ...] = option(5, default=())

    def check(self) -> None:
        for side in ("input", "output"):
            if (getattr(self, f"{side}_tensor_indices_map") is not None
                    and getattr(self, f"{side}_tensor_names_map") is not None):
                raise ValueError(f"input_output_config sets both {side}_tensor_indices_map "
                                 f"and {side}_tensor_names_map; set one")


class InferenceCalculatorOptions(Options, proto_name=_P, extension=336783863):
    """MediaPipe's `inference_calculator.proto` fields, plus `allow_fallback` (100)."""

    model_path: str = option(1, default="")
    use_gpu: bool = option(2, default=False, doc="deprecated: delegate { gpu {} }")
    use_nnapi: bool = option(3, default=False, doc="deprecated: delegate { nnapi {} }")
    cpu_num_thread: int = option(4, default=-1)
    delegate: Delegate = option(5, default=None)
    try_mmap_model: bool = option(7, default=False)
    input_output_config: InputOutputConfig = option(8, default=None)
    allow_fallback: bool = option(100, default=False,
                                  doc="run on the CPU (logged) when the asked-for device "
                                      "is unavailable, instead of failing at open")

    def check(self) -> None:
        for nested in (self.delegate, self.input_output_config):
            if nested is not None:
                nested.check()


DELEGATE_MEMBERS = ("tflite", "xnnpack", "gpu", "nnapi", "dsp", "hexagon", "auto", "openvino", "mnn",
                    "ncnn", "executorch", "coreml")
