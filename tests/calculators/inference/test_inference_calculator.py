"""InferenceCalculator: backends agree on face_detection_short_range; errors; session reuse."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401  (registers the calculators)
from mediagraph.calculators.inference import _backends as B
from mediagraph.calculators.inference.inference_calculator import (
    Delegate,
    Dsp,
    Gpu,
    InferenceCalculator,
    InferenceCalculatorOptions,
    Nnapi,
    TfLite,
    Xnnpack,
)
from mediagraph import CalculatorError, Graph, GraphConfigError, models, parse_config
from mediagraph.errors import MissingDependencyError
from mediagraph.testing import CalculatorRunner

MODEL = "face_detection_short_range.tflite"
MP_PATH = "mediapipe/modules/face_detection/face_detection_short_range.tflite"


class RecordingInference(InferenceCalculator, name="RecordingInferenceForTest"):
    """The real calculator, keeping a handle on each instance."""

    instances: ClassVar[list[RecordingInference]] = []

    def open(self, cc: Any) -> None:
        super().open(cc)
        type(self).instances.append(self)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .tflite model and its converted .onnx twin in a folder of their own."""
    cached = models.cache_dir() / MODEL
    if not cached.is_file():
        pytest.skip(f"{MODEL} is not in the model cache; run `mediagraph models fetch`")
    folder = tmp_path_factory.mktemp("models")
    shutil.copy(cached, folder / MODEL)
    try:
        models.convert(folder / MODEL)
    except ImportError:
        pass  # no tflite2onnx: the ONNX tests skip
    return folder


@pytest.fixture(scope="module")
def onnx_model(model_dir: Path) -> Path:
    path = model_dir / "face_detection_short_range.onnx"
    if not path.is_file():
        pytest.skip("tflite2onnx is not installed: no .onnx twin")
    return path


@pytest.fixture(scope="module")
def image_tensor() -> np.ndarray:
    return np.random.default_rng(7).uniform(-1, 1, (1, 128, 128, 3)).astype(np.float32)


def _opts(model: Path | str, delegate: Delegate | None = None, **kw: Any) -> InferenceCalculatorOptions:
    return InferenceCalculatorOptions(model_path=str(model), delegate=delegate, **kw)


def _infer(options: InferenceCalculatorOptions, tensors: list[np.ndarray],
           side: dict[str, Any] | None = None) -> tuple[list[np.ndarray], RecordingInference]:
    runner = CalculatorRunner("RecordingInferenceForTest", options=options)
    out = runner.run({"TENSORS": [(tensors, 0)]}, side)
    return out["TENSORS"][0].value, RecordingInference.instances[-1]


@pytest.fixture(scope="module")
def reference(model_dir: Path, image_tensor: np.ndarray) -> list[np.ndarray]:
    outputs, calc = _infer(_opts(model_dir / MODEL, Delegate(xnnpack=Xnnpack())), [image_tensor])
    assert calc.profile_info["backend"] == "litert"
    return outputs


def _assert_close(got: list[np.ndarray], want: list[np.ndarray], atol: float = 1e-3) -> None:
    assert [g.shape for g in got] == [w.shape for w in want]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=atol, rtol=atol)


# -- backends -----------------------------------------------------------------------------

def test_litert_outputs_are_read_only_copies(reference: list[np.ndarray]) -> None:
    assert [r.shape for r in reference] == [(1, 896, 16), (1, 896, 1)]
    assert all(not r.flags.writeable for r in reference)
    assert all(np.isfinite(r).all() for r in reference)


@pytest.mark.parametrize("delegate", [None, Delegate(tflite=TfLite())])
def test_onnxruntime_cpu_matches_litert(onnx_model: Path, image_tensor: np.ndarray,
                                        reference: list[np.ndarray], delegate: Any) -> None:
    outputs, calc = _infer(_opts(onnx_model, delegate, cpu_num_thread=2), [image_tensor])
    assert calc.profile_info == {"backend": "onnxruntime-cpu", "device": "cpu (2 threads)"}
    assert calc.backend == "onnxruntime-cpu"
    _assert_close(outputs, reference)


def test_onnxruntime_cpu_session_does_not_spin(onnx_model: Path, image_tensor: np.ndarray) -> None:
    _, calc = _infer(_opts(onnx_model, Delegate(tflite=TfLite())), [image_tensor])
    config = calc.session.session.get_session_options().get_session_config_entry
    assert config("session.intra_op.allow_spinning") == "0"
    assert config("session.inter_op.allow_spinning") == "0"


def _qnn_reason(onnx_model: Path) -> str | None:
    try:
        B.QnnHtp(onnx_model)
    except Exception as exc:  # noqa: BLE001 - any failure means: skip, with the reason
        return f"QNN HTP unavailable: {exc}"
    return None


@pytest.mark.dsp
def test_qnn_htp_matches_litert(onnx_model: Path, image_tensor: np.ndarray,
                                reference: list[np.ndarray]) -> None:
    pytest.importorskip("onnxruntime_qnn", reason="onnxruntime-qnn is not installed")
    reason = _qnn_reason(onnx_model)
    if reason:
        pytest.skip(reason)
    outputs, calc = _infer(_opts(onnx_model, Delegate(dsp=Dsp())),
                           [image_tensor])
    assert calc.profile_info["backend"] == "onnxruntime-qnn-htp"
    assert calc.profile_info["device"].startswith("Hexagon HTP")
    # Whole model on HTP: CPU fallback for unsupported nodes is off.
    config = calc.session.session.get_session_options().get_session_config_entry
    assert config("session.disable_cpu_ep_fallback") == "1"
    _assert_close(outputs, reference, atol=1e-3)


@pytest.mark.dsp
def test_qnn_context_binary_is_cached(model_dir: Path, onnx_model: Path, tmp_path: Path,
                                      image_tensor: np.ndarray, reference: list[np.ndarray]) -> None:
    pytest.importorskip("onnxruntime_qnn", reason="onnxruntime-qnn is not installed")
    reason = _qnn_reason(onnx_model)
    if reason:
        pytest.skip(reason)
    first = B.QnnHtp(onnx_model, context_cache_dir=str(tmp_path))
    assert first.context_file.is_file()
    second = B.QnnHtp(onnx_model, context_cache_dir=str(tmp_path))  # loads the binary
    assert second.context_file == first.context_file
    _assert_close(second.run([image_tensor]), reference)


@pytest.mark.dsp
def test_dsp_delegate_on_tflite_uses_the_onnx_twin(model_dir: Path, onnx_model: Path,
                                                   image_tensor: np.ndarray,
                                                   reference: list[np.ndarray]) -> None:
    pytest.importorskip("onnxruntime_qnn", reason="onnxruntime-qnn is not installed")
    reason = _qnn_reason(onnx_model)
    if reason:
        pytest.skip(reason)
    outputs, calc = _infer(_opts(model_dir / MODEL, Delegate(hexagon=Dsp())), [image_tensor])
    assert calc.backend == "onnxruntime-qnn-htp"
    _assert_close(outputs, reference)


@pytest.mark.gpu
def test_gpu_matches_litert(model_dir: Path, image_tensor: np.ndarray,
                            reference: list[np.ndarray]) -> None:
    if not B.gpu_providers():
        pytest.skip("no CUDA execution provider in onnxruntime")
    outputs, calc = _infer(_opts(model_dir / MODEL, Delegate(gpu=Gpu(allow_precision_loss=False))),
                           [image_tensor])
    assert calc.profile_info["backend"] in ("onnxruntime-cuda", "onnxruntime-tensorrt")
    assert calc.profile_info["device"].startswith("cuda:")
    _assert_close(outputs, reference)


def test_auto_picks_the_cpu_without_cuda_or_real_htp(model_dir: Path, image_tensor: np.ndarray,
                                                     reference: list[np.ndarray],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(B, "gpu_providers", list)
    monkeypatch.setattr(B, "htp_emulated", lambda: True)
    outputs, calc = _infer(_opts(model_dir / MODEL), [image_tensor])
    assert calc.backend == "litert"
    _assert_close(outputs, reference, atol=1e-6)


def test_model_side_packet_overrides_model_path(model_dir: Path, image_tensor: np.ndarray,
                                                reference: list[np.ndarray]) -> None:
    outputs, _ = _infer(_opts("nope.tflite", Delegate(xnnpack=Xnnpack())), [image_tensor],
                        {"MODEL": str(model_dir / MODEL)})
    _assert_close(outputs, reference, atol=1e-6)


# -- unavailable devices --------------------------------------------------------------------

def test_gpu_without_cuda_names_the_extra(model_dir: Path, image_tensor: np.ndarray,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(B, "gpu_providers", list)
    with pytest.raises(CalculatorError, match=r"pip install 'mediagraph\[gpu\]'"):
        _infer(_opts(model_dir / MODEL, Delegate(gpu=Gpu())), [image_tensor])


@pytest.mark.filterwarnings("ignore:Specified provider")
def test_gpu_provider_that_falls_back_to_cpu_is_reported(onnx_model: Path,
                                                        image_tensor: np.ndarray,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    if B.gpu_providers():
        pytest.skip("a real CUDA provider is present")
    # ONNX Runtime quietly runs on the CPU when a listed provider cannot start.
    monkeypatch.setattr(B, "gpu_providers", lambda: ["CUDAExecutionProvider"])
    with pytest.raises(CalculatorError, match="could not start CUDAExecutionProvider"):
        _infer(_opts(onnx_model, Delegate(gpu=Gpu())), [image_tensor])


@pytest.mark.parametrize("delegate", [Delegate(gpu=Gpu()), Delegate(nnapi=Nnapi())],
                         ids=["gpu", "nnapi"])
def test_allow_fallback_runs_on_the_cpu(model_dir: Path, image_tensor: np.ndarray,
                                        reference: list[np.ndarray], delegate: Delegate,
                                        monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(B, "gpu_providers", list)
    outputs, calc = _infer(_opts(model_dir / MODEL, delegate, allow_fallback=True),
                           [image_tensor])
    assert calc.backend == "litert"
    assert "running on the CPU" in caplog.text
    _assert_close(outputs, reference, atol=1e-6)


def test_nnapi_is_not_available_here(model_dir: Path, image_tensor: np.ndarray) -> None:
    with pytest.raises(CalculatorError, match="NNAPI delegate is Android-only"):
        _infer(_opts(model_dir / MODEL, Delegate(nnapi=Nnapi())), [image_tensor])


def test_dsp_without_onnxruntime_qnn_names_the_extra(model_dir: Path, image_tensor: np.ndarray,
                                                     onnx_model: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime_qnn", None)
    monkeypatch.setattr(B, "_SESSIONS", {})  # no session cached by an earlier test
    with pytest.raises(CalculatorError, match=r"pip install 'mediagraph\[dsp\]'") as info:
        _infer(_opts(onnx_model, Delegate(dsp=Dsp())), [image_tensor])
    assert isinstance(info.value.__cause__, MissingDependencyError)


def test_dsp_with_a_missing_htp_library_says_what_is_missing(
        onnx_model: Path, image_tensor: np.ndarray, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime_qnn", reason="onnxruntime-qnn is not installed")
    missing = tmp_path / "libQnnHtp.so"
    with pytest.raises(CalculatorError, match="QNN HTP backend library .*libQnnHtp.so is missing"):
        _infer(_opts(onnx_model, Delegate(dsp=Dsp(backend_path=str(missing)))), [image_tensor])


def test_dsp_with_an_unknown_graph_optimization_mode_names_it(
        onnx_model: Path, image_tensor: np.ndarray) -> None:
    pytest.importorskip("onnxruntime_qnn", reason="onnxruntime-qnn is not installed")
    with pytest.raises(CalculatorError, match=r"dsp graph_optimization_mode '9': use 1 "
                                              r"\(fastest to prepare\), 2 or 3"):
        _infer(_opts(onnx_model, Delegate(dsp=Dsp(graph_optimization_mode="9"))),
               [image_tensor])


# -- model and tensor errors ------------------------------------------------------------------

def test_missing_model_names_the_path(image_tensor: np.ndarray) -> None:
    with pytest.raises(CalculatorError, match="no_such_model.tflite.*mediagraph models fetch"):
        _infer(_opts("models/no_such_model.tflite"), [image_tensor])


@pytest.mark.parametrize("suffix,delegate", [(".tflite", None), (".onnx", None)])
def test_corrupt_model_names_the_path(tmp_path: Path, image_tensor: np.ndarray, suffix: str,
                                      delegate: Any) -> None:
    bad = tmp_path / f"corrupt{suffix}"
    bad.write_bytes(b"this is not a model" * 10)
    with pytest.raises(CalculatorError, match=f"cannot load model .*corrupt\\{suffix}"):
        _infer(_opts(bad, Delegate(xnnpack=Xnnpack())), [image_tensor])


@pytest.mark.parametrize("model", [MODEL, "face_detection_short_range.onnx"])
def test_input_shape_mismatch_names_node_input_and_shapes(model_dir: Path, model: str) -> None:
    if not (model_dir / model).is_file():
        pytest.skip(f"no {model}")
    wrong = np.zeros((1, 64, 64, 3), np.float32)
    with pytest.raises(CalculatorError) as info:
        _infer(_opts(model_dir / model, Delegate(tflite=TfLite())), [wrong])
    text = str(info.value)
    assert "under_test" in text and "'input'" in text
    assert "[1, 128, 128, 3]" in text and "[1, 64, 64, 3]" in text


def test_input_dtype_and_count_mismatch(model_dir: Path, image_tensor: np.ndarray) -> None:
    opts = _opts(model_dir / MODEL, Delegate(xnnpack=Xnnpack()))
    with pytest.raises(CalculatorError, match="float64"):
        _infer(opts, [image_tensor.astype(np.float64)])
    with pytest.raises(CalculatorError, match="takes 1 input tensors"):
        _infer(opts, [image_tensor, image_tensor])


def test_two_delegates_at_once_raise_at_validation(model_dir: Path,
                                                   image_tensor: np.ndarray) -> None:
    with pytest.raises(GraphConfigError, match="delegate sets xnnpack and gpu"):
        _infer(_opts(model_dir / MODEL, Delegate(xnnpack=Xnnpack(), gpu=Gpu())), [image_tensor])


def test_unknown_delegate_in_config_raises() -> None:
    with pytest.raises(GraphConfigError, match="tpu"):
        Graph(parse_config(_config("face_detection_short_range.tflite", "tpu {}")))


# -- graphs -----------------------------------------------------------------------------------

def _config(model_path: str, delegate: str) -> str:
    return f"""
        input_stream: "tensors"
        output_stream: "out"
        node {{
          calculator: "InferenceCalculator"
          input_stream: "TENSORS:tensors"
          output_stream: "TENSORS:out"
          options {{ [mediapipe.InferenceCalculatorOptions.ext] {{
            model_path: "{model_path}"
            delegate {{ {delegate} }} }} }}
        }}"""


def test_mediapipe_config_runs_and_reuses_the_session(model_dir: Path, image_tensor: np.ndarray,
                                                      reference: list[np.ndarray],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(models.ENV_VAR, str(model_dir))  # resolve MediaPipe's path by file name
    graph = Graph(parse_config(_config(MP_PATH, "xnnpack { num_threads: 1 }")))
    feed = {"tensors": [([image_tensor], 0), ([image_tensor * 0.5], 1)]}
    first = graph.run(feed)["out"]
    assert [int(p.timestamp) for p in first] == [0, 1]
    _assert_close(first[0].value, reference, atol=1e-6)
    sessions = dict(B._SESSIONS)
    second = graph.run(feed)["out"]
    assert dict(B._SESSIONS).keys() == sessions.keys()
    assert all(B._SESSIONS[k] is v for k, v in sessions.items())
    key = next(k for k in sessions if k[0] == "litert" and k[1][0] == str(model_dir / MODEL)
               and k[2] == 1)
    assert sessions[key].device == "cpu (XNNPACK, 1 thread)"
    for a, b in zip(first, second):
        _assert_close(a.value, b.value, atol=0)


def test_deprecated_use_gpu_means_the_gpu_delegate(model_dir: Path, image_tensor: np.ndarray,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(B, "gpu_providers", list)
    with pytest.raises(CalculatorError, match="GPU backend"):
        _infer(_opts(model_dir / MODEL, use_gpu=True), [image_tensor])


@pytest.mark.dsp
@pytest.mark.parametrize("precision,min_correlation", [("int8", 0.6), ("a16w8", 0.85)])
def test_qnn_htp_quantizes_once_from_calibration_data(
        onnx_model: Path, tmp_path: Path, image_tensor: np.ndarray,
        reference: list[np.ndarray], precision: str, min_correlation: float) -> None:
    pytest.importorskip("onnxruntime_qnn", reason="onnxruntime-qnn is not installed")
    reason = _qnn_reason(onnx_model)
    if reason:
        pytest.skip(reason)
    rng = np.random.default_rng(1)
    samples = np.concatenate([image_tensor] + [
        rng.uniform(-1, 1, image_tensor.shape).astype(np.float32) for _ in range(3)])[:, None]
    np.save(tmp_path / "calibration.npy", samples)
    dsp = Dsp(precision=precision, calibration_data=str(tmp_path / "calibration.npy"),
              context_cache_dir=str(tmp_path / "ctx"))
    outputs, calc = _infer(_opts(onnx_model, Delegate(dsp=dsp)), [image_tensor])
    assert calc.backend == "onnxruntime-qnn-htp"
    assert calc.session.model_file.parent == tmp_path / "ctx"
    assert len([p for p in (tmp_path / "ctx").glob("*.qdq.*.onnx") if "_qnn_ctx" not in p.name]) == 1
    # Calibrated on four noise images: a sanity check of the path, not of int8 accuracy.
    for got, want in zip(outputs, reference):
        assert got.shape == want.shape
        assert np.corrcoef(got.ravel(), want.ravel())[0, 1] > min_correlation


@pytest.mark.dsp
def test_qnn_htp_int8_without_calibration_says_what_to_give(onnx_model: Path,
                                                           image_tensor: np.ndarray) -> None:
    pytest.importorskip("onnxruntime_qnn", reason="onnxruntime-qnn is not installed")
    with pytest.raises(CalculatorError, match="calibration_data"):
        _infer(_opts(onnx_model, Delegate(dsp=Dsp(precision="int8"))), [image_tensor])


# In a process of its own: once a QNN session names a `soc_model` (fp16 needs one), the
# emulated HTP keeps emulating that SoC for every later session in the process, and the
# DSP tests of the solution graphs, later in the run, would see fp16 arithmetic.
_FP16_CHECK = """
import sys
import numpy as np
from pathlib import Path
from mediagraph.calculators.inference import _backends as B
model, tensor, reference = Path(sys.argv[1]), np.load(sys.argv[2]), np.load(sys.argv[3])
backend = B.QnnHtp(model, precision="fp16")
assert backend.device.endswith("fp16)"), backend.device
outputs = backend.run([tensor])
for i, got in enumerate(outputs):
    want = reference[f"arr_{i}"]
    assert np.abs(got - want).max() < 5e-3 * np.abs(want).max() + 5e-2, i  # fp16 math
"""


@pytest.mark.dsp
def test_qnn_htp_fp16_is_close_to_litert(onnx_model: Path, image_tensor: np.ndarray,
                                         reference: list[np.ndarray], tmp_path: Path) -> None:
    import subprocess

    pytest.importorskip("onnxruntime_qnn", reason="onnxruntime-qnn is not installed")
    reason = _qnn_reason(onnx_model)
    if reason:
        pytest.skip(reason)
    np.save(tmp_path / "tensor.npy", image_tensor)
    np.savez(tmp_path / "reference.npz", *reference)
    done = subprocess.run([sys.executable, "-c", _FP16_CHECK, str(onnx_model),
                           str(tmp_path / "tensor.npy"), str(tmp_path / "reference.npz")],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]


def test_litert_info_line_goes_to_the_log_not_the_terminal(model_dir: Path) -> None:
    import subprocess

    # LiteRT prints it once per process: a fresh one shows where it goes.
    code = (
        "import logging, os, sys\n"
        "logging.basicConfig(stream=sys.stdout, level=logging.INFO, format='%(message)s')\n"
        "from mediagraph.calculators.inference import _backends as B\n"
        f"B.LiteRtCpu(__import__('pathlib').Path({str(model_dir / MODEL)!r}), 1)\n"
        "with B._native_info_to_log():\n"
        "    os.write(2, b'a native line that is not INFO\\n')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "XNNPACK delegate" not in out.stderr
    assert "a native line that is not INFO" in out.stderr
    assert "LiteRT: Created TensorFlow Lite XNNPACK delegate" in out.stdout
