"""The Core ML delegate (ONNX Runtime's CoreML execution provider): off macOS an error that
says so and names the path that runs here; on macOS (a stand-in ONNX Runtime here, since
no Mac is at hand) the session it builds and the provider options it passes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401  (registers the calculators)
from mediagraph import Graph, parse_config
from mediagraph.calculators.inference import _backends as B
from mediagraph.calculators.inference import _coreml
from mediagraph.calculators.inference.inference_calculator import (
    CoreMl,
    Delegate,
    InferenceCalculatorOptions,
)
from mediagraph.errors import CalculatorError, GraphConfigError
from mediagraph.testing import CalculatorRunner
from tests.calculators.inference._runtimes import fetched as _fetched

FACE = "face_detection_short_range.tflite"
OFF_MAC = pytest.mark.skipif(sys.platform == "darwin", reason="the error is for other systems")


@OFF_MAC
def test_off_macos_the_delegate_says_coreml_is_macos_only_and_names_the_cpu_path() -> None:
    runner = CalculatorRunner("InferenceCalculator", options=InferenceCalculatorOptions(
        model_path=str(_fetched(FACE)), delegate=Delegate(coreml=CoreMl())))
    with pytest.raises(CalculatorError) as caught:
        runner.run({"TENSORS": [([np.zeros((1, 128, 128, 3), np.float32)], 0)]})
    assert isinstance(caught.value.__cause__, B.BackendUnavailable)
    text = str(caught.value.__cause__)
    assert "CoreMLExecutionProvider" in text and "only available on macOS" in text
    assert f"this is {sys.platform}" in text and "--delegate cpu" in text


@OFF_MAC
def test_off_macos_the_cli_delegate_fails_at_open_naming_the_node() -> None:
    config = parse_config(f"""
        input_stream: "in" output_stream: "out"
        node {{ calculator: "InferenceCalculator" name: "detector"
          input_stream: "TENSORS:in" output_stream: "TENSORS:out"
          options {{ [mediapipe.InferenceCalculatorOptions.ext] {{
            model_path: "{_fetched(FACE)}" delegate {{ xnnpack {{}} }} }} }} }}""")
    graph = Graph(config, inference_delegate="coreml")
    with pytest.raises(CalculatorError, match="detector") as caught:
        graph.run({"in": [([np.zeros((1, 128, 128, 3), np.float32)], 0)]}, timeout=60)
    assert "only available on macOS" in str(caught.value.__cause__)


@OFF_MAC
def test_off_macos_allow_fallback_runs_on_the_cpu() -> None:
    runner = CalculatorRunner("InferenceCalculator", options=InferenceCalculatorOptions(
        model_path=str(_fetched(FACE)), allow_fallback=True, delegate=Delegate(coreml=CoreMl())))
    out = runner.run({"TENSORS": [([np.zeros((1, 128, 128, 3), np.float32)], 0)]})
    assert [o.shape for o in out["TENSORS"][0].value] == [(1, 896, 16), (1, 896, 1)]


class _Session:
    def __init__(self, path: str, sess_options: Any, providers: list[Any]) -> None:
        self.path, self.providers = path, providers

    def get_providers(self) -> list[str]:
        return [p[0] if isinstance(p, tuple) else p for p in self.providers]

    def get_inputs(self) -> list[Any]:
        return []

    def get_outputs(self) -> list[Any]:
        return []


class _Ort:
    """A stand-in for macOS's onnxruntime: it records the session it is asked for."""

    def __init__(self, providers: list[str]) -> None:
        self._providers = providers
        self.sessions: list[_Session] = []

    def get_available_providers(self) -> list[str]:
        return self._providers

    class SessionOptions:
        intra_op_num_threads = inter_op_num_threads = 0

        def add_session_config_entry(self, key: str, value: str) -> None:
            pass

    def InferenceSession(self, *args: Any, **kwargs: Any) -> _Session:  # noqa: N802
        session = _Session(*args, **kwargs)
        self.sessions.append(session)
        return session


def test_on_macos_the_session_puts_the_coreml_provider_first_with_its_options(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ort = _Ort(["CoreMLExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(B, "_ort", lambda: ort)
    monkeypatch.setattr(_coreml, "unavailable_reason", lambda: None)
    model = tmp_path / "m.onnx"
    model.write_bytes(b"stand-in")
    session = _coreml.open_backend(model, 1, {"compute_units": "CPUAndNeuralEngine",
                                              "cache_dir": str(tmp_path)})
    assert session.backend == "onnxruntime-coreml"
    assert ort.sessions[0].providers == [
        ("CoreMLExecutionProvider", {"MLComputeUnits": "CPUAndNeuralEngine",
                                     "ModelFormat": "MLProgram",
                                     "ModelCacheDirectory": str(tmp_path)}),
        "CPUExecutionProvider"]
    assert session.device == "coreml (CPUAndNeuralEngine, MLProgram)"


def test_on_macos_an_onnxruntime_without_the_provider_says_which_to_install(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(B, "_ort", lambda: _Ort(["CPUExecutionProvider"]))
    monkeypatch.setattr(_coreml, "unavailable_reason", lambda: None)
    model = tmp_path / "m.onnx"
    model.write_bytes(b"stand-in")
    with pytest.raises(B.BackendUnavailable, match="no CoreMLExecutionProvider.*pip install "
                                                   "onnxruntime"):
        _coreml.open_backend(model, 1, {"model_format": "NeuralNetwork"})


@pytest.mark.parametrize("field,value", [("compute_units", "GPUOnly"),
                                         ("model_format", "MLModel")])
def test_a_bad_coreml_option_fails_validation_naming_the_node(field: str, value: str) -> None:
    config = parse_config(f"""
        input_stream: "in" output_stream: "out"
        node {{ calculator: "InferenceCalculator" name: "detector"
          input_stream: "TENSORS:in" output_stream: "TENSORS:out"
          options {{ [mediapipe.InferenceCalculatorOptions.ext] {{
            model_path: "{FACE}" delegate {{ coreml {{ {field}: "{value}" }} }} }} }} }}""")
    with pytest.raises(GraphConfigError, match=f"(?s)detector.*{value}"):
        Graph(config)
