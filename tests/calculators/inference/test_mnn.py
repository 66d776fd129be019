"""The MNN backend: agreement with LiteRT on every fetched model, no process spawned
(MNN's Python CLI wrappers pip-install a telemetry client), the NCHW-declared layout of
models converted from ONNX, the cached `.mnn`, errors that name what is wrong.

Tolerance as for OpenVINO (test_openvino.py): max |diff| <= 1e-3 x max(1, max |LiteRT
output|); MNN's measured worst is 5e-4 of that bound's scale (pose_landmark_full).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401  (registers the calculators)
from mediagraph import models
from mediagraph.calculators.inference import _backends as B
from mediagraph.calculators.inference import _converted, _mnn
from mediagraph.calculators.inference.inference_calculator import (
    Delegate,
    InferenceCalculatorOptions,
    Mnn,
)
from mediagraph.errors import MissingDependencyError
from mediagraph.testing import CalculatorRunner
from tests.calculators.inference._runtimes import (
    run_face_model_through_a_config,
    tolerance,
    fetched as _fetched,
    random_inputs as _inputs,
    reference as _reference,
)

pytestmark = pytest.mark.timeout(300)
MNN = pytest.importorskip("MNN")
FACE = "face_detection_short_range.tflite"


def _agree(reference: B.Backend, session: B.Backend) -> None:
    arrays = _inputs(reference)
    for want, got in zip(reference.run(arrays), session.run(arrays)):
        assert got.shape == want.shape and got.dtype == want.dtype
        assert np.abs(got - want).max() <= tolerance(want)


@pytest.mark.parametrize("name", sorted(models.MEDIAPIPE_MODELS))
def test_mnn_agrees_with_litert_on_every_fetched_model(name: str) -> None:
    path = _fetched(name)
    reference = _reference(path)
    session = _mnn.open_backend(path, 1, {})
    assert session.backend == "mnn" and session.device == "cpu (fp32, 1 thread)"
    assert [s.shape for s in session.inputs] == [s.shape for s in reference.inputs]
    assert session.outputs == reference.outputs  # the model's order, not MNN's dict order
    _agree(reference, session)


def test_a_model_converted_from_onnx_is_fed_in_the_layout_it_declares(tmp_path: Path) -> None:
    pytest.importorskip("tflite2onnx")
    tflite = tmp_path / FACE
    shutil.copy(_fetched(FACE), tflite)
    twin = _converted.onnx_twin(tflite)  # NHWC inputs, as the .tflite has
    session = _mnn.open_backend(twin, 1, {})
    # The trap: MNN declares the input NCHW although the data is NHWC ...
    assert session.layouts == ["NCHW"]
    assert session.inputs[0].shape == (1, 128, 128, 3)
    reference = B.LiteRtCpu(tflite, 1)
    _agree(reference, session)
    # ... and a host tensor marked NHWC would be transposed on the way in.
    interp = MNN.Interpreter(str(session.model_file))
    sess = interp.createSession({"numThread": 1, "precision": "high"})
    image = _inputs(reference)[0]
    interp.getSessionInput(sess).copyFrom(MNN.Tensor(image.shape, MNN.Halide_Type_Float, image,
                                                     MNN.Tensor_DimensionType_Tensorflow))
    interp.runSession(sess)
    out = interp.getSessionOutput(sess, "classificators")
    host = MNN.Tensor(out.getShape(), MNN.Halide_Type_Float, np.zeros(out.getShape(), np.float32),
                      out.getDimensionType())
    out.copyToHostTensor(host)
    wrong = np.array(host.getNumpyData()).reshape(out.getShape())
    want = reference.run([image])[1]
    assert np.abs(wrong - want).max() > 10 * tolerance(want)


_SPAWNERS = [(subprocess, "Popen"), (subprocess, "run"), (subprocess, "call"),
             (subprocess, "check_call"), (subprocess, "check_output"), (os, "system"),
             (os, "popen"), (os, "posix_spawn"), (os, "posix_spawnp"), (os, "fork"),
             (os, "execv"), (os, "execvp"), (os, "spawnv")]


def test_converting_and_running_spawn_no_process(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """MNN.tools.mnnconvert's import runs `pip install -U aliyun-log-python-sdk` through
    os.system; the backend calls the converter's native function instead."""
    spawned: list[str] = []
    for module, name in _SPAWNERS:
        if hasattr(module, name):
            monkeypatch.setattr(module, name, lambda *a, _n=name, **k: spawned.append(_n))
    for name in ("face_detection_short_range.tflite", "selfie_segmentation.tflite"):
        model = tmp_path / name
        shutil.copy(_fetched(name), model)
        session = _mnn.MnnSession(_mnn.convert(model), 1, False)
        session.run(_inputs(session))
    assert spawned == []
    assert "MNN.tools.utils.log" not in sys.modules and "MNN.tools.mnnconvert" not in sys.modules


def test_the_mnn_file_is_cached_beside_the_model_and_keyed_by_its_hash(tmp_path: Path) -> None:
    model = tmp_path / FACE
    shutil.copy(_fetched(FACE), model)
    converted = _mnn.convert(model)
    assert converted == tmp_path / f"face_detection_short_range.mnn-{models.sha256_of(model)[:12]}.mnn"
    made = converted.stat().st_mtime_ns
    assert _mnn.convert(model) == converted and converted.stat().st_mtime_ns == made
    assert models.main(["convert", str(model), "--to", "mnn"]) == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_an_unconvertible_model_names_the_operator(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("NoSuchOperator", ["r"], ["y"])],
        "broken", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = tmp_path / "broken.onnx"
    onnx.save(helper.make_model(graph), str(model))
    with pytest.raises(models.ModelConversionError, match="NoSuchOperator") as caught:
        _mnn.convert(model)
    assert caught.value.operator == "NoSuchOperator" and str(model) in str(caught.value)
    assert list(tmp_path.iterdir()) == [model]  # nothing half-written


@pytest.mark.parametrize("content", [b"not a model at all", "truncated"])
@pytest.mark.parametrize("suffix", [".tflite", ".onnx"])
def test_a_corrupt_model_is_an_error_naming_the_file_not_a_crash(
        tmp_path: Path, suffix: str, content: Any) -> None:
    model = tmp_path / f"bad{suffix}"
    source = _fetched(FACE) if suffix == ".tflite" else _fetched("face_detection_short_range.onnx")
    model.write_bytes(source.read_bytes()[:20000] if content == "truncated" else content)
    with pytest.raises((B.ModelLoadError, models.ModelConversionError), match=str(model)):
        _mnn.convert(model)


def test_without_mnn_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "MNN", None)
    with pytest.raises(MissingDependencyError, match=r"mediagraph\[mnn\]"):
        _mnn.convert(_fetched(FACE))


def test_settings_reach_the_session() -> None:
    path = _fetched(FACE)
    lossy = _mnn.open_backend(path, 1, {"allow_precision_loss": True, "num_threads": 2})
    assert lossy.device == "cpu (fp16 allowed, 2 threads)"
    assert lossy is not _mnn.open_backend(path, 1, {})
    assert lossy is _mnn.open_backend(path, 2, {"allow_precision_loss": True})


def test_the_delegate_option_form_loads_from_a_config_and_the_profile_names_mnn() -> None:
    outputs, info = run_face_model_through_a_config("mnn { num_threads: 1 }")
    assert len(outputs) == 2
    assert info["backend"] == "mnn"


def test_the_calculator_runs_mnn() -> None:
    runner = CalculatorRunner("InferenceCalculator", options=InferenceCalculatorOptions(
        model_path=str(_fetched(FACE)), delegate=Delegate(mnn=Mnn())))
    image = np.zeros((1, 128, 128, 3), np.float32)
    outputs = runner.run({"TENSORS": [([image], 0)]})["TENSORS"][0].value
    assert [o.shape for o in outputs] == [(1, 896, 16), (1, 896, 1)]
