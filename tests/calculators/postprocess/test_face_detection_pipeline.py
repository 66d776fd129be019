"""ImageToTensor -> LiteRT -> TensorsToDetections -> NMS -> projection on the real model.

The model invocation is done here with LiteRT directly, so these tests check the pre- and
post-processing calculators, not the InferenceCalculator. Expected boxes for the
astronaut photo are MediaPipe 0.10.14's own output (`mp.solutions.face_detection`,
short-range model) for the same image.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.preprocess.image_to_tensor import BorderMode, FloatRange
from mediagraph import models
from mediagraph.formats import ImageFrame, NormalizedRect
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)

ANCHOR_OPTIONS = {
    "num_layers": 4, "min_scale": 0.1484375, "max_scale": 0.75, "input_size_width": 128,
    "input_size_height": 128, "anchor_offset_x": 0.5, "anchor_offset_y": 0.5,
    "strides": [8, 16, 16, 16], "aspect_ratios": [1.0], "fixed_anchor_size": True,
    "interpolated_scale_aspect_ratio": 1.0}
DECODE_OPTIONS = {
    "num_classes": 1, "num_boxes": 896, "num_coords": 16, "box_coord_offset": 0,
    "keypoint_coord_offset": 4, "num_keypoints": 6, "num_values_per_keypoint": 2,
    "sigmoid_score": True, "score_clipping_thresh": 100.0, "reverse_output_order": True,
    "x_scale": 128.0, "y_scale": 128.0, "h_scale": 128.0, "w_scale": 128.0,
    "min_score_thresh": 0.5}
NMS_OPTIONS = {"min_suppression_threshold": 0.3, "overlap_type": 3, "algorithm": 1}
TENSOR_OPTIONS = {
    "output_tensor_width": 128, "output_tensor_height": 128, "keep_aspect_ratio": True,
    "output_tensor_float_range": FloatRange(min=-1.0, max=1.0),
    "border_mode": BorderMode.BORDER_ZERO}
# MediaPipe 0.10.14 on the astronaut: score, (xmin, ymin, width, height), right eye.
MEDIAPIPE_ASTRONAUT = (0.92174, (0.346807, 0.161858, 0.186219, 0.186219), (0.393546, 0.204880))


@pytest.fixture(scope="module")
def detect():
    interpreter_module = pytest.importorskip("ai_edge_litert.interpreter")
    try:
        model = models.resolve("face_detection_short_range.tflite")
    except FileNotFoundError:
        pytest.skip("face_detection_short_range.tflite is not in the model cache")
    interpreter = interpreter_module.Interpreter(model_path=str(model))
    interpreter.allocate_tensors()
    runner = CalculatorRunner("SsdAnchorsCalculator", options=ANCHOR_OPTIONS)
    runner.run()
    anchors = runner.output_side_packets[""]

    def run(image: np.ndarray, rect: NormalizedRect | None = None) -> list:
        inputs = {"IMAGE": [(ImageFrame(image), 0)]}
        if rect is not None:
            inputs["NORM_RECT"] = [(rect, 0)]
        out = CalculatorRunner("ImageToTensorCalculator", options=TENSOR_OPTIONS,
                               outputs=["TENSORS", "MATRIX"]).run(inputs)
        (tensor,) = out["TENSORS"][0].value
        matrix = out["MATRIX"][0].value
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor)
        interpreter.invoke()
        outputs = [interpreter.get_tensor(d["index"])
                   for d in interpreter.get_output_details()]
        outputs.sort(key=lambda t: -t.shape[-1])  # regressors (16 values) first
        detections = CalculatorRunner("TensorsToDetectionsCalculator",
                                      options=DECODE_OPTIONS).run(
            {"TENSORS": [(outputs, 0)]}, {"ANCHORS": anchors})["DETECTIONS"][0].value
        kept = CalculatorRunner("NonMaxSuppressionCalculator", options=NMS_OPTIONS).run(
            {"": [(detections, 0)]})[""]
        if not kept:
            return []
        projected = CalculatorRunner("DetectionProjectionCalculator").run(
            {"DETECTIONS": [(kept[0].value, 0)], "PROJECTION_MATRIX": [(matrix, 0)]})
        return projected["DETECTIONS"][0].value

    return run


@pytest.fixture(scope="module")
def astronaut():
    path = models.cache_dir().parent / "samples" / "astronaut.png"
    if not path.is_file():
        pytest.skip("no cached sample photo (python -m mediagraph.testing.samples fetches it)")
    from mediagraph.testing import samples

    return samples.photo("astronaut")


def pixel_box(detection, width, height):
    b = detection.relative_bounding_box
    return np.array([b.xmin * width, b.ymin * height, b.width * width, b.height * height])


def test_blank_and_noise_images_give_no_faces(detect):
    assert detect(np.full((480, 640, 3), 128, np.uint8)) == []
    noise = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    assert detect(noise) == []


def test_astronaut_matches_mediapipe(detect, astronaut):
    (face,) = detect(astronaut)
    score, box, eye = MEDIAPIPE_ASTRONAUT
    b = face.relative_bounding_box
    assert face.score[0] == pytest.approx(score, abs=1e-3)
    assert (b.xmin, b.ymin, b.width, b.height) == pytest.approx(box, abs=1e-3)
    assert len(face.relative_keypoints) == 6
    assert (face.relative_keypoints[0].x, face.relative_keypoints[0].y) == pytest.approx(
        eye, abs=1e-3)
    for p in face.relative_keypoints:
        assert b.xmin <= p.x <= b.xmin + b.width and b.ymin <= p.y <= b.ymin + b.height


def test_letterboxed_and_rotated_inputs_project_back_to_the_same_face(detect, astronaut):
    portrait = np.ascontiguousarray(astronaut[0:300, 90:390])  # head and shoulders
    (reference,) = detect(portrait)
    expected = pixel_box(reference, 300, 300)

    # Wide canvas: the letterbox now pads top and bottom; boxes come back in its pixels.
    canvas = np.zeros((300, 500, 3), np.uint8)
    canvas[:, 150:450] = portrait
    (wide,) = detect(canvas)
    shifted = pixel_box(wide, 500, 300) - [150, 0, 0, 0]
    np.testing.assert_allclose(shifted, expected, atol=0.05 * expected[2])

    # Image turned a quarter clockwise; a ROI rotated back shows the model an upright face.
    turned = np.ascontiguousarray(np.rot90(portrait, k=-1))
    (upright,) = detect(turned, NormalizedRect(0.5, 0.5, 1.0, 1.0, rotation=math.pi / 2))
    x, y, w, h = pixel_box(upright, 300, 300)
    # Turned-image pixel (u, v) shows portrait pixel (v, 299 - u): map the box back.
    back = np.array([y, 300 - (x + w), h, w])
    np.testing.assert_allclose(back, expected, atol=0.05 * expected[2])
    eye = upright.relative_keypoints[0]
    eye_back = (eye.y * 300, 300 - eye.x * 300)
    ref_eye = (reference.relative_keypoints[0].x * 300, reference.relative_keypoints[0].y * 300)
    assert eye_back == pytest.approx(ref_eye, abs=0.05 * expected[2])
