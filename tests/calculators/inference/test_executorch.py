"""The ExecuTorch backend (onnx2torch, torch.export, XNNPACK-lowered .pte): agreement with
LiteRT on every fetched model, the cached .pte, its thread pool, errors that name the
operator or the extra.

Tolerance as for OpenVINO (test_openvino.py): max |diff| <= 1e-3 x max(1, max |LiteRT
output|). ExecuTorch's XNNPACK delegate runs the same XNNPACK kernels LiteRT does, so most
models agree exactly (0); the measured worst is 1.5e-5 on outputs near 180
(hand_landmark_lite, whose mean runs outside XNNPACK) and 1.4e-4 on outputs near 160
for face_landmark_with_attention against ONNX Runtime (LiteRT lacks its operators).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401  (registers the calculators)
from mediagraph import models
from mediagraph.calculators.inference import _backends as B
from mediagraph.calculators.inference import _executorch, _onnx_torch
from mediagraph.calculators.inference.inference_calculator import (
    Delegate,
    ExecuTorch,
    InferenceCalculatorOptions,
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
pytest.importorskip("executorch.runtime",
                    reason="the ExecuTorch backend needs pip install 'mediagraph[executorch]'")
pytest.importorskip("onnx")
try:
    _onnx_torch.onnx2torch()
except MissingDependencyError as exc:
    pytest.skip(str(exc), allow_module_level=True)

FACE = "face_detection_short_range.tflite"


@pytest.mark.parametrize("name", sorted(models.MEDIAPIPE_MODELS))
def test_executorch_agrees_with_litert_on_every_fetched_model(name: str) -> None:
    path = _fetched(name)
    reference = _reference(path)
    session = _executorch.open_backend(path, 1, {})
    assert session.backend == "executorch" and session.device.startswith("cpu (XNNPACK, fp32")
    assert [(s.name, s.shape) for s in session.inputs] == \
        [(s.name, s.shape) for s in reference.inputs]
    assert session.outputs == reference.outputs
    arrays = _inputs(reference)
    for want, got in zip(reference.run(arrays), session.run(arrays)):
        assert got.shape == want.shape and got.dtype == want.dtype
        assert np.abs(got - want).max() <= tolerance(want), name


def test_outputs_are_copies_the_next_call_leaves_alone() -> None:
    session = _executorch.open_backend(_fetched(FACE), 1, {})
    zeros, ones = (np.full((1, 128, 128, 3), v, np.float32) for v in (0.0, 1.0))
    first = session.run([zeros])
    kept = [o.copy() for o in first]
    session.run([ones])
    assert all(np.array_equal(a, b) for a, b in zip(first, kept))


def test_the_pte_is_cached_beside_the_model_and_keyed_by_its_hash(tmp_path: Path) -> None:
    model = tmp_path / FACE
    shutil.copy(_fetched(FACE), model)
    pte = _executorch.convert(model)
    stem = f"face_detection_short_range.executorch-{models.sha256_of(model)[:12]}"
    assert pte == tmp_path / f"{stem}.pte" and pte.with_suffix(".json").is_file()
    made = pte.stat().st_mtime_ns
    assert _executorch.convert(model) == pte and pte.stat().st_mtime_ns == made
    assert models.main(["convert", str(model), "--to", "executorch"]) == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers


def _model_with(tmp_path: Path, op: str) -> Path:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"]), helper.make_node(op, ["r"], ["y"], name="odd")],
        "broken", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    path = tmp_path / "broken.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def test_an_unconvertible_model_names_the_operator(tmp_path: Path) -> None:
    model = _model_with(tmp_path, "NoSuchOperator")
    with pytest.raises(models.ModelConversionError, match="NoSuchOperator") as caught:
        _executorch.convert(model)
    assert caught.value.operator == "NoSuchOperator" and str(model) in str(caught.value)
    assert "node 'odd'" in str(caught.value)
    assert list(tmp_path.iterdir()) == [model]  # nothing half-written
    runner = CalculatorRunner("InferenceCalculator", options=InferenceCalculatorOptions(
        model_path=str(model), delegate=Delegate(executorch=ExecuTorch())))
    with pytest.raises(Exception, match="NoSuchOperator"):
        runner.run({"TENSORS": [([np.zeros((1, 4), np.float32)], 0)]})


def test_an_open_input_dimension_is_named(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "open",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])])
    model = tmp_path / "open.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(model))
    with pytest.raises(models.ModelConversionError, match=r"input x has shape \[-1, 4\]"):
        _executorch.convert(model)


@pytest.mark.parametrize("suffix", [".tflite", ".onnx"])
def test_a_corrupt_model_names_the_file(tmp_path: Path, suffix: str) -> None:
    model = tmp_path / f"garbage{suffix}"
    model.write_bytes(b"not a model at all")
    with pytest.raises((B.ModelLoadError, models.ModelConversionError), match=str(model)):
        _executorch.convert(model)


def test_a_damaged_pte_is_an_error_naming_the_file(tmp_path: Path) -> None:
    pte = tmp_path / "damaged.pte"
    pte.write_bytes(b"not a program")
    shutil.copy(_executorch.convert(_fetched(FACE)).with_suffix(".json"), pte.with_suffix(".json"))
    with pytest.raises(B.ModelLoadError, match=str(pte)):
        _executorch.ExecuTorchSession(pte, 1)


@pytest.mark.parametrize("module", ["executorch.runtime", "executorch.exir"])
def test_without_executorch_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path, module: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    if module == "executorch.exir":
        model = tmp_path / FACE
        shutil.copy(_fetched(FACE), model)
        with pytest.raises(MissingDependencyError, match=r"mediagraph\[executorch\]"):
            _executorch.convert(model)
    else:
        pte = _executorch.convert(_fetched(FACE))
        with pytest.raises(MissingDependencyError, match=r"mediagraph\[executorch\]"):
            _executorch.ExecuTorchSession(pte, 1)


def test_without_onnx2torch_the_error_says_how_to_install_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "onnx2torch")
    monkeypatch.setattr(_onnx_torch.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDependencyError, match="--no-deps onnx2torch"):
        _onnx_torch.onnx2torch()


def test_a_torchvision_that_does_not_load_is_stood_in_for_while_onnx2torch_imports(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """PyPI's torchvision is a CUDA build that fails beside the CPU torch; onnx2torch needs
    it only for NonMaxSuppression and RoiAlign, which then fail naming themselves."""
    monkeypatch.setitem(sys.modules, "torchvision", None)  # import torchvision: ImportError
    with _onnx_torch._torchvision_stand_in():
        from torchvision.ops import roi_align

        with pytest.raises(models.ModelConversionError, match="RoiAlign") as caught:
            roi_align()
        assert caught.value.operator == "RoiAlign"
    assert "torchvision.ops" not in sys.modules


def test_same_padding_is_made_explicit_as_onnx_defines_it() -> None:
    # 128 wide, kernel 2, stride 2: no padding; 5 wide, kernel 3, stride 2: one each side;
    # 6 wide, kernel 3, stride 2: one pixel, at the end (SAME_UPPER) or the start (LOWER).
    assert _onnx_torch._same_pads(128, 2, 2, 1, upper=True) == (0, 0)
    assert _onnx_torch._same_pads(5, 3, 2, 1, upper=True) == (1, 1)
    assert _onnx_torch._same_pads(6, 3, 2, 1, upper=True) == (0, 1)
    assert _onnx_torch._same_pads(6, 3, 2, 1, upper=False) == (1, 0)


def test_the_thread_pool_is_sized_once_and_the_device_says_its_size() -> None:
    first = _executorch.open_backend(_fetched(FACE), 1, {"num_threads": 1})
    other = _executorch.open_backend(_fetched(FACE), 1, {"num_threads": 2})
    assert other is not first
    pool = _executorch._pool_threads[0]
    for session in (first, other):
        assert session.device.endswith(f"{pool} thread{'s' if pool > 1 else ''})")


def test_the_delegate_option_form_runs_and_the_profile_names_executorch() -> None:
    outputs, info = run_face_model_through_a_config("executorch { num_threads: 1 }")
    assert [o.shape for o in outputs] == [(1, 896, 16), (1, 896, 1)]
    assert info["backend"] == "executorch"


def test_quiet_torch_restores_the_loggers_and_nests() -> None:
    import logging
    import warnings

    logger = logging.getLogger("torchao")
    logger.setLevel(logging.INFO)
    with _onnx_torch.quiet_torch():
        assert logger.level == logging.ERROR
        with _onnx_torch.quiet_torch():  # re-entrant: one thread may nest it
            warnings.warn("held back")  # would fail under -W error
        assert logger.level == logging.ERROR
    assert logger.level == logging.INFO
    logger.setLevel(logging.NOTSET)


def test_the_operators_left_outside_xnnpack_are_named_in_the_json(tmp_path: Path) -> None:
    model = tmp_path / "hand_landmark_lite.tflite"
    shutil.copy(_fetched(model.name), model)
    shutil.copy(_fetched(model.name).with_suffix(".onnx"), model.with_suffix(".onnx"))
    io = json.loads(_executorch.convert(model).with_suffix(".json").read_text())
    assert io["outside_xnnpack"] == ["aten.mean.dim"]
