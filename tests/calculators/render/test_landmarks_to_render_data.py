"""LandmarksToRenderDataCalculator: points, connections, visibility, presence, depth."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.render._color import ColorOption
from mediagraph.calculators.render.landmarks_to_render_data import (
    LandmarksToRenderDataCalculatorOptions,
)
from mediagraph import Graph, GraphConfigError, MediaGraphError, parse_config
from mediagraph.formats import (
    Color,
    ImageFrame,
    NormalizedLandmark,
    NormalizedLandmarkList,
)
from mediagraph.testing import CalculatorRunner
from tests.calculators.preprocess._helpers import error_text

pytestmark = pytest.mark.timeout(60)

FLAT = {"visualize_landmark_depth": False}


def landmarks(*points) -> NormalizedLandmarkList:
    return NormalizedLandmarkList(tuple(NormalizedLandmark(*p) if isinstance(p, tuple) else p
                                        for p in points))


def render(value, tag="NORM_LANDMARKS", extra=None, **options):
    runner = CalculatorRunner("LandmarksToRenderDataCalculator", options=options)
    return runner.run({tag: [(value, 0)], **(extra or {})})["RENDER_DATA"][0].value


def test_points_and_connections_with_their_colors():
    data = render(landmarks((0.1, 0.2), (0.5, 0.5), (0.9, 0.8)), landmark_connections=[0, 1, 1, 2],
                  landmark_color=ColorOption(r=255), connection_color=ColorOption(g=255),
                  thickness=2.0, **FLAT)
    lines = [a for a in data.render_annotation if a.kind == "line"]
    points = [a for a in data.render_annotation if a.kind == "point"]
    assert [a.coords for a in lines] == [(0.1, 0.2, 0.5, 0.5), (0.5, 0.5, 0.9, 0.8)]
    assert {a.color for a in lines} == {Color(0, 255, 0)}
    assert [a.coords for a in points] == [(0.1, 0.2), (0.5, 0.5), (0.9, 0.8)]
    assert {a.color for a in points} == {Color(255, 0, 0)}
    assert {a.thickness for a in data.render_annotation} == {2.0}


def test_landmarks_tag_and_render_scale():
    data = render(landmarks((0.1, 0.1)), tag="LANDMARKS", extra={"RENDER_SCALE": [(3.0, 0)]},
                  thickness=2.0, **FLAT)
    assert [a.thickness for a in data.render_annotation] == [6.0]


@pytest.mark.parametrize("field", ["visibility", "presence"])
def test_hidden_landmarks_drop_with_their_connections(field):
    hidden = NormalizedLandmark(0.5, 0.5, **{field: 0.2})
    shown = NormalizedLandmark(0.9, 0.9, **{field: 0.9})
    points = landmarks((0.1, 0.1), hidden, shown)  # the first has no score: shown
    data = render(points, landmark_connections=[0, 1, 1, 2, 0, 2],
                  **{f"utilize_{field}": True, f"{field}_threshold": 0.5}, **FLAT)
    assert [a.coords for a in data.render_annotation if a.kind == "line"] == [(0.1, 0.1, 0.9, 0.9)]
    assert [a.coords for a in data.render_annotation if a.kind == "point"] == [(0.1, 0.1),
                                                                               (0.9, 0.9)]


def test_depth_makes_nearer_points_larger_and_shades_lines():
    data = render(landmarks((0.1, 0.1, -0.5), (0.5, 0.5, 0.0), (0.9, 0.9, 0.5)),
                  landmark_connections=[0, 1, 1, 2], thickness=1.0,
                  min_depth_circle_thickness=2.0, max_depth_circle_thickness=10.0,
                  min_depth_line_color=ColorOption(r=200), max_depth_line_color=ColorOption(b=200))
    sizes = [a.thickness for a in data.render_annotation if a.kind == "point"]
    assert sizes == [10.0, 6.0, 2.0]
    colors = [a.color for a in data.render_annotation if a.kind == "line"]
    assert colors == [Color(150, 0, 50), Color(50, 0, 150)]


@pytest.mark.parametrize("inputs, options, message", [
    ({"NORM_LANDMARKS": [(landmarks((0, 0)), 0)]}, {"landmark_connections": [0, 1, 2]},
     "odd count"),
    ({"NORM_LANDMARKS": [], "LANDMARKS": []}, {}, "exactly one of LANDMARKS or NORM_LANDMARKS"),
    ({"NORM_LANDMARKS": []}, {"landmark_connections": [0, -1]}, "must not be negative"),
])
def test_bad_config_raises_at_validation_naming_the_node(inputs, options, message):
    runner = CalculatorRunner("LandmarksToRenderDataCalculator", options=options)
    with pytest.raises(GraphConfigError, match="under_test") as info:
        runner.run(inputs)
    assert message in str(info.value)


def test_a_pair_beyond_the_landmarks_is_skipped_as_mediapipe_does():
    data = render(landmarks((0.1, 0.1), (0.2, 0.2)), landmark_connections=[0, 1, 1, 4], **FLAT)
    assert [a.coords for a in data.render_annotation if a.kind == "line"] == [(0.1, 0.1, 0.2, 0.2)]


@pytest.mark.parametrize("inputs, options, message", [
    ({"NORM_LANDMARKS": [(np.zeros((2, 3)), 0)]}, {},
     "input NORM_LANDMARKS needs a NormalizedLandmarkList, got ndarray"),
])
def test_bad_inputs_raise_naming_node_and_port(inputs, options, message):
    runner = CalculatorRunner("LandmarksToRenderDataCalculator", options=options)
    with pytest.raises(MediaGraphError) as info:
        runner.run(inputs)
    text = error_text(info.value)
    assert "under_test" in text and message in text


def test_options_parse_with_mediapipe_numbers():
    config = parse_config("""
        node { calculator: "LandmarksToRenderDataCalculator"
               input_stream: "NORM_LANDMARKS:l" output_stream: "RENDER_DATA:r"
               options { [mediapipe.LandmarksToRenderDataCalculatorOptions.ext] {
                 landmark_connections: [0, 1] landmark_color { r: 255 }
                 visualize_landmark_depth: false } } }""")
    ext = LandmarksToRenderDataCalculatorOptions.extension()
    message = config.node[0].options.Extensions[ext]
    assert LandmarksToRenderDataCalculatorOptions.extension_number == 258435389
    assert message.SerializeToString() == bytes([0x08, 0, 0x08, 1, 0x12, 3, 0x08, 0xFF, 0x01,
                                                 0x28, 0])


def test_landmarks_drawn_in_a_graph():
    graph = Graph("""
        input_stream: "frames"
        input_stream: "landmarks"
        output_stream: "annotated"
        node {
          calculator: "LandmarksToRenderDataCalculator"
          input_stream: "NORM_LANDMARKS:landmarks"
          output_stream: "RENDER_DATA:render"
          options { [mediapipe.LandmarksToRenderDataCalculatorOptions.ext] {
            landmark_connections: [0, 1] thickness: 2.0 visualize_landmark_depth: false
            landmark_color { r: 255 } connection_color { g: 255 } } }
        }
        node {
          calculator: "AnnotationOverlayCalculator"
          input_stream: "IMAGE:frames"
          input_stream: "render"
          output_stream: "IMAGE:annotated"
        }""")
    frame = ImageFrame(np.zeros((100, 100, 3), np.uint8))
    result = graph.run({"frames": [(frame, 0)],
                        "landmarks": [(landmarks((0.2, 0.5), (0.8, 0.5)), 0)]}, timeout=30)
    image = result["annotated"][0].value.data
    assert (image[50, 20] == (255, 0, 0)).all() and (image[50, 80] == (255, 0, 0)).all()
    assert (image[50, 50] == (0, 255, 0)).all()  # the connection between them
    assert not image[10].any() and not image[90].any()
