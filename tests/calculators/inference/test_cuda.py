"""The CUDA helper's choices and messages, with a stand-in ONNX Runtime (no GPU needed)."""

from __future__ import annotations

from importlib import metadata
from types import SimpleNamespace

import numpy as np
import pytest

from mediagraph.calculators.inference import _cuda


def fake_ort(providers: list[str], failed: list[str] | None = None) -> SimpleNamespace:
    """An `onnxruntime` module listing `providers`; its preload prints `failed` as ORT does."""

    def preload_dlls() -> None:
        for name in failed or []:
            print(f"Failed to load {name}: {name}: cannot open shared object file")
        if failed:
            print("Please follow https://onnxruntime.ai/docs/install/#cuda-and-cudnn")

    return SimpleNamespace(get_available_providers=lambda: [*providers, "CPUExecutionProvider"],
                           preload_dlls=preload_dlls, __version__="1.31.1", cuda_version="13.0")


@pytest.fixture(autouse=True)
def fresh_preload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_cuda, "_preload_failures", None)


def test_tensorrt_is_offered_only_where_its_libraries_load(monkeypatch):
    ort = fake_ort([_cuda.TENSORRT, _cuda.CUDA])
    monkeypatch.setattr(_cuda, "tensorrt_loadable", lambda: False)
    assert _cuda.providers(ort) == [_cuda.CUDA]
    monkeypatch.setattr(_cuda, "tensorrt_loadable", lambda: True)
    assert _cuda.providers(ort) == [_cuda.TENSORRT, _cuda.CUDA]


def test_a_cpu_build_offers_no_gpu_provider():
    assert _cuda.providers(fake_ort([])) == []


def test_missing_cuda_libraries_are_named(monkeypatch):
    ort = fake_ort([_cuda.CUDA], failed=["libcublasLt.so.13", "libcurand.so.10"])
    monkeypatch.setattr(_cuda, "loadable", lambda name: name == "libcuda.so.1")
    message = _cuda.start_failure_message(ort, _cuda.CUDA)
    assert "could not start CUDAExecutionProvider" in message
    assert "cannot load libcublasLt.so.13, libcurand.so.10" in message
    assert "CUDA 13.0 and cuDNN 9" in message and "pip install 'mediagraph[gpu]'" in message


def test_no_driver_is_said_before_libraries(monkeypatch):
    ort = fake_ort([_cuda.CUDA], failed=["libcublas.so.13"])
    monkeypatch.setattr(_cuda, "loadable", lambda name: False)
    assert "no NVIDIA driver here (libcuda.so.1 not found)" in _cuda.start_failure_message(
        ort, _cuda.CUDA)


def test_preload_prints_nothing_and_runs_once(capsys):
    calls = []
    ort = fake_ort([_cuda.CUDA], failed=["libcudnn.so.9"])
    preload = ort.preload_dlls
    ort.preload_dlls = lambda: (calls.append(1), preload())
    assert _cuda.preload_libraries(ort) == ["libcudnn.so.9"]
    assert _cuda.preload_libraries(ort) == ["libcudnn.so.9"]
    assert calls == [1]
    assert capsys.readouterr().out == ""


def test_a_cpu_package_installed_over_onnxruntime_gpu_is_explained(monkeypatch):
    real_version = metadata.version

    def version(name: str) -> str:
        return "1.31.1" if name == "onnxruntime-gpu" else real_version(name)

    monkeypatch.setattr(metadata, "version", version)
    message = _cuda.no_provider_message(fake_ort([]))
    assert "onnxruntime-gpu is installed but ONNX Runtime lists no CUDA provider" in message
    assert "pip uninstall -y onnxruntime onnxruntime-gpu" in message


def test_without_onnxruntime_gpu_the_message_says_what_to_install(monkeypatch):
    def version(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", version)
    message = _cuda.no_provider_message(fake_ort([]))
    assert "only CPUExecutionProvider" in message
    assert "pip uninstall -y onnxruntime && pip install 'mediagraph[gpu]'" in message


def test_precision_and_engine_cache_options():
    assert _cuda.provider_options(_cuda.CUDA, allow_precision_loss=False) == {"use_tf32": "0"}
    assert _cuda.provider_options(_cuda.CUDA, allow_precision_loss=True) == {"use_tf32": "1"}
    assert _cuda.provider_options(_cuda.TENSORRT, allow_precision_loss=True,
                                  engine_cache_dir="/tmp/engines") == {
        "trt_fp16_enable": "1", "trt_engine_cache_enable": "1",
        "trt_engine_cache_path": "/tmp/engines"}
    assert _cuda.provider_options(_cuda.TENSORRT, allow_precision_loss=False) == {
        "trt_fp16_enable": "0"}


def test_graph_replay_binds_fixed_buffers_and_returns_fresh_outputs(tmp_path):
    """The replay's bookkeeping, on CPU buffers: each call sees its own inputs, and the
    arrays returned earlier are not overwritten by later calls."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("tflite2onnx")
    from mediagraph import models

    try:
        tflite = models.resolve("face_detection_short_range.tflite")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    onnx = models.convert(tflite, tmp_path / "face.onnx")
    session = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    assert _cuda.static_shapes(session)
    replay = _cuda.GraphReplay(ort, session, device="cpu")
    rng = np.random.default_rng(2)
    inputs = [rng.uniform(-1, 1, (1, 128, 128, 3)).astype(np.float32) for _ in range(3)]
    results = [replay.run([x]) for x in inputs]
    for x, got in zip(inputs, results):
        want = session.run(None, {session.get_inputs()[0].name: x})
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    assert not np.array_equal(results[0][0], results[1][0])
