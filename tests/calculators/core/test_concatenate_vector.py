"""ConcatenateVectorCalculator, ConcatenateListsCalculator and MediaPipe's typed names."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mediagraph.calculators  # noqa: F401
from mediagraph import Graph, GraphConfigError, parse_config, registry
from mediagraph.formats import (
    Classification,
    ClassificationList,
    Detection,
    Landmark,
    LandmarkList,
    NormalizedLandmark,
    NormalizedLandmarkList,
    RenderData,
)
from mediagraph.testing import CalculatorRunner, timestamps

pytestmark = pytest.mark.timeout(60)


def run(name, streams, options=None):
    """streams: one list of (value, timestamp) per untagged input."""
    inputs = {("" if i == 0 else f":{i}"): packets for i, packets in enumerate(streams)}
    return CalculatorRunner(name, options=options, outputs=[""]).run(inputs)[""]


def lms(*xs):
    return NormalizedLandmarkList(tuple(NormalizedLandmark(x, 0.5) for x in xs))


def test_detection_vectors_join_in_stream_order():
    a, b, c = Detection(score=(0.1,)), Detection(score=(0.2,)), Detection(score=(0.3,))
    out = run("ConcatenateDetectionVectorCalculator", [[([a, b], 0)], [([c], 0)]])
    assert out[0].value == [a, b, c]


def test_single_items_are_appended_as_elements():
    r1, r2 = RenderData(scene_class="one"), RenderData(scene_class="two")
    out = run("ConcatenateRenderDataVectorCalculator", [[(r1, 0)], [([r2], 0)]])
    assert out[0].value == [r1, r2]


def test_a_missing_input_adds_nothing_unless_all_must_be_present():
    streams = [[([1.0], 0), ([2.0], 1)], [([9.0], 1)]]
    out = run("ConcatenateFloatVectorCalculator", streams)
    assert [p.value for p in out] == [[1.0], [2.0, 9.0]]
    out = run("ConcatenateFloatVectorCalculator", streams, {"only_emit_if_all_present": True})
    assert timestamps(out) == [1] and out[0].value == [2.0, 9.0]


def test_normalized_landmark_lists_join_into_one_list():
    out = run("ConcatenateNormalizedLandmarkListCalculator",
              [[(lms(0.1, 0.2), 0)], [(lms(0.3), 0)], [(lms(), 0)]])
    assert out[0].value == lms(0.1, 0.2, 0.3)


def test_world_landmark_lists_join_into_a_world_landmark_list():
    a, b = LandmarkList((Landmark(0.1, 0.2, 0.3),)), LandmarkList((Landmark(1.0, 2.0, 3.0),))
    out = run("ConcatenateLandmarkListCalculator", [[(a, 0)], [(b, 0)]])
    assert out[0].value == LandmarkList(a.landmark + b.landmark)


def test_classification_lists_join():
    a = ClassificationList((Classification(0, 0.9, "Left"),))
    b = ClassificationList((Classification(1, 0.8, "Right"),))
    out = run("ConcatenateClassificationListCalculator", [[(a, 0)], [(b, 0)]])
    assert out[0].value == ClassificationList(a.classification + b.classification)


def test_list_inputs_of_two_types_fail():
    with pytest.raises(Exception, match="mix NormalizedLandmarkList and ClassificationList"):
        run("ConcatenateNormalizedLandmarkListCalculator",
            [[(lms(0.1), 0)], [(ClassificationList(), 0)]])


@settings(max_examples=30, deadline=None)
@given(parts=st.lists(st.lists(st.integers(), max_size=4), min_size=1, max_size=4))
def test_concatenation_is_the_sum_of_the_parts(parts):
    out = run("ConcatenateInt32VectorCalculator", [[(p, 0)] for p in parts])
    assert out[0].value == [x for p in parts for x in p]


def test_mediapipes_registered_names_all_load():
    names = ["ConcatenateFloatVectorCalculator", "ConcatenateInt32VectorCalculator",
             "ConcatenateUInt64VectorCalculator", "ConcatenateBoolVectorCalculator",
             "ConcatenateStringVectorCalculator", "ConcatenateTfLiteTensorVectorCalculator",
             "ConcatenateTensorVectorCalculator", "ConcatenateLandmarkVectorCalculator",
             "ConcatenateLandmarkListVectorCalculator",
             "ConcatenateNormalizedLandmarkListVectorCalculator",
             "ConcatenateLandmarListVectorCalculator",
             "ConcatenateClassificationListVectorCalculator",
             "ConcatenateRenderDataVectorCalculator", "ConcatenateImageVectorCalculator",
             "ConcatenateDetectionVectorCalculator",
             "ConcatenateNormalizedLandmarkListCalculator", "ConcatenateLandmarkListCalculator",
             "ConcatenateClassificationListCalculator"]
    for name in names:
        assert registry.find_calculator(name) is not None, name
        Graph(parse_config(f"""
            input_stream: "a" input_stream: "b"
            node {{ calculator: "{name}" input_stream: "a" input_stream: "b"
                    output_stream: "c"
                    options {{ [mediapipe.ConcatenateVectorCalculatorOptions.ext] {{
                      only_emit_if_all_present: true }} }} }}"""))


def test_a_node_without_inputs_is_rejected():
    with pytest.raises(GraphConfigError, match="connect at least one untagged input"):
        Graph(parse_config('node { calculator: "ConcatenateDetectionVectorCalculator" '
                           'output_stream: "c" }'))
