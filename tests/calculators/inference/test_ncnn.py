"""The ncnn backend (pnnx conversion): agreement with LiteRT on every fetched model ncnn
can run, fp32 weights, pnnx's renamed I/O and its Resize trap handled, errors that name
the operator.

Tolerance as for OpenVINO (test_openvino.py): max |diff| <= 1e-3 x max(1, max |LiteRT
output|). That bound would not catch pnnx's default fp16 weights on face detection
(4e-2 on outputs near 100), so the weights' storage is checked in the .bin itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401  (registers the calculators)
from mediagraph import models
from mediagraph.calculators.inference import _backends as B
from mediagraph.calculators.inference import _converted, _ncnn
from mediagraph.errors import MissingDependencyError
from tests.calculators.inference._runtimes import (
    run_face_model_through_a_config,
    tolerance,
    fetched as _fetched,
    random_inputs as _inputs,
)

pytestmark = pytest.mark.timeout(300)
pytest.importorskip("ncnn")
pytest.importorskip("onnx")
try:
    _ncnn.pnnx_executable()
except MissingDependencyError as exc:
    pytest.skip(str(exc), allow_module_level=True)

FACE = "face_detection_short_range.tflite"
# Operators ncnn (through pnnx's ONNX frontend) has no layer for, named by the conversion.
NCNN_LACKS = {"face_landmark_with_attention.tflite": "pnnx.Expression"}
FP16_BLOB_TAG = bytes.fromhex("476b3001")  # ncnn's flag before an fp16 weight blob


@pytest.mark.parametrize("name", sorted(models.MEDIAPIPE_MODELS))
def test_ncnn_agrees_with_litert_or_names_the_operator_it_lacks(name: str) -> None:
    path = _fetched(name)
    if name in NCNN_LACKS:
        with pytest.raises(models.ModelConversionError) as caught:
            _ncnn.open_backend(path, 1, {})
        assert caught.value.operator == NCNN_LACKS[name] and name in str(caught.value)
        return
    reference = B.LiteRtCpu(path, 1)
    session = _ncnn.open_backend(path, 1, {})
    assert session.backend == "ncnn" and session.device == "cpu (fp32, 1 thread)"
    # pnnx calls them in0/out0..; the backend keeps the model's names, shapes and order.
    assert [(s.name, s.shape) for s in session.inputs] == \
        [(s.name, s.shape) for s in reference.inputs]
    assert session.outputs == reference.outputs
    arrays = _inputs(reference)
    for want, got in zip(reference.run(arrays), session.run(arrays)):
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= tolerance(want)


def test_weights_are_float32_and_only_param_bin_json_are_kept(tmp_path: Path) -> None:
    model = tmp_path / FACE
    shutil.copy(_fetched(FACE), model)
    param = _ncnn.convert(model)
    stem = f"face_detection_short_range.ncnn-{models.sha256_of(model)[:12]}"
    assert param.name == f"{stem}.param"
    binary = param.with_suffix(".bin")
    assert FP16_BLOB_TAG not in binary.read_bytes()  # pnnx's default is fp16=1
    io = json.loads(param.with_suffix(".json").read_text())
    assert [i["name"] for i in io["inputs"]] == ["input"]
    # The .onnx twin tflite2onnx made, and the three files: none of pnnx's side files.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [FACE, "face_detection_short_range.onnx", f"{stem}.param", f"{stem}.bin", f"{stem}.json"])
    made = param.stat().st_mtime_ns
    assert _ncnn.convert(model) == param and param.stat().st_mtime_ns == made
    assert models.main(["convert", str(model), "--to", "ncnn"]) == 0


@pytest.mark.parametrize("name", ["face_detection_full_range_sparse.tflite",
                                  "pose_detection.tflite"])
def test_depth_to_space_becomes_pixel_shuffle(name: str) -> None:
    """pnnx writes an attribute-less DepthToSpace layer ncnn lacks; the agreement test
    above checks the rewrite's block size and mode on these two models."""
    import onnx

    path = _fetched(name)
    nodes = [n.op_type for n in onnx.load(str(_converted.onnx_twin(path))).graph.node]
    layers = [line.split()[0] for line in _ncnn.convert(path).read_text().splitlines()[2:]]
    assert "DepthToSpace" not in layers
    assert layers.count("PixelShuffle") == nodes.count("DepthToSpace") > 0


def test_resize_nearest_mode_is_dropped_before_pnnx(tmp_path: Path) -> None:
    """pnnx leaves a Resize with nearest_mode=round_prefer_floor (ONNX's default)
    unconverted; selfie_segmentation has three."""
    twin = _converted.onnx_twin(_fetched("selfie_segmentation.tflite"))
    import onnx

    def modes(path: Path) -> list[str]:
        return [a.s.decode() for n in onnx.load(str(path)).graph.node if n.op_type == "Resize"
                for a in n.attribute if a.name == "nearest_mode"]

    assert modes(twin) == ["round_prefer_floor"] * 3
    prepared, _ = _ncnn._prepared_onnx(twin, tmp_path)
    assert modes(prepared) == []


def _model_with(tmp_path: Path, op: str, ir_version: int = 8) -> Path:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"]), helper.make_node(op, ["r"], ["y"])],
        "broken", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = ir_version
    path = tmp_path / "broken.onnx"
    onnx.save(model, str(path))
    return path


def test_an_unknown_operator_is_named(tmp_path: Path) -> None:
    model = _model_with(tmp_path, "NoSuchOperator")
    with pytest.raises(models.ModelConversionError, match="NoSuchOperator"):
        _ncnn.convert(model)
    assert list(tmp_path.iterdir()) == [model]


def test_a_model_too_new_for_pnnx_says_so(tmp_path: Path) -> None:
    """pnnx reads ONNX through its own onnxruntime, which refuses (and pnnx then crashes
    on) IR versions it does not know."""
    model = _model_with(tmp_path, "Relu", ir_version=99)
    with pytest.raises(models.ModelConversionError, match="IR version"):
        _ncnn.convert(model)


def test_a_corrupt_model_names_the_file(tmp_path: Path) -> None:
    model = tmp_path / "garbage.onnx"
    model.write_bytes(b"not a model at all")
    with pytest.raises(B.ModelLoadError, match=str(model)):
        _ncnn.convert(model)


def test_without_ncnn_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ncnn", None)
    with pytest.raises(MissingDependencyError, match=r"mediagraph\[ncnn\]"):
        _ncnn.convert(_fetched(FACE))


def test_without_pnnx_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_ncnn.shutil, "which", lambda name: None)
    monkeypatch.setattr(_ncnn.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDependencyError, match="--no-deps pnnx"):
        _ncnn.pnnx_executable()


def test_the_installed_wheels_pnnx_binary_wins_over_a_script_on_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # pip's `pnnx` console script imports the package, whose __init__ needs torch; with
    # `pip install --no-deps pnnx` (or another venv's script first on PATH) it cannot run.
    script = tmp_path / "pnnx"
    script.write_text("#!/bin/sh\necho 'ModuleNotFoundError: torch' >&2\nexit 1\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    spec = _ncnn.util.find_spec("pnnx")
    if spec is None:
        pytest.skip("pnnx found only on PATH here")
    chosen = Path(_ncnn.pnnx_executable())
    assert chosen != script and chosen.parent == Path(spec.submodule_search_locations[0])
    usage = subprocess.run([str(chosen), "-h"], capture_output=True, timeout=60)
    assert b"inputshape" in usage.stdout + usage.stderr  # the native tool's usage text


def test_without_the_wheel_a_pnnx_on_path_is_used(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "pnnx"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(_ncnn.util, "find_spec", lambda name: None)
    assert Path(_ncnn.pnnx_executable()) == script


def test_the_delegate_option_form_runs_and_the_profile_names_ncnn() -> None:
    outputs, info = run_face_model_through_a_config("ncnn { num_threads: 2 }")
    assert [o.shape for o in outputs] == [(1, 896, 16), (1, 896, 1)]
    assert info["backend"] == "ncnn" and info["device"] == "cpu (fp32, 2 threads)"

