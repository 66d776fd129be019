"""DetectionsToRenderDataCalculator: boxes, label lines and keypoints as annotations."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.render._color import ColorOption, TextOption
from mediagraph.calculators.render.detections_to_render_data import (
    DetectionsToRenderDataCalculatorOptions,
)
from mediagraph import Graph, GraphConfigError, MediaGraphError, parse_config
from mediagraph.formats import (
    Color,
    Detection,
    ImageFrame,
    RelativeBoundingBox,
    RelativeKeypoint,
    RenderData,
)
from mediagraph.testing import CalculatorRunner, timestamps
from tests.calculators.preprocess._helpers import error_text

pytestmark = pytest.mark.timeout(60)

FACE = Detection(label=("face", "person"), score=(0.9123, 0.5), detection_id=7,
                 relative_bounding_box=RelativeBoundingBox(0.25, 0.2, 0.5, 0.6),
                 relative_keypoints=(RelativeKeypoint(0.4, 0.4), RelativeKeypoint(0.6, 0.4)))


def render(inputs, **options) -> list:
    runner = CalculatorRunner("DetectionsToRenderDataCalculator", options=options)
    return runner.run(inputs)["RENDER_DATA"]


def by_kind(data: RenderData, kind: str) -> list:
    return [a for a in data.render_annotation if a.kind == kind]


def test_box_labels_and_keypoints_become_annotations():
    red = ColorOption(r=255)
    data = render({"DETECTIONS": [([FACE], 0)]}, color=red, thickness=3.0)[0].value
    assert data.scene_class == "DETECTION"
    [box] = by_kind(data, "rectangle")
    assert box.coords == pytest.approx((0.25, 0.2, 0.75, 0.8)) and box.normalized
    assert box.color == Color(255, 0, 0) and box.thickness == 3.0
    [text] = by_kind(data, "text")
    assert text.text == "face,0.912,person,0.5"
    assert text.coords[0] == 0.25 and text.coords[1] > 0.2  # inside the box's top-left
    assert [a.coords for a in by_kind(data, "point")] == [(0.4, 0.4), (0.6, 0.4)]


def test_one_label_per_line_ids_and_detection_id():
    detection = Detection(label_id=(3, 5), score=(0.25, 0.75), detection_id=7,
                          relative_bounding_box=RelativeBoundingBox(0.1, 0.1, 0.2, 0.2))
    text_options = TextOption(font_height=0.05, normalized=True)
    data = render({"DETECTION": [(detection, 0)]}, one_label_per_line=True,
                  render_detection_id=True, text_delimiter=":", text=text_options)[0].value
    lines = by_kind(data, "text")
    assert [a.text for a in lines] == ["Id: 7", "3:0.25", "5:0.75"]
    assert [a.coords[1] for a in lines] == pytest.approx([0.15, 0.2, 0.25])
    assert all(a.font_height == 0.05 for a in lines)


def test_single_and_list_inputs_combine():
    other = Detection(relative_bounding_box=RelativeBoundingBox(0, 0, 0.1, 0.1))
    data = render({"DETECTION": [(other, 0)], "DETECTIONS": [([FACE], 0)]})[0].value
    assert len(by_kind(data, "rectangle")) == 2


@pytest.mark.parametrize("produce_empty, expected", [(True, [0, 1]), (False, [1])])
def test_empty_detections_follow_produce_empty_packet(produce_empty, expected):
    out = render({"DETECTIONS": [([], 0), ([FACE], 1)]}, produce_empty_packet=produce_empty)
    assert timestamps(out) == expected
    if produce_empty:
        assert out[0].value.render_annotation == ()


def test_no_input_raises_at_validation_naming_the_node():
    with pytest.raises(GraphConfigError, match="under_test") as info:
        render({})
    assert "connect DETECTION or DETECTIONS" in str(info.value)


@pytest.mark.parametrize("inputs, message", [
    ({"DETECTIONS": [(FACE, 0)]}, "input DETECTIONS needs a list of Detection, got Detection"),
    ({"DETECTIONS": [(["face"], 0)]}, "detection 0 is a str, not a Detection"),
])
def test_bad_inputs_raise_naming_node_and_port(inputs, message):
    with pytest.raises(MediaGraphError) as info:
        render(inputs)
    text = error_text(info.value)
    assert "under_test" in text and message in text


def test_options_parse_with_mediapipe_numbers():
    config = parse_config("""
        node { calculator: "DetectionsToRenderDataCalculator"
               input_stream: "DETECTIONS:d" output_stream: "RENDER_DATA:r"
               options { [mediapipe.DetectionsToRenderDataCalculatorOptions.ext] {
                 thickness: 4.0 color { r: 255 g: 0 b: 0 } scene_class: "FACES" } } }""")
    ext = DetectionsToRenderDataCalculatorOptions.extension()
    message = config.node[0].options.Extensions[ext]
    assert DetectionsToRenderDataCalculatorOptions.extension_number == 248360806
    opts = DetectionsToRenderDataCalculatorOptions.from_message(message)
    assert opts.thickness == 4.0 and opts.color == ColorOption(r=255) and opts.scene_class == "FACES"
    assert message.SerializeToString().startswith(bytes([0x29]))  # field 5, double


def test_detections_drawn_in_a_graph():
    graph = Graph("""
        input_stream: "frames"
        input_stream: "detections"
        output_stream: "annotated"
        node {
          calculator: "DetectionsToRenderDataCalculator"
          input_stream: "DETECTIONS:detections"
          output_stream: "RENDER_DATA:render"
          options { [mediapipe.DetectionsToRenderDataCalculatorOptions.ext] {
            thickness: 1.0 color { r: 255 g: 0 b: 0 } } }
        }
        node {
          calculator: "AnnotationOverlayCalculator"
          input_stream: "IMAGE:frames"
          input_stream: "render"
          output_stream: "IMAGE:annotated"
        }""")
    frame = ImageFrame(np.zeros((100, 200, 3), np.uint8))
    box = Detection(relative_bounding_box=RelativeBoundingBox(0.25, 0.2, 0.5, 0.6))
    result = graph.run({"frames": [(frame, 0), (frame, 1)],
                        "detections": [([box], 0)]}, timeout=30)
    first, second = (p.value.data for p in result["annotated"])
    assert (first[20, 50:151] == (255, 0, 0)).all()   # top edge, x 50..150
    assert (first[20:81, 50] == (255, 0, 0)).all()    # left edge, y 20..80
    assert not first[21:80, 51:150].any()             # hollow inside
    assert not second.any()  # no detections at 1: frame passes undrawn
