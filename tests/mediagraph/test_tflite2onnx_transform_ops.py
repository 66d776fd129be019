"""MediaPipe's custom transform operators as ONNX subgraphs (face_landmark_with_attention).

Each subgraph is held to a numpy port of MediaPipe's C++ kernel on made-up inputs, and the
converted attention model is held to the plain face_landmark.tflite (LiteRT) on a real face:
the same mesh, and lips, eyes and irises where the plain mesh has them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mediagraph import _tflite2onnx_transform_ops as ops
from mediagraph import models

pytestmark = pytest.mark.timeout(300)
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper  # noqa: E402

MATRIX_OPTIONS = {"left_rotation_idx": 2, "right_rotation_idx": 5, "subset_idxs": [1, 2, 5, 7],
                  "output_width": 6, "output_height": 5, "scale_x": 1.5, "scale_y": 1.3,
                  "target_rotation_radians": 0.2}


def run_placeholder(op_type: str, inputs: dict[str, np.ndarray], attrs: dict,
                    out_shape: list[int], nchw_shapes: dict[str, list[int]] | None = None):
    """One placeholder node in a model, expanded, run by onnxruntime."""
    node = helper.make_node(op_type, list(inputs), ["y"], name="op", domain=ops.DOMAIN, **attrs)
    shapes = nchw_shapes or {}
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shapes.get(n, list(a.shape)))
         for n, a in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_operatorsetid("", 11)])
    model.ir_version = 6
    assert ops.expand(model) == 1
    onnx.checker.check_model(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {n: a for n, a in inputs.items()})[0]


def random_landmarks(seed: int, n: int = 9, dims: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 40, (1, n, dims)).astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_landmarks_to_transform_matrix_matches_mediapipes_kernel(seed):
    landmarks = random_landmarks(seed)
    got = run_placeholder("Landmarks2TransformMatrix", {"x": landmarks}, MATRIX_OPTIONS,
                          [1, 4, 4])
    want = ops.landmarks_to_transform_matrix(landmarks, **MATRIX_OPTIONS)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_the_matrix_maps_the_output_grid_onto_the_rotated_box():
    """A level eye line and target 0: no rotation; the grid's centre is the box's centre and
    its width is scale_x times the box's."""
    points = np.array([[[10, 20, 0], [30, 20, 0], [20, 10, 0], [20, 30, 0]]], np.float32)
    m = ops.landmarks_to_transform_matrix(
        points, left_rotation_idx=0, right_rotation_idx=1, subset_idxs=[0, 1, 2, 3],
        output_width=16, output_height=16, scale_x=1.5, scale_y=1.5)[0]
    centre = m @ np.array([8, 8, 0, 1])
    corner = m @ np.array([16, 0, 0, 1])
    np.testing.assert_allclose(centre[:2], [20, 20], atol=1e-5)
    np.testing.assert_allclose(corner[:2], [35, 5], atol=1e-5)


@pytest.mark.parametrize("dims", [2, 3])
def test_transform_landmarks_matches_mediapipes_kernel(dims):
    landmarks = random_landmarks(3, 7, dims)
    matrix = ops.landmarks_to_transform_matrix(random_landmarks(4), **MATRIX_OPTIONS)
    got = run_placeholder("TransformLandmarks", {"x": landmarks, "m": matrix}, {},
                          list(landmarks.shape))
    np.testing.assert_allclose(got, ops.transform_landmarks(landmarks, matrix),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("angle", [0.0, 0.7, -2.5])
def test_transform_tensor_bilinear_matches_mediapipes_kernel(angle):
    """Rotated, scaled and shifted grids, partly outside the map (zeros there)."""
    rng = np.random.default_rng(5)
    data = rng.normal(size=(1, 12, 10, 4)).astype(np.float32)             # NHWC
    c, s = math.cos(angle), math.sin(angle)
    matrix = np.array([[[0.9 * c, -1.1 * s, 0, 3.2], [0.9 * s, 1.1 * c, 0, 1.7],
                        [0, 0, 1, 0], [0, 0, 0, 1]]], np.float32)
    want = ops.transform_tensor_bilinear(data, matrix, output_width=8, output_height=7)
    assert (want == 0).any() and (want != 0).any()
    nchw = np.ascontiguousarray(data.transpose(0, 3, 1, 2))
    got = run_placeholder("TransformTensorBilinear", {"x": nchw, "m": matrix},
                          {"output_width": 8, "output_height": 7}, [1, 4, 7, 8])
    np.testing.assert_allclose(got.transpose(0, 2, 3, 1), want, rtol=1e-4, atol=1e-4)


LIPS = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270,
        409, 78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311,
        310, 415, 76, 77, 90, 180, 85, 16, 315, 404, 320, 307, 306, 184, 74, 73, 72, 11, 302,
        303, 304, 408, 62, 96, 89, 179, 86, 15, 316, 403, 319, 325, 292, 183, 42, 41, 38, 12,
        268, 271, 272, 407]
LEFT_EYE_CONTOUR = [33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173]


def test_the_converted_attention_model_agrees_with_the_plain_face_model(tmp_path):
    """The same 192x192 face crop through face_landmark.tflite (LiteRT) and the ONNX twin of
    face_landmark_with_attention.tflite: meshes within 1% of the crop, lips on the plain
    mesh's lips, the left iris centre inside the plain mesh's left eye."""
    try:
        plain_path = models.resolve("face_landmark.tflite")
        attention = models.resolve("face_landmark_with_attention.tflite")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    from mediagraph.calculators.inference import _backends as B
    from mediagraph.testing import samples

    image = samples.photo("astronaut")          # the crop FaceLandmarkCpu takes, about
    crop = image[41:205, 153:297].astype(np.float32) / 255.0
    rows = (np.arange(192) * crop.shape[0] / 192).astype(int)
    cols = (np.arange(192) * crop.shape[1] / 192).astype(int)
    x = np.ascontiguousarray(crop[rows][:, cols])[None]
    plain = B.LiteRtCpu(plain_path, 1).run([x])
    mesh_plain = [o for o in plain if o.size == 1404][0].reshape(468, 3)
    twin = B.OrtCpu(models.convert(attention, tmp_path / "attention.onnx"), 1)
    names = dict(zip(twin.outputs, twin.run([x])))
    mesh = names["output_mesh_identity"].reshape(468, 3)
    lips = names["output_lips"].reshape(80, 2)
    iris = names["output_left_iris"].reshape(5, 2)
    assert names["conv_faceflag"].ravel()[0] > 0                          # a face
    assert np.linalg.norm(mesh[:, :2] - mesh_plain[:, :2], axis=1).mean() < 0.01 * 192
    assert np.linalg.norm(lips - mesh_plain[LIPS, :2], axis=1).mean() < 0.01 * 192
    eye = mesh_plain[LEFT_EYE_CONTOUR, :2]
    assert (eye.min(axis=0) < iris[0]).all() and (iris[0] < eye.max(axis=0)).all()
