"""InferenceCalculator on the CPU with a .tflite model whose custom operators LiteRT lacks
(face_landmark_with_attention's MediaPipe transforms): its converted ONNX twin runs on
onnxruntime instead, converted once next to the model, and a log line says so."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import models
from mediagraph.calculators.inference import _backends as B
from mediagraph.calculators.inference._options import (Delegate, InferenceCalculatorOptions,
                                                       Xnnpack)
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(300)
MODEL = "face_landmark_with_attention.tflite"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("tflite2onnx")
    pytest.importorskip("onnxruntime")
    try:
        cached = models.resolve(MODEL)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    folder = tmp_path_factory.mktemp("custom_op_model")
    shutil.copy(cached, folder / MODEL)
    return folder / MODEL


def test_litert_names_the_custom_operator_it_lacks(model):
    with pytest.raises(B.UnresolvedCustomOp, match="custom operator Landmarks2TransformMatrix") as info:
        B.LiteRtCpu(model, 1)
    assert info.value.op == "Landmarks2TransformMatrix"


def test_the_cpu_path_runs_the_onnx_twin_and_says_so(model, caplog):
    x = np.random.default_rng(0).uniform(0, 1, (1, 192, 192, 3)).astype(np.float32)
    with caplog.at_level(logging.INFO, logger="mediagraph.inference"):
        out = CalculatorRunner("InferenceCalculator", options=InferenceCalculatorOptions(
            model_path=str(model), delegate=Delegate(xnnpack=Xnnpack()))).run({"TENSORS": [([x], 0)]})
    tensors = out["TENSORS"][0].value
    assert [t.shape for t in tensors] == [(1, 1, 1, n) for n in (1404, 160, 142, 142, 10, 10, 1)]
    assert model.with_suffix(".onnx").is_file()                       # converted beside it
    assert any("LiteRT cannot run face_landmark_with_attention.tflite (custom operator "
               "Landmarks2TransformMatrix); running its ONNX twin" in r.getMessage()
               for r in caplog.records)
    # A second node reuses the cached session (and the twin, not converted again).
    mtime = model.with_suffix(".onnx").stat().st_mtime_ns
    again = CalculatorRunner("InferenceCalculator", options={"model_path": str(model)}).run(
        {"TENSORS": [([x], 0)]})
    for a, b in zip(again["TENSORS"][0].value, tensors):
        np.testing.assert_array_equal(a, b)
    assert model.with_suffix(".onnx").stat().st_mtime_ns == mtime
