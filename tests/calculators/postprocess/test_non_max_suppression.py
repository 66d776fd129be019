"""NonMaxSuppressionCalculator: MediaPipe's default and weighted suppression."""

from __future__ import annotations

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.postprocess.non_max_suppression import (
    NmsAlgorithm,
    NonMaxSuppressionCalculatorOptions,
    OverlapType,
)
from mediagraph import GraphConfigError, parse_config
from mediagraph.formats import Detection, RelativeBoundingBox, RelativeKeypoint
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


def det(score, xmin, ymin, size, keypoints=(), label_id=(0,)):
    scores = score if isinstance(score, tuple) else (score,)
    return Detection(label_id=label_id, score=scores,
                     relative_bounding_box=RelativeBoundingBox(xmin, ymin, size, size),
                     relative_keypoints=tuple(RelativeKeypoint(x, y) for x, y in keypoints))


def nms(detections, streams=None, **options):
    runner = CalculatorRunner("NonMaxSuppressionCalculator", options=options)
    inputs = streams if streams is not None else {"": [(detections, 0)]}
    out = runner.run(inputs)[""]
    return out[0].value if out else None


def box(d):
    b = d.relative_bounding_box
    return (b.xmin, b.ymin, b.width, b.height)


def test_default_keeps_the_best_and_drops_overlaps():
    a = det(0.9, 0.1, 0.1, 0.4)
    b = det(0.8, 0.15, 0.1, 0.4)      # IoU with a: 0.35 * 0.4 / (0.16 + 0.16 - 0.14) = 0.78
    c = det(0.7, 0.6, 0.6, 0.3)       # no overlap
    kept = nms([c, b, a], min_suppression_threshold=0.3,
               overlap_type=OverlapType.INTERSECTION_OVER_UNION)
    assert kept == [a, c]
    assert nms([c, b, a], min_suppression_threshold=0.3, max_num_detections=1) == [a]
    assert nms([c, b, a], min_suppression_threshold=0.9,
               overlap_type=OverlapType.INTERSECTION_OVER_UNION) == [a, b, c]


def test_weighted_averages_boxes_and_keypoints_by_score():
    a = det(0.75, 0.10, 0.10, 0.40, keypoints=[(0.2, 0.2)])
    b = det(0.25, 0.14, 0.06, 0.40, keypoints=[(0.4, 0.0)])
    far = det(0.5, 0.7, 0.7, 0.2, keypoints=[(0.8, 0.8)])
    out = nms([b, far, a], min_suppression_threshold=0.3,
              overlap_type=OverlapType.INTERSECTION_OVER_UNION, algorithm=NmsAlgorithm.WEIGHTED)
    assert len(out) == 2
    merged, other = out
    xmin = 0.75 * 0.10 + 0.25 * 0.14
    ymin = 0.75 * 0.10 + 0.25 * 0.06
    xmax = 0.75 * 0.50 + 0.25 * 0.54
    ymax = 0.75 * 0.50 + 0.25 * 0.46
    assert box(merged) == pytest.approx((xmin, ymin, xmax - xmin, ymax - ymin))
    kp = merged.relative_keypoints[0]
    assert (kp.x, kp.y) == pytest.approx((0.75 * 0.2 + 0.25 * 0.4, 0.75 * 0.2 + 0.25 * 0.0))
    assert merged.score == (0.75,)        # the top detection's score is kept
    assert box(other) == pytest.approx(box(far))  # a lone detection averages to itself
    assert other.score == far.score


def test_weighted_with_default_threshold_keeps_only_the_best_as_mediapipe():
    out = nms([det(0.5, 0.0, 0.0, 0.1), det(0.9, 0.5, 0.5, 0.1)],
              algorithm=NmsAlgorithm.WEIGHTED)
    assert [d.score for d in out] == [(0.9,)]


@pytest.mark.parametrize("overlap_type, suppressed", [
    (OverlapType.INTERSECTION_OVER_UNION, False),  # 0.04 / (0.16 + 0.04 - 0.04) = 0.25
    (OverlapType.MODIFIED_JACCARD, True),          # 0.04 / area of the small box = 1.0
    (OverlapType.JACCARD, False),                  # 0.04 / enclosing 0.16 = 0.25
])
def test_overlap_types(overlap_type, suppressed):
    big = det(0.9, 0.0, 0.0, 0.4)
    small = det(0.8, 0.1, 0.1, 0.2)
    out = nms([big, small], min_suppression_threshold=0.5, overlap_type=overlap_type)
    assert out == ([big] if suppressed else [big, small])


def test_jaccard_divides_by_the_enclosing_rectangle():
    a = det(0.9, 0.0, 0.0, 0.2)
    b = det(0.8, 0.1, 0.1, 0.2)  # intersection 0.01; union 0.07; enclosing 0.09
    assert nms([a, b], min_suppression_threshold=0.12, overlap_type=OverlapType.JACCARD) == [a, b]
    assert nms([a, b], min_suppression_threshold=0.12,
               overlap_type=OverlapType.INTERSECTION_OVER_UNION) == [a]


def test_each_detection_keeps_only_its_best_label_and_score_threshold_stops():
    multi = det((0.3, 0.9), 0.0, 0.0, 0.1, label_id=(4, 7))
    out = nms([multi, det(0.2, 0.5, 0.5, 0.1)], min_score_threshold=0.5)
    assert [(d.label_id, d.score) for d in out] == [((7,), (0.9,))]
    assert nms([Detection(score=(0.9,))]) is not None  # no label: dropped, empty list out


def test_two_streams_are_merged_and_empty_input_sends_nothing_by_default():
    a, b = det(0.9, 0.0, 0.0, 0.2), det(0.8, 0.5, 0.5, 0.2)
    streams = {"": [([a], 0), ([], 1)], ":1": [([b], 0)]}
    runner = CalculatorRunner("NonMaxSuppressionCalculator",
                              options={"num_detection_streams": 2})
    out = runner.run(streams)[""]
    assert [p.value for p in out] == [[a, b]]
    runner = CalculatorRunner("NonMaxSuppressionCalculator",
                              options={"num_detection_streams": 2, "return_empty_detections": True})
    out = runner.run(streams)[""]
    assert [p.value for p in out] == [[a, b], []]


@pytest.mark.parametrize("options, message", [
    ({"max_num_detections": 0}, "max_num_detections must be positive"),
    ({"num_detection_streams": 2}, "1 detection streams connected but num_detection_streams is 2"),
])
def test_invalid_options_raise_at_validation(options, message):
    with pytest.raises(GraphConfigError, match=message):
        nms([det(0.9, 0, 0, 0.1)], **options)


def test_mediapipe_text_options_parse():
    config = parse_config("""
        node { calculator: "NonMaxSuppressionCalculator"
               input_stream: "a" output_stream: "b"
               options { [mediapipe.NonMaxSuppressionCalculatorOptions.ext] {
                 min_suppression_threshold: 0.3 overlap_type: INTERSECTION_OVER_UNION
                 algorithm: WEIGHTED } } }""")
    message = config.node[0].options.Extensions[NonMaxSuppressionCalculatorOptions.extension()]
    options = NonMaxSuppressionCalculatorOptions.from_message(message)
    assert NonMaxSuppressionCalculatorOptions.extension_number == 55383100
    assert options.algorithm == NmsAlgorithm.WEIGHTED
    assert options.overlap_type == OverlapType.INTERSECTION_OVER_UNION
