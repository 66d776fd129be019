"""int8 on each runtime that offers it: OpenVINO (full int8 from a QDQ model calibrated on
real inputs), MNN (int8 weights from its converter); ncnn's int8 needs tools its wheels
lack, and is refused naming them.

Agreement is held at the detection level, on the face detector and the sample portrait:
int8 moves far-off logits a lot (an activation's step is 1/255 of its calibrated range,
so a logit of -80 may land at -60), which no detection sees. What a detection sees must
hold: the same anchors score above 0.5, the best is the same anchor with a score within
0.05, and its box within 1.5 px of the 128 px input (measured: 0.03 and 0.9 px for
OpenVINO, 0.003 and 0.2 px for MNN).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401  (registers the calculators)
from mediagraph import Graph, models, parse_config
from mediagraph.calculators.inference import _backends as B
from mediagraph.calculators.inference import _mnn, _ncnn, _openvino
from mediagraph.errors import GraphConfigError
from mediagraph.testing import samples
from tests.calculators.inference._runtimes import fetched as _fetched

pytestmark = pytest.mark.timeout(300)
FACE = "face_detection_short_range.tflite"


def _crops(size: int) -> list[np.ndarray]:
    """The portrait and nine crops and flips of it, as the face graph feeds the detector
    (size x size, RGB in [-1, 1])."""
    import cv2

    image = samples.still("portrait")
    h, w = image.shape[:2]
    boxes = [(0, 0, h, w), (0, 0, h * 2 // 3, w * 2 // 3), (h // 3, w // 3, h, w),
             (0, w // 3, h, w), (h // 4, 0, h, w * 3 // 4)]
    out = []
    for top, left, bottom, right in boxes:
        for flip in (False, True):
            crop = image[top:bottom, left:right]
            crop = np.ascontiguousarray(crop[:, ::-1] if flip else crop)
            resized = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
            out.append((resized.astype(np.float32) / 127.5 - 1)[None])
    return out


@pytest.fixture()
def face(tmp_path: Path) -> Path:
    """The face detector and its `.onnx` twin, copied where conversions may be cached."""
    source = _fetched(FACE)
    pytest.importorskip("tflite2onnx")
    model = tmp_path / FACE
    shutil.copy(source, model)
    twin = source.with_suffix(".onnx")
    if twin.is_file():
        shutil.copy(twin, model.with_suffix(".onnx"))  # copied last: newer than the .tflite
    return model


@pytest.fixture()
def calibration(tmp_path: Path) -> Path:
    path = tmp_path / "calibration.npy"
    np.save(path, np.stack(_crops(128)))  # N x the input shape (1, 128, 128, 3)
    return path


def _detections_agree(got: list[np.ndarray], want: list[np.ndarray]) -> None:
    def decoded(outputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        scores = 1 / (1 + np.exp(-np.clip(outputs[1][0, :, 0], -80, 80)))
        return scores, outputs[0][0, :, :4]

    scores, boxes = decoded(got)
    ref_scores, ref_boxes = decoded(want)
    assert set(np.flatnonzero(scores > 0.5)) == set(np.flatnonzero(ref_scores > 0.5))
    best = int(ref_scores.argmax())
    assert int(scores.argmax()) == best
    assert abs(scores[best] - ref_scores[best]) < 0.05
    assert np.abs(boxes[best] - ref_boxes[best]).max() < 1.5


# -- OpenVINO ---------------------------------------------------------------------------

def test_openvino_int8_runs_int8_kernels_and_finds_the_face_litert_finds(
        face: Path, calibration: Path) -> None:
    pytest.importorskip("openvino")
    pytest.importorskip("onnxruntime.quantization")
    session = _openvino.open_backend(face, 1, {"precision": "int8",
                                               "calibration_data": str(calibration)})
    assert session.device == "CPU (int8, f32 elsewhere, 1 thread)"
    runtime = session._compiled.get_runtime_model()
    kinds = {op.get_rt_info()["runtimePrecision"].astype(str) for op in runtime.get_ops()
             if "runtimePrecision" in op.get_rt_info()}
    assert {"i8", "u8"} & kinds, kinds
    reference = B.LiteRtCpu(face, 1)
    image = _crops(128)[0]
    _detections_agree(session.run([image]), reference.run([image]))


def test_the_int8_model_is_cached_keyed_by_the_model_and_the_calibration(
        face: Path, calibration: Path, tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    pytest.importorskip("onnxruntime.quantization")
    first = _openvino.open_backend(face, 1, {"precision": "int8",
                                             "calibration_data": str(calibration)})
    made = sorted(p.name for p in tmp_path.glob("*.int8-*.onnx"))
    stem = f"face_detection_short_range.int8-{models.sha256_of(calibration)[:12]}-"
    assert made == [f"{stem}{models.sha256_of(face)[:12]}.onnx"]
    other = tmp_path / "other.npy"
    np.save(other, np.stack(_crops(128)[:4]))
    second = _openvino.open_backend(face, 1, {"precision": "int8",
                                              "calibration_data": str(other)})
    assert second is not first and len(list(tmp_path.glob("*.int8-*.onnx"))) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers


def _graph_with(delegate: str) -> str:
    return f"""
        input_stream: "in" output_stream: "out"
        node {{ calculator: "InferenceCalculator" name: "detector"
          input_stream: "TENSORS:in" output_stream: "TENSORS:out"
          options {{ [mediapipe.InferenceCalculatorOptions.ext] {{
            model_path: "{FACE}" delegate {{ {delegate} }} }} }} }}"""


@pytest.mark.parametrize("delegate,message", [
    ('openvino { precision: "int8" }', "int8 needs calibration_data"),
    ('openvino { precision: "int8" calibration_data: "c.npy" runtime: "onnxruntime" }',
     "int8 runs on the openvino runtime"),
    ('mnn { precision: "int4" }', "mnn precision 'int4'"),
    ('ncnn { precision: "int8" }', "ncnn2int8.*ncnn2table.*openvino.*mnn"),
])
def test_an_int8_request_a_runtime_cannot_meet_fails_validation_naming_the_node(
        delegate: str, message: str) -> None:
    with pytest.raises(GraphConfigError, match=f"(?s)detector.*{message}"):
        Graph(parse_config(_graph_with(delegate)))


def test_a_missing_calibration_file_is_named(face: Path, tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    pytest.importorskip("onnxruntime.quantization")
    with pytest.raises(FileNotFoundError, match="nowhere.npy"):
        _openvino.open_backend(face, 1, {"precision": "int8",
                                         "calibration_data": str(tmp_path / "nowhere.npy")})


def test_calibration_samples_of_the_wrong_shape_are_named(face: Path, tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    pytest.importorskip("onnxruntime.quantization")
    flat = tmp_path / "flat.npy"
    np.save(flat, np.concatenate(_crops(128)))  # the batch axis merged away
    with pytest.raises(ValueError, match=r"shape \[128, 128, 3\], the model takes \[1, 128"):
        _openvino.open_backend(face, 1, {"precision": "int8", "calibration_data": str(flat)})


# -- MNN --------------------------------------------------------------------------------

def test_mnn_int8_weights_shrink_the_model_and_find_the_face_litert_finds(face: Path) -> None:
    pytest.importorskip("MNN")
    session = _mnn.open_backend(face, 1, {"precision": "int8"})
    assert session.device == "cpu (int8 weights, fp32, 1 thread)"
    assert session.model_file.name.startswith("face_detection_short_range.mnn-int8-")
    float_model = _mnn.convert(face)
    assert session.model_file.stat().st_size * 2.5 < float_model.stat().st_size
    reference = B.LiteRtCpu(face, 1)
    image = _crops(128)[0]
    _detections_agree(session.run([image]), reference.run([image]))


def test_models_convert_to_mnn_int8_caches_beside_the_model(face: Path) -> None:
    pytest.importorskip("MNN")
    assert models.main(["convert", str(face), "--to", "mnn-int8"]) == 0
    assert _mnn.convert(face, int8=True).is_file()


# -- ncnn -------------------------------------------------------------------------------

def test_ncnn_int8_is_refused_naming_the_tools_it_needs_and_what_runs_here(face: Path) -> None:
    with pytest.raises(ValueError, match="ncnn2int8") as caught:
        _ncnn.open_backend(face, 1, {"precision": "int8"})
    assert 'openvino { precision: "int8"' in str(caught.value)
    assert list(face.parent.glob("*.ncnn-*")) == []  # refused before converting
