"""Iris: MediaPipe's IrisLandmarkLeftAndRightCpu (iris_landmark.tflite) on a real face.

The eye corners come from the face mesh of MediaPipe's unchanged face_landmark_front_cpu
binarypb (468 landmarks, the plain model), as MediaPipe's iris tracking wires them
(33/133 left, 362/263 right). The iris model's answers are held to a second, independent
model: the attention face mesh (face_landmark_with_attention, itself agreeing with
mediapipe.solutions.face_mesh(refine_landmarks=True) to 0.001% of the image; see
test_face_mesh.py), whose 71-landmark eye refinements and 5-landmark irises come in the
iris model's own order.
"""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph as mg
import mediagraph.calculators  # noqa: F401
from mediagraph import models
from mediagraph.formats import ImageFrame, NormalizedLandmarkList
from mediagraph.testing import samples

pytestmark = pytest.mark.timeout(300)

# The attention model's eye refinements: mesh index of each of the 71 contour landmarks.
LEFT_EYE = [33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173, 130,
            25, 110, 24, 23, 22, 26, 112, 243, 247, 30, 29, 27, 28, 56, 190, 226, 31, 228, 229,
            230, 231, 232, 233, 244, 113, 225, 224, 223, 222, 221, 189, 35, 124, 46, 53, 52, 65,
            143, 111, 117, 118, 119, 120, 121, 128, 245, 156, 70, 63, 105, 66, 107, 55, 193]
RIGHT_EYE = [263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398,
             359, 255, 339, 254, 253, 252, 256, 341, 463, 467, 260, 259, 257, 258, 286, 414,
             446, 261, 448, 449, 450, 451, 452, 453, 464, 342, 445, 444, 443, 442, 441, 413,
             265, 353, 276, 283, 282, 295, 372, 340, 346, 347, 348, 349, 350, 357, 465, 383,
             300, 293, 334, 296, 336, 285, 417]
IRIS_GRAPH = """
    input_stream: "image" input_stream: "left" input_stream: "right"
    output_stream: "left_contour" output_stream: "left_iris" output_stream: "left_roi"
    output_stream: "right_contour" output_stream: "right_iris" output_stream: "right_roi"
    node { calculator: "IrisLandmarkLeftAndRightCpu" input_stream: "IMAGE:image"
           input_stream: "LEFT_EYE_BOUNDARY_LANDMARKS:left"
           input_stream: "RIGHT_EYE_BOUNDARY_LANDMARKS:right"
           output_stream: "LEFT_EYE_CONTOUR_LANDMARKS:left_contour"
           output_stream: "LEFT_EYE_IRIS_LANDMARKS:left_iris"
           output_stream: "LEFT_EYE_ROI:left_roi"
           output_stream: "RIGHT_EYE_CONTOUR_LANDMARKS:right_contour"
           output_stream: "RIGHT_EYE_IRIS_LANDMARKS:right_iris"
           output_stream: "RIGHT_EYE_ROI:right_roi" }
"""


@pytest.fixture(scope="module")
def astronaut():
    """(image, plain mesh, attention mesh) of the astronaut."""
    try:
        for name in ("iris_landmark.tflite", "face_landmark.tflite",
                     "face_landmark_with_attention.tflite"):
            models.resolve(name)
        image = ImageFrame(samples.photo("astronaut"))
    except (FileNotFoundError, OSError) as exc:
        pytest.skip(str(exc))
    front = models.mediapipe_graph("face_landmark_front_cpu.binarypb")
    if not front.is_file():
        pytest.skip(f"{front.name} is not cached: run `mediagraph models fetch`")
    meshes = []
    for attention in (False, True):
        out = mg.Graph(front).run({"image": [(image, 0)]},
                                  {"num_faces": 1, "with_attention": attention,
                                   "use_prev_landmarks": False}, timeout=120)
        meshes.append(out["multi_face_landmarks"][0].value[0])
    return image, meshes[0], meshes[1]


def run_iris(image: ImageFrame, mesh: NormalizedLandmarkList) -> dict:
    corners = {"left": (33, 133), "right": (362, 263)}
    inputs = {"image": [(image, 0)]}
    for side, (a, b) in corners.items():
        inputs[side] = [(NormalizedLandmarkList((mesh.landmark[a], mesh.landmark[b])), 0)]
    out = mg.Graph(IRIS_GRAPH).run(inputs, timeout=120)
    return {name: packets[0].value for name, packets in out.items()}


def test_iris_and_eye_contours_on_a_real_face_agree_with_the_attention_mesh(astronaut):
    image, plain, refined = astronaut
    out = run_iris(image, plain)
    size = 512
    attention = refined.to_array()
    for side, contour_indexes, iris_start in (("left", LEFT_EYE, 468), ("right", RIGHT_EYE, 473)):
        contour, iris = out[f"{side}_contour"].to_array(), out[f"{side}_iris"].to_array()
        assert contour.shape == (71, 3) and iris.shape == (5, 3)
        reference = attention[iris_start:iris_start + 5, :2]
        # The centre first; the ring in the same order (the right eye's mirrored back).
        assert np.linalg.norm(iris[0, :2] - reference[0]) * size < 1.0
        ring = [1, 2, 3, 4] if side == "left" else [3, 2, 1, 4]
        assert np.linalg.norm(iris[ring, :2] - reference[1:], axis=1).mean() * size < 1.5
        error = np.linalg.norm(contour[:, :2] - attention[contour_indexes, :2], axis=1)
        assert error.mean() * size < 0.005 * size          # within 0.5% of the image
        # The eye's ROI: square (in pixels), level, around both corners.
        roi = out[f"{side}_roi"]
        assert roi.width == pytest.approx(roi.height)
        assert abs(roi.rotation) < 0.2
        corners = plain.to_array()[[33, 133] if side == "left" else [362, 263], :2]
        assert (np.abs(corners - (roi.x_center, roi.y_center)) < roi.width / 2).all()


def test_the_right_eye_needs_its_mirror(astronaut):
    """IrisLandmarkCpu on the right eye without IS_RIGHT_EYE (the model sees a right eye
    as it is) lands further from the attention mesh's right iris than with it."""
    image, plain, refined = astronaut
    out = run_iris(image, plain)
    graph = mg.Graph("""
        input_stream: "image" input_stream: "roi" input_stream: "flag"
        output_stream: "iris" output_stream: "contour"
        node { calculator: "IrisLandmarkCpu" input_stream: "IMAGE:image"
               input_stream: "ROI:roi" input_stream: "IS_RIGHT_EYE:flag"
               output_stream: "EYE_CONTOUR_LANDMARKS:contour"
               output_stream: "IRIS_LANDMARKS:iris" }""")
    unflipped = graph.run({"image": [(image, 0)], "roi": [(out["right_roi"], 0)],
                           "flag": [(False, 0)]}, timeout=120)
    contour = unflipped["contour"][0].value.to_array()
    reference = refined.to_array()[RIGHT_EYE, :2]
    flipped_error = np.linalg.norm(out["right_contour"].to_array()[:, :2] - reference, axis=1)
    unflipped_error = np.linalg.norm(contour[:, :2] - reference, axis=1)
    assert flipped_error.mean() * 3 < unflipped_error.mean()
