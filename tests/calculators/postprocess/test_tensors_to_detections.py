"""TensorsToDetectionsCalculator: MediaPipe's SSD box decoding on hand-made tensors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.postprocess.tensors_to_detections import (
    BoxFormat,
    TensorsToDetectionsCalculator,
    TensorsToDetectionsCalculatorOptions,
)
from mediagraph import GraphConfigError, MediaGraphError, parse_config
from mediagraph.formats import RelativeBoundingBox
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)

# Two anchors: (x_center, y_center, w, h).
ANCHORS = np.array([[0.25, 0.5, 1.0, 1.0], [0.75, 0.25, 0.5, 0.5]], np.float32)
FACE = {"num_classes": 1, "num_boxes": 2, "num_coords": 8, "box_coord_offset": 0,
        "keypoint_coord_offset": 4, "num_keypoints": 2, "num_values_per_keypoint": 2,
        "x_scale": 100.0, "y_scale": 100.0, "w_scale": 100.0, "h_scale": 100.0}


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def decode(boxes, scores, anchors=ANCHORS, **options):
    runner = CalculatorRunner("TensorsToDetectionsCalculator", options={**FACE, **options})
    tensors = [np.asarray(boxes, np.float32)[None], np.asarray(scores, np.float32)[None]]
    out = runner.run({"TENSORS": [(tensors, 0)]}, {"ANCHORS": anchors})
    return out["DETECTIONS"][0].value


def test_xywh_boxes_and_keypoints_decode_against_their_anchor():
    boxes = [[10, -20, 50, 40, 5, 5, -10, 0],   # x, y, w, h, kp0 (x, y), kp1 (x, y)
             [0, 0, 100, 100, 0, 0, 0, 0]]
    detections = decode(boxes, [[logit(0.9)], [logit(0.2)]], reverse_output_order=True,
                        sigmoid_score=True, min_score_thresh=0.5)
    assert len(detections) == 1
    d = detections[0]
    # centre = raw / scale * anchor size + anchor centre; size = raw / scale * anchor size.
    cx, cy, w, h = 0.25 + 0.1, 0.5 - 0.2, 0.5, 0.4
    box = d.relative_bounding_box
    assert box.xmin == pytest.approx(cx - w / 2) and box.ymin == pytest.approx(cy - h / 2)
    assert box.width == pytest.approx(w) and box.height == pytest.approx(h)
    assert [(p.x, p.y) for p in d.relative_keypoints] == [
        pytest.approx((0.30, 0.55)), pytest.approx((0.15, 0.5))]
    assert d.score == (pytest.approx(0.9),) and d.label_id == (0,)


def test_default_order_is_yxhw_and_keypoints_yx():
    boxes = [[10, -20, 50, 40, 5, -5, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]]
    d = decode(boxes, [[1.0], [0.0]], min_score_thresh=0.5)[0]
    cy, cx, h, w = 0.5 + 0.1, 0.25 - 0.2, 0.5, 0.4
    box = d.relative_bounding_box
    assert (box.xmin, box.ymin, box.width, box.height) == pytest.approx(
        (cx - w / 2, cy - h / 2, w, h))
    assert (d.relative_keypoints[0].x, d.relative_keypoints[0].y) == pytest.approx((0.2, 0.55))


def test_exponential_box_size_and_second_anchor_scaling():
    boxes = [[0] * 8, [20, 40, math.log(2) * 100, 0, 0, 0, 0, 0]]
    d = decode(boxes, [[0.0], [1.0]], box_format=BoxFormat.XYWH,
               apply_exponential_on_box_size=True, min_score_thresh=0.5)[0]
    # Anchor 2: centre (0.75, 0.25), size 0.5: w = exp(ln 2) * 0.5, h = exp(0) * 0.5.
    box = d.relative_bounding_box
    assert (box.width, box.height) == pytest.approx((1.0, 0.5))
    assert (box.xmin + box.width / 2, box.ymin + box.height / 2) == pytest.approx(
        (0.75 + 0.1, 0.25 + 0.2))


def test_score_clipping_bounds_the_logit_before_the_sigmoid():
    d = decode([[0] * 8] * 2, [[1000.0], [-1000.0]], sigmoid_score=True,
               score_clipping_thresh=2.0)
    assert [x.score[0] for x in d] == pytest.approx([1 / (1 + math.exp(-2)),
                                                     1 / (1 + math.exp(2))])


def test_flip_vertically_mirrors_boxes_and_keypoints():
    boxes = [[0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 20, 10, 0, 10, 0, 0]]
    d = decode(boxes, [[0.0], [1.0]], reverse_output_order=True, flip_vertically=True,
               min_score_thresh=0.5)[0]
    box = d.relative_bounding_box
    # Unflipped: y from 0.25 - 0.025 to 0.25 + 0.025; flipped ymin = 1 - ymax.
    assert box.ymin == pytest.approx(1 - 0.275) and box.height == pytest.approx(0.05)
    assert d.relative_keypoints[0].y == pytest.approx(1 - (0.25 + 0.05))


def test_negative_sizes_are_dropped_and_max_results_caps_in_anchor_order():
    boxes = [[0, 0, -10, 10, 0, 0, 0, 0], [0, 0, 10, 10, 0, 0, 0, 0]]
    assert len(decode(boxes, [[1.0], [1.0]], reverse_output_order=True)) == 1
    boxes[0][2] = 10
    only = decode(boxes, [[0.7], [0.9]], reverse_output_order=True, max_results=1)
    assert [d.score[0] for d in only] == [pytest.approx(0.7)]


def test_ignored_and_allowed_classes_pick_the_best_remaining_class():
    options = dict(FACE, num_classes=3)
    scores = [[0.9, 0.5, 0.7], [0.1, 0.2, 0.3]]
    boxes = [[0, 0, 10, 10, 0, 0, 0, 0]] * 2
    ignored = decode(boxes, scores, **{**options, "ignore_classes": [0]})
    assert [(d.label_id, d.score) for d in ignored] == [
        ((2,), (pytest.approx(0.7),)), ((2,), (pytest.approx(0.3),))]
    allowed = decode(boxes, scores, **{**options, "allow_classes": [1]})
    assert [d.label_id for d in allowed] == [(1,), (1,)]
    top2 = decode(boxes, scores, **{**options, "max_classes_per_detection": 2})
    assert top2[0].label_id == (0, 2)


def test_anchors_tensor_replaces_the_side_packet():
    runner = CalculatorRunner("TensorsToDetectionsCalculator",
                              options=dict(FACE, reverse_output_order=True))
    boxes = np.zeros((1, 2, 8), np.float32)
    anchors_yxhw = ANCHORS[:, [1, 0, 3, 2]]
    out = runner.run({"TENSORS": [([boxes, np.ones((1, 2, 1), np.float32), anchors_yxhw], 0)]})
    centres = [(d.relative_bounding_box.xmin, d.relative_bounding_box.ymin)
               for d in out["DETECTIONS"][0].value]
    assert centres == [pytest.approx((0.25, 0.5)), pytest.approx((0.75, 0.25))]


def test_postprocessed_model_outputs_are_read_as_boxes():
    runner = CalculatorRunner("TensorsToDetectionsCalculator",
                              options={"num_classes": 3, "num_coords": 4, "min_score_thresh": 0.5})
    # Boxes as ymin, xmin, ymax, xmax.
    boxes = np.array([[[0.1, 0.2, 0.5, 0.6], [0.0, 0.0, 1.0, 1.0]]], np.float32)
    classes = np.array([[2.0, 1.0]], np.float32)
    scores = np.array([[0.8, 0.3]], np.float32)
    count = np.array([2.0], np.float32)
    out = runner.run({"TENSORS": [([boxes, classes, scores, count], 0)]})
    (d,) = out["DETECTIONS"][0].value
    box = d.relative_bounding_box
    assert (box.xmin, box.ymin, box.width, box.height) == pytest.approx((0.2, 0.1, 0.4, 0.4))
    assert d.label_id == (2,)


def test_many_anchors_decode_without_per_anchor_python():
    n = 20000
    rng = np.random.default_rng(0)
    anchors = np.column_stack([rng.random(n), rng.random(n), np.ones(n), np.ones(n)])
    scores = np.full((n, 1), -10.0)
    scores[[5, 777]] = 10.0
    raw = rng.normal(size=(n, 8)) * 5
    raw[:, 2:4] = np.abs(raw[:, 2:4])  # positive sizes: negative ones are dropped
    d = decode(raw, scores, anchors=anchors.astype(np.float32),
               **{**FACE, "num_boxes": n, "sigmoid_score": True, "min_score_thresh": 0.5})
    assert len(d) == 2


@pytest.mark.parametrize("options, message", [
    ({"num_coords": 9}, "num_coords"),
    ({"max_results": 0}, "max_results"),
    ({"num_values_per_keypoint": 3}, "2-D keypoints"),
    ({"ignore_classes": [0], "allow_classes": [0]}, "mutually exclusive"),
])
def test_inconsistent_options_raise_at_validation(options, message):
    with pytest.raises(GraphConfigError, match=message):
        decode([[0] * 8] * 2, [[0.0], [0.0]], **options)


def test_missing_anchors_raise():
    runner = CalculatorRunner("TensorsToDetectionsCalculator", options=FACE)
    with pytest.raises(MediaGraphError, match="ANCHORS"):
        runner.run({"TENSORS": [([np.zeros((1, 2, 8), np.float32),
                                  np.zeros((1, 2, 1), np.float32)], 0)]})


def test_mediapipe_text_options_parse():
    config = parse_config("""
        node { calculator: "TensorsToDetectionsCalculator"
               input_stream: "TENSORS:t" input_side_packet: "ANCHORS:a"
               output_stream: "DETECTIONS:d"
               options { [mediapipe.TensorsToDetectionsCalculatorOptions.ext] {
                 num_classes: 1 num_boxes: 896 num_coords: 16 keypoint_coord_offset: 4
                 num_keypoints: 6 sigmoid_score: true score_clipping_thresh: 100.0
                 reverse_output_order: true x_scale: 128.0 min_score_thresh: 0.5
                 box_format: XYWH tensor_mapping { detections_tensor_index: 0 } } } }""")
    message = config.node[0].options.Extensions[
        TensorsToDetectionsCalculatorOptions.extension()]
    options = TensorsToDetectionsCalculatorOptions.from_message(message)
    assert TensorsToDetectionsCalculatorOptions.extension_number == 335742639
    assert options.box_format == BoxFormat.XYWH and options.min_score_thresh == 0.5
    assert options.tensor_mapping.detections_tensor_index == 0
    assert options.tensor_mapping.scores_tensor_index is None


_THRESHOLDS = st.sampled_from([None, 0.0, 0.1, 0.5, 0.75, 0.9999, 1.0])


@settings(max_examples=150, deadline=None)
@given(data=st.data(), sigmoid=st.booleans(), threshold=_THRESHOLDS,
       clipping=st.sampled_from([None, 0.05, 2.0, 100.0]), classes=st.integers(1, 3),
       ignore=st.sampled_from([[], [0], [1]]))
def test_the_raw_score_cut_keeps_exactly_the_detections_of_the_full_decode(
        data, sigmoid, threshold, clipping, classes, ignore):
    # Rows under the threshold are cut on the raw scores before any decoding; the
    # detections must be exactly those of decoding every row, boundary scores included.
    n = 12
    near = []
    if threshold is not None and 0 < threshold < 1:
        edge = logit(threshold) if sigmoid else threshold
        near = [edge, float(np.nextafter(np.float32(edge), np.float32(-np.inf))),
                float(np.nextafter(np.float32(edge), np.float32(np.inf)))]
    score = st.one_of(st.floats(-30, 30, width=32), st.sampled_from(near or [0.0]),
                      st.sampled_from([float("nan"), float("inf"), -float("inf")]))
    scores = np.array(data.draw(st.lists(st.lists(score, min_size=classes, max_size=classes),
                                         min_size=n, max_size=n)), np.float32)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    boxes = rng.normal(size=(n, 8)).astype(np.float32) * 20
    boxes[:, 2:4] = np.abs(boxes[:, 2:4])
    anchors = rng.random((n, 4)).astype(np.float32)
    options = {**FACE, "num_boxes": n, "num_classes": classes, "sigmoid_score": sigmoid,
               "ignore_classes": [c for c in ignore if c < classes]}
    if threshold is not None:
        options["min_score_thresh"] = threshold
    if clipping is not None:
        options["score_clipping_thresh"] = clipping
    fast = decode(boxes, scores, anchors=anchors, **options)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TensorsToDetectionsCalculator, "_candidate_rows", lambda self, s: None)
        full = decode(boxes, scores, anchors=anchors, **options)
    assert fast == full


def _per_box_reference(raw, anchors, fmt, exp, offset, k_offset, k, opts):
    """MediaPipe's DecodeBoxes loop, one box at a time in float32 scalars."""
    f = np.float32
    boxes, points = [], []
    for row, (ax, ay, aw, ah) in zip(raw, anchors):
        a, b, c, d = (row[offset + i] for i in range(4))
        if fmt == BoxFormat.XYWH:
            x, y, w, h = a, b, c, d
        elif fmt == BoxFormat.XYXY:
            x, y, w, h = (c - a) / f(2), (d - b) / f(2), c + a, d + b
        else:
            y, x, h, w = a, b, c, d
        xc = x / f(opts["x_scale"]) * aw + ax
        yc = y / f(opts["y_scale"]) * ah + ay
        if exp:
            h, w = np.exp(h / f(opts["h_scale"])) * ah, np.exp(w / f(opts["w_scale"])) * aw
        else:
            h, w = h / f(opts["h_scale"]) * ah, w / f(opts["w_scale"]) * aw
        boxes.append([yc - h / f(2), xc - w / f(2), yc + h / f(2), xc + w / f(2)])
        kps = []
        for j in range(k):
            u, v = row[k_offset + 2 * j], row[k_offset + 1 + 2 * j]
            kx, ky = (u, v) if fmt in (BoxFormat.XYWH, BoxFormat.XYXY) else (v, u)
            kps.append([kx / f(opts["x_scale"]) * aw + ax, ky / f(opts["y_scale"]) * ah + ay])
        points.append(kps)
    return np.array(boxes, np.float32), np.array(points, np.float32).reshape(len(raw), k, 2)


@given(st.integers(1, 6), st.sampled_from([BoxFormat.XYWH, BoxFormat.YXHW, BoxFormat.XYXY]),
       st.booleans(), st.booleans(), st.integers(0, 3), st.integers(0, 2**32 - 1))
@settings(max_examples=80, deadline=None)
def test_box_decoding_matches_the_per_box_float32_loop_to_the_bit(rows, fmt, exp,
                                                                   keypoints_first, k, seed):
    rng = np.random.default_rng(seed)
    coords = 4 + 2 * k
    offset, k_offset = (2 * k, 0) if keypoints_first else (0, 4)
    raw = (rng.standard_normal((rows, coords)) * 40).astype(np.float32)
    anchors = rng.uniform(0.05, 1.0, (rows, 4)).astype(np.float32)
    scales = {"x_scale": 128.0, "y_scale": 96.0, "w_scale": 100.0, "h_scale": 50.0}
    options = {**FACE, **scales, "num_boxes": rows, "num_coords": coords,
               "box_coord_offset": offset, "keypoint_coord_offset": k_offset,
               "num_keypoints": k, "box_format": fmt, "apply_exponential_on_box_size": exp}
    runner = CalculatorRunner("TensorsToDetectionsCalculator", options=options)
    scores = np.ones((1, rows, 1), np.float32)
    out = runner.run({"TENSORS": [([raw[None], scores], 0)]}, {"ANCHORS": anchors})
    got = [(d.relative_bounding_box, [(p.x, p.y) for p in d.relative_keypoints])
           for d in out["DETECTIONS"][0].value]
    want_boxes, want_points = _per_box_reference(raw, anchors, fmt, exp, offset, k_offset, k,
                                                  scales)
    want = []
    for (ymin, xmin, ymax, xmax), points in zip(want_boxes.tolist(), want_points.tolist()):
        if xmax - xmin >= 0 and ymax - ymin >= 0:
            want.append((RelativeBoundingBox(xmin, ymin, xmax - xmin, ymax - ymin),
                         [tuple(p) for p in points]))
    assert got == want
