"""Unlabelled keypoints stay one array along the detection path.

TensorsToDetections makes `Keypoints` (an Nx2 array whose RelativeKeypoint objects exist
only once read); non-max suppression, projection, letterbox removal and render data keep
them as arrays. Each must give exactly the detections it gives for the same keypoints as
a tuple of objects, and a tuple with labels or scores must come out as a tuple with them.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mediagraph.calculators  # noqa: F401
from mediagraph.formats import (Detection, Keypoints, RelativeBoundingBox, RelativeKeypoint,
                                keypoint_array)
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)

coordinate = st.floats(-0.5, 1.5, allow_nan=False, width=32)


def as_tuple(keypoints) -> tuple[RelativeKeypoint, ...]:
    return tuple(RelativeKeypoint(float(x), float(y)) for x, y in keypoint_array(keypoints))


def detection(score: float, box: tuple[float, float, float, float], keypoints) -> Detection:
    return Detection(label_id=(0,), score=(score,), relative_bounding_box=RelativeBoundingBox(*box),
                     relative_keypoints=keypoints)


def run_one(calculator: str, inputs: dict, output: str, **options) -> list[Detection]:
    return CalculatorRunner(calculator, options=options or None).run(inputs)[output][0].value


def test_tensors_to_detections_gives_keypoints_as_one_array_with_the_float32_values():
    anchors = np.array([[0.25, 0.5, 1.0, 1.0]], np.float32)
    raw = np.array([[[10, -20, 50, 40, 5, 5, -10, 0.3]]], np.float32)
    options = {"num_classes": 1, "num_boxes": 1, "num_coords": 8, "keypoint_coord_offset": 4,
               "num_keypoints": 2, "num_values_per_keypoint": 2, "x_scale": 100.0,
               "y_scale": 100.0, "w_scale": 100.0, "h_scale": 100.0,
               "reverse_output_order": True}
    for flip in (False, True):
        out = CalculatorRunner("TensorsToDetectionsCalculator",
                               options={**options, "flip_vertically": flip}).run(
            {"TENSORS": [([raw, np.ones((1, 1, 1), np.float32)], 0)]}, {"ANCHORS": anchors})
        keypoints = out["DETECTIONS"][0].value[0].relative_keypoints
        assert isinstance(keypoints, Keypoints)
        xy = raw[0, 0, 4:].reshape(2, 2) / np.float32(100) * np.float32(1) + anchors[0, :2]
        expected = [(float(x), 1.0 - float(y) if flip else float(y)) for x, y in xy]
        assert [(p.x, p.y) for p in keypoints] == expected


@given(st.lists(st.tuples(st.floats(0.3, 1.0), st.lists(st.tuples(coordinate, coordinate),
                                                          min_size=6, max_size=6)),
                min_size=1, max_size=6))
@settings(max_examples=60, deadline=None)
def test_weighted_suppression_of_arrays_equals_that_of_objects(faces):
    def detections(kind):
        return [detection(score, (0.1 + 0.01 * i, 0.2, 0.3, 0.3), kind(points))
                for i, (score, points) in enumerate(faces)]

    options = {"min_suppression_threshold": 0.3, "overlap_type": "INTERSECTION_OVER_UNION",
               "algorithm": "WEIGHTED"}
    arrays = run_one("NonMaxSuppressionCalculator", {"": [(detections(Keypoints), 0)]}, "",
                     **options)
    objects = run_one("NonMaxSuppressionCalculator",
                      {"": [(detections(lambda p: as_tuple(Keypoints(p))), 0)]}, "", **options)
    assert arrays == objects
    assert all(isinstance(d.relative_keypoints, Keypoints) for d in arrays)
    assert all(isinstance(d.relative_keypoints, tuple) for d in objects)


@given(st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=8),
       st.floats(-3.2, 3.2), st.floats(0.5, 2.0))
@settings(max_examples=60, deadline=None)
def test_projection_of_arrays_equals_that_of_objects(points, angle, scale):
    cos, sin = scale * np.cos(angle), scale * np.sin(angle)
    matrix = np.array([[cos, -sin, 0, 0.1], [sin, cos, 0, -0.2], [0, 0, 1, 0], [0, 0, 0, 1]])
    box = (0.1, 0.2, 0.3, 0.4)
    results = [run_one("DetectionProjectionCalculator",
                       {"DETECTIONS": [([detection(0.9, box, keypoints)], 0)],
                        "PROJECTION_MATRIX": [(matrix, 0)]}, "DETECTIONS")[0]
               for keypoints in (Keypoints(points), as_tuple(Keypoints(points)))]
    assert results[0] == results[1]
    assert isinstance(results[0].relative_keypoints, Keypoints)


@given(st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=8),
       st.tuples(*[st.floats(0.0, 0.2)] * 4))
@settings(max_examples=60, deadline=None)
def test_letterbox_removal_of_arrays_equals_that_of_objects(points, padding):
    results = [run_one("DetectionLetterboxRemovalCalculator",
                       {"DETECTIONS": [([detection(0.9, (0.1, 0.2, 0.3, 0.4), keypoints)], 0)],
                        "LETTERBOX_PADDING": [(padding, 0)]}, "DETECTIONS")[0]
               for keypoints in (Keypoints(points), as_tuple(Keypoints(points)))]
    assert results[0] == results[1]
    assert isinstance(results[0].relative_keypoints, Keypoints)


def test_labelled_keypoints_keep_their_labels_and_scores_through_each_stage():
    labelled = (RelativeKeypoint(0.2, 0.3, "left eye", 0.5), RelativeKeypoint(0.4, 0.3, "right eye"))
    face = detection(0.9, (0.1, 0.2, 0.3, 0.4), labelled)
    identity = np.eye(4)
    projected = run_one("DetectionProjectionCalculator",
                        {"DETECTIONS": [([face], 0)], "PROJECTION_MATRIX": [(identity, 0)]},
                        "DETECTIONS")[0]
    unpadded = run_one("DetectionLetterboxRemovalCalculator",
                       {"DETECTIONS": [([face], 0)], "LETTERBOX_PADDING": [((0, 0, 0, 0), 0)]},
                       "DETECTIONS")[0]
    suppressed = run_one("NonMaxSuppressionCalculator", {"": [([face, face], 0)]}, "",
                         min_suppression_threshold=0.3, algorithm="WEIGHTED")[0]
    for result in (projected, unpadded, suppressed):
        assert result.relative_keypoints == labelled
        assert isinstance(result.relative_keypoints, tuple)


def test_render_data_points_are_the_same_from_arrays_and_objects():
    xy = [(0.2, 0.3), (0.4, 0.35), (0.3, 0.5)]
    renders = [run_one("DetectionsToRenderDataCalculator",
                       {"DETECTIONS": [([detection(0.9, (0.1, 0.2, 0.3, 0.4), keypoints)], 0)]},
                       "RENDER_DATA", thickness=3.0)
               for keypoints in (Keypoints(xy), as_tuple(Keypoints(xy)))]
    assert renders[0] == renders[1]
    points = [a for a in renders[0].render_annotation if a.kind == "point"]
    assert [a.coords for a in points] == xy and {a.thickness for a in points} == {3.0}
