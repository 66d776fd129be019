"""NonMaxSuppressionCalculator: keep the best of overlapping detections, or blend them."""

from __future__ import annotations

import dataclasses
import enum

import numpy as np

from mediagraph import (
    Calculator,
    CalculatorContext,
    Input,
    Inputs,
    NodeConfig,
    Options,
    Output,
    option,
)
from mediagraph.formats import Detection, RelativeBoundingBox, keypoint_array, moved_keypoints


class OverlapType(enum.IntEnum):
    """`NonMaxSuppressionCalculatorOptions.OverlapType`."""

    UNSPECIFIED_OVERLAP_TYPE = 0
    JACCARD = 1
    MODIFIED_JACCARD = 2
    INTERSECTION_OVER_UNION = 3


class NmsAlgorithm(enum.IntEnum):
    """`NonMaxSuppressionCalculatorOptions.NmsAlgorithm`."""

    DEFAULT = 0
    WEIGHTED = 1


class NonMaxSuppressionCalculatorOptions(
        Options, proto_name="mediapipe.NonMaxSuppressionCalculatorOptions", extension=55383100):
    """MediaPipe's `non_max_suppression_calculator.proto` (numbers and defaults)."""

    num_detection_streams: int = option(1, default=1)
    max_num_detections: int = option(2, default=-1)
    min_suppression_threshold: float = option(3, default=1.0)
    overlap_type: OverlapType = option(4, default=OverlapType.JACCARD)
    return_empty_detections: bool = option(5, default=False)
    min_score_threshold: float = option(6, default=-1.0)
    algorithm: NmsAlgorithm = option(7, default=NmsAlgorithm.DEFAULT)

    def check(self) -> None:
        if self.num_detection_streams <= 0:
            raise ValueError("num_detection_streams must be at least 1")
        if self.max_num_detections == 0:
            raise ValueError("max_num_detections must be positive, or -1 for no limit")
        if self.overlap_type == OverlapType.UNSPECIFIED_OVERLAP_TYPE:
            raise ValueError("overlap_type must be JACCARD, MODIFIED_JACCARD or "
                             "INTERSECTION_OVER_UNION")


class NonMaxSuppressionCalculator(Calculator):
    """Non-maximum suppression over the detections of one or more streams.

    Each detection first keeps only its best-scoring label. Then, by decreasing score:
    DEFAULT keeps a detection unless it overlaps a kept one by more than
    `min_suppression_threshold`; WEIGHTED takes the best remaining detection, gathers
    every remaining one overlapping it by more than the threshold (itself included), and
    emits it with box and keypoints replaced by their score-weighted average. Detections
    under `min_score_threshold` (when > 0) end the search. Overlap is measured on the
    relative boxes: INTERSECTION_OVER_UNION is intersection over union, JACCARD
    intersection over the enclosing rectangle (MediaPipe's Rectangle::Union),
    MODIFIED_JACCARD intersection over the area of the candidate box.

    As in MediaPipe, WEIGHTED with the default threshold 1.0 keeps only the best
    detection (nothing overlaps by more than 1.0, so the search stops after one round).
    Unlike MediaPipe, WEIGHTED also honours `max_num_detections`.

    Inputs:  untagged 0..num_detection_streams-1 (list of Detection; absent ones skipped);
             IMAGE (ImageFrame, optional, ignored: boxes are already relative)
    Outputs: untagged (list of Detection); nothing when there were no detections unless
             `return_empty_detections`
    Options: NonMaxSuppressionCalculatorOptions (ext 55383100): num_detection_streams,
             max_num_detections, min_score_threshold, min_suppression_threshold,
             overlap_type (JACCARD, MODIFIED_JACCARD, INTERSECTION_OVER_UNION),
             return_empty_detections, algorithm (DEFAULT, WEIGHTED)

    Example config:
        node {
          calculator: "NonMaxSuppressionCalculator"
          input_stream: "unfiltered_detections"
          output_stream: "filtered_detections"
          options { [mediapipe.NonMaxSuppressionCalculatorOptions.ext] {
            min_suppression_threshold: 0.3
            overlap_type: INTERSECTION_OVER_UNION
            algorithm: WEIGHTED } }
        }
    """

    Options = NonMaxSuppressionCalculatorOptions

    detections = Inputs(list, tag="")
    image = Input(tag="IMAGE", optional=True)
    out = Output(list, tag="")

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        wanted = node.options.num_detection_streams
        if node.count(cls.detections) != wanted:
            raise ValueError(f"{node.count(cls.detections)} detection streams connected but "
                             f"num_detection_streams is {wanted}")

    def process(self, cc: CalculatorContext) -> None:
        detections: list[Detection] = []
        for value in cc.get(self.detections):
            if value:
                detections.extend(value)
        if not detections:
            if self.options.return_empty_detections:
                cc.send(self.out, [])
            return
        cc.send(self.out, suppress(detections, self.options))


def suppress(detections: list[Detection], options: NonMaxSuppressionCalculatorOptions
             ) -> list[Detection]:
    """MediaPipe's non-max suppression of `detections` under `options`."""
    pruned = [d for d in (_best_label_only(d) for d in detections) if d is not None]
    if not pruned:
        return []
    scores = np.array([d.score[0] for d in pruned], np.float64)
    # Stable descending sort: equal scores keep their input order, as std::sort in
    # practice does for the handful of detections seen here.
    order = np.argsort(-scores, kind="stable")
    boxes = np.array([_corners(d) for d in pruned], np.float64)
    limit = options.max_num_detections if options.max_num_detections > -1 else len(pruned)
    if options.algorithm == NmsAlgorithm.WEIGHTED:
        return _weighted(pruned, scores, order, boxes, limit, options)
    return _default(pruned, scores, order, boxes, limit, options)


def _default(detections: list[Detection], scores: np.ndarray, order: np.ndarray,
             boxes: np.ndarray, limit: int, options: NonMaxSuppressionCalculatorOptions
             ) -> list[Detection]:
    kept: list[int] = []
    for index in order:
        if options.min_score_threshold > 0 and scores[index] < options.min_score_threshold:
            break
        if kept:
            similarity = _overlap(boxes[kept], boxes[index], options.overlap_type)
            if (similarity > options.min_suppression_threshold).any():
                continue
        kept.append(int(index))
        if len(kept) >= limit:
            break
    return [detections[i] for i in kept]


def _weighted(detections: list[Detection], scores: np.ndarray, order: np.ndarray,
              boxes: np.ndarray, limit: int, options: NonMaxSuppressionCalculatorOptions
              ) -> list[Detection]:
    out: list[Detection] = []
    remaining = order
    while len(remaining) and len(out) < limit:
        top = int(remaining[0])
        if options.min_score_threshold > 0 and scores[top] < options.min_score_threshold:
            break
        # MediaPipe measures overlap(rest, top): for MODIFIED_JACCARD the top box's area.
        similarity = _overlap_one_to_many(boxes[remaining], boxes[top], options.overlap_type)
        close = similarity > options.min_suppression_threshold
        candidates = remaining[close]
        detection = detections[top]
        if len(candidates):
            weights = scores[candidates]
            total = weights.sum()
            xmin, ymin, xmax, ymax = (weights @ boxes[candidates]) / total
            box = RelativeBoundingBox(xmin=float(xmin), ymin=float(ymin),
                                      width=float(xmax - xmin), height=float(ymax - ymin))
            points = detection.relative_keypoints
            if points:
                stacked = np.stack([keypoint_array(detections[c].relative_keypoints)
                                    for c in candidates])
                averaged = np.tensordot(weights, stacked, axes=1) / total
                points = moved_keypoints(points, averaged)
            detection = dataclasses.replace(detection, relative_bounding_box=box,
                                            relative_keypoints=points)
        out.append(detection)
        rest = remaining[~close]
        if len(rest) == len(remaining):
            break
        remaining = rest
    return out


def _best_label_only(detection: Detection) -> Detection | None:
    """The detection with only its best score and label (None without labels)."""
    if not detection.label_id and not detection.label:
        return None
    if detection.relative_bounding_box is None:
        raise ValueError("non-max suppression needs detections with a relative_bounding_box")
    if len(detection.score) == 1:
        return detection
    best = max(range(len(detection.score)), key=lambda k: (detection.score[k], -k))
    if len(detection.label_id) > best:
        return dataclasses.replace(detection, score=(detection.score[best],),
                                   label_id=(detection.label_id[best],), label=())
    return dataclasses.replace(detection, score=(detection.score[best],),
                               label=(detection.label[best],), label_id=())


def _corners(detection: Detection) -> tuple[float, float, float, float]:
    box = detection.relative_bounding_box
    return box.xmin, box.ymin, box.xmin + box.width, box.ymin + box.height


def _intersection(boxes: np.ndarray, box: np.ndarray) -> np.ndarray:
    width = np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0])
    height = np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1])
    return np.where((width >= 0) & (height >= 0), width * height, 0.0)


def _area(boxes: np.ndarray) -> np.ndarray:
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def _overlap(kept: np.ndarray, box: np.ndarray, overlap_type: OverlapType) -> np.ndarray:
    """Similarity of each kept box (rect1) with `box` (rect2), MediaPipe's argument order."""
    inter = _intersection(kept, box)
    if overlap_type == OverlapType.MODIFIED_JACCARD:
        norm = np.full(len(kept), _area(box))
    elif overlap_type == OverlapType.JACCARD:
        # MediaPipe's Rectangle::Union is the enclosing rectangle, not the set union.
        enclosing = np.stack([np.minimum(kept[:, 0], box[0]), np.minimum(kept[:, 1], box[1]),
                              np.maximum(kept[:, 2], box[2]), np.maximum(kept[:, 3], box[3])],
                             axis=1)
        norm = _area(enclosing)
    else:
        norm = _area(kept) + _area(box) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(norm > 0, inter / norm, 0.0)


def _overlap_one_to_many(rest: np.ndarray, top: np.ndarray, overlap_type: OverlapType
                         ) -> np.ndarray:
    """Similarity of each remaining box (rect1) with the top box (rect2)."""
    return _overlap(rest, top, overlap_type)


