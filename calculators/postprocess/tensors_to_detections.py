"""TensorsToDetectionsCalculator: decode an SSD model's raw boxes and scores into Detections."""

from __future__ import annotations

import enum
import math
from typing import Any

import numpy as np

from mediagraph import (
    Calculator,
    CalculatorContext,
    Input,
    NodeConfig,
    Options,
    Output,
    SideInput,
    option,
)
from mediagraph.formats import Detection, Keypoints, RelativeBoundingBox

# Logit-space slack of the raw-score cut: far above float32 sigmoid rounding (~1e-7).
_LOGIT_MARGIN = 1e-2


class BoxFormat(enum.IntEnum):
    """`TensorsToDetectionsCalculatorOptions.BoxFormat`; UNSPECIFIED reads as YXHW."""

    UNSPECIFIED = 0
    YXHW = 1
    XYWH = 2
    XYXY = 3


class TensorMapping(Options,
                    proto_name="mediapipe.TensorsToDetectionsCalculatorOptions_TensorMapping"):
    """Which output tensor holds what (MediaPipe's nested `TensorMapping`)."""

    detections_tensor_index: int | None = option(1, default=None, proto="int32")
    classes_tensor_index: int | None = option(2, default=None, proto="int32")
    scores_tensor_index: int | None = option(3, default=None, proto="int32")
    num_detections_tensor_index: int | None = option(4, default=None, proto="int32")
    anchors_tensor_index: int | None = option(5, default=None, proto="int32")


class BoxBoundariesIndices(
        Options, proto_name="mediapipe.TensorsToDetectionsCalculatorOptions_BoxBoundariesIndices"):
    """Order of {ymin, xmin, ymax, xmax} in a post-processed model's box tensor."""

    ymin: int = option(1, default=0)
    xmin: int = option(2, default=1)
    ymax: int = option(3, default=2)
    xmax: int = option(4, default=3)


class TensorsToDetectionsCalculatorOptions(
        Options, proto_name="mediapipe.TensorsToDetectionsCalculatorOptions", extension=335742639):
    """MediaPipe's `tensors_to_detections_calculator.proto` (numbers and defaults)."""

    num_classes: int | None = option(1, default=None, proto="int32")
    num_boxes: int = option(2, default=0)
    num_coords: int | None = option(3, default=None, proto="int32")
    x_scale: float = option(4, default=0.0)
    y_scale: float = option(5, default=0.0)
    w_scale: float = option(6, default=0.0)
    h_scale: float = option(7, default=0.0)
    ignore_classes: tuple[int, ...] = option(8, default=())
    keypoint_coord_offset: int = option(9, default=0)
    num_keypoints: int = option(10, default=0)
    num_values_per_keypoint: int = option(11, default=2)
    box_coord_offset: int = option(12, default=0)
    apply_exponential_on_box_size: bool = option(13, default=False)
    reverse_output_order: bool = option(14, default=False)
    sigmoid_score: bool = option(15, default=False)
    score_clipping_thresh: float | None = option(16, default=None, proto="float")
    flip_vertically: bool = option(18, default=False)
    min_score_thresh: float | None = option(19, default=None, proto="float")
    max_results: int = option(20, default=-1)
    allow_classes: tuple[int, ...] = option(21, default=())
    tensor_mapping: TensorMapping = option(22, default=None)
    box_boundaries_indices: BoxBoundariesIndices = option(23, default=None)
    box_format: BoxFormat = option(24, default=None, doc="unset: from reverse_output_order")
    max_classes_per_detection: int = option(25, default=1)

    def check(self) -> None:
        if self.num_classes is None or self.num_coords is None:
            raise ValueError("options num_classes and num_coords are required")
        if self.max_results == 0:
            raise ValueError("max_results must be non-zero (-1: no limit)")
        if self.num_values_per_keypoint != 2:
            raise ValueError("only 2-D keypoints are supported (num_values_per_keypoint: 2)")
        if self.num_keypoints * self.num_values_per_keypoint + 4 != self.num_coords:
            raise ValueError(f"num_coords {self.num_coords} must be 4 + num_keypoints * "
                             f"num_values_per_keypoint = "
                             f"{4 + self.num_keypoints * self.num_values_per_keypoint}")
        if self.allow_classes and self.ignore_classes:
            raise ValueError("ignore_classes and allow_classes are mutually exclusive")
        if self.tensor_mapping is not None:
            _check_mapping(self.tensor_mapping)
        boundaries = self.box_boundaries_indices
        if boundaries is not None:
            order = (boundaries.ymin, boundaries.xmin, boundaries.ymax, boundaries.xmax)
            if sorted(order) != [0, 1, 2, 3]:
                raise ValueError(f"box_boundaries_indices {order} must cover 0, 1, 2 and 3")


class TensorsToDetectionsCalculator(Calculator):
    """Turn a detection model's output tensors into Detections (relative coordinates).

    With 2 tensors (raw boxes 1xNxC, scores 1xNxK) or 3 (plus anchors Nx4 as
    y_center, x_center, h, w), boxes are decoded against the anchors as MediaPipe does:
    centre = raw / scale * anchor size + anchor centre; size = raw / scale * anchor size
    (or exp(raw / scale) * anchor size with `apply_exponential_on_box_size`); keypoints
    like centres. Scores optionally go through a clipped sigmoid; each box keeps its best
    allowed class (or its `max_classes_per_detection` best), boxes under
    `min_score_thresh` or with a negative/NaN size are dropped, and at most `max_results`
    detections come out, in anchor order. With 4 tensors (boxes, classes, scores, count:
    a model with its own post-processing) the boxes are read as they are.
    All anchors are decoded with numpy at once; Python only touches the kept boxes.

    Inputs:  TENSORS (list of float32 numpy arrays)
    Outputs: DETECTIONS (list of Detection with relative_bounding_box, relative_keypoints,
             score and label_id)
    Side inputs: ANCHORS (numpy Nx4 x_center, y_center, w, h from SsdAnchorsCalculator;
             optional when the model outputs its anchors), IGNORE_CLASSES (list of int,
             optional; overrides the options)
    Options: TensorsToDetectionsCalculatorOptions (ext 335742639): num_classes, num_boxes,
             num_coords, box_coord_offset, keypoint_coord_offset, num_keypoints,
             num_values_per_keypoint, x/y/w/h_scale, apply_exponential_on_box_size,
             reverse_output_order, box_format, ignore_classes, allow_classes, sigmoid_score,
             score_clipping_thresh, flip_vertically, min_score_thresh, max_results,
             max_classes_per_detection, tensor_mapping, box_boundaries_indices

    Example config:
        node {
          calculator: "TensorsToDetectionsCalculator"
          input_stream: "TENSORS:detection_tensors"
          input_side_packet: "ANCHORS:anchors"
          output_stream: "DETECTIONS:unfiltered_detections"
          options { [mediapipe.TensorsToDetectionsCalculatorOptions.ext] {
            num_classes: 1 num_boxes: 896 num_coords: 16
            box_coord_offset: 0 keypoint_coord_offset: 4
            num_keypoints: 6 num_values_per_keypoint: 2
            sigmoid_score: true score_clipping_thresh: 100.0
            reverse_output_order: true
            x_scale: 128.0 y_scale: 128.0 h_scale: 128.0 w_scale: 128.0
            min_score_thresh: 0.5 } }
        }
    """

    Options = TensorsToDetectionsCalculatorOptions

    tensors = Input(list)
    detections = Output(list)
    anchors = SideInput(tag="ANCHORS", optional=True)
    ignore_classes_side = SideInput(list, tag="IGNORE_CLASSES", optional=True)

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        if node.connected(cls.ignore_classes_side) and node.options.allow_classes:
            raise ValueError("IGNORE_CLASSES and allow_classes are mutually exclusive")

    def open(self, cc: CalculatorContext) -> None:
        opts: TensorsToDetectionsCalculatorOptions = self.options
        if opts.box_format is not None:
            self._format = BoxFormat.YXHW if opts.box_format == BoxFormat.UNSPECIFIED \
                else opts.box_format
        else:
            self._format = BoxFormat.XYWH if opts.reverse_output_order else BoxFormat.YXHW
        ignore = cc.side(self.ignore_classes_side)
        if ignore is not None:
            listed, self._allow_list = tuple(ignore), False
        elif opts.allow_classes:
            listed, self._allow_list = opts.allow_classes, True
        else:
            listed, self._allow_list = opts.ignore_classes, False
        allowed = np.full(opts.num_classes, not self._allow_list)
        for index in listed:
            if 0 <= index < opts.num_classes:
                allowed[index] = self._allow_list
        self._allowed = allowed
        self._all_allowed = bool(allowed.all())
        self._mapping = opts.tensor_mapping
        self._xy_scale = np.array([opts.x_scale, opts.y_scale], np.float32)
        self._wh_scale = np.array([opts.w_scale, opts.h_scale], np.float32)
        boundaries = opts.box_boundaries_indices
        if boundaries is not None:
            self._box_order = [boundaries.ymin, boundaries.xmin, boundaries.ymax,
                               boundaries.xmax]
        else:
            self._box_order = [0, 1, 2, 3]
        side_anchors = cc.side(self.anchors)
        self._anchors = _anchor_array(side_anchors) if side_anchors is not None else None

    def process(self, cc: CalculatorContext) -> None:
        tensors = cc.get(self.tensors)
        if tensors is None:
            return
        tensors = [np.asarray(t) for t in tensors]
        opts: TensorsToDetectionsCalculatorOptions = self.options
        count = len(tensors)
        if count in (2, 3):
            boxes, keypoints, scores, classes = self._decode_raw(tensors)
        elif count == 4:
            boxes, keypoints, scores, classes = self._read_postprocessed(tensors)
        else:
            raise ValueError(f"TENSORS needs 2, 3 or 4 tensors, got {count}")
        cc.send(self.detections, self._to_detections(boxes, keypoints, scores, classes, opts))

    # -- raw SSD outputs --------------------------------------------------------------

    def _index(self, name: str, default: int) -> int:
        value = getattr(self._mapping, name) if self._mapping is not None else None
        return default if value is None else value

    def _decode_raw(self, tensors: list[np.ndarray]) -> tuple[Any, Any, Any, Any]:
        opts: TensorsToDetectionsCalculatorOptions = self.options
        if self.options.box_boundaries_indices is not None:
            raise ValueError("box_boundaries_indices needs a model with 4 output tensors")
        n = opts.num_boxes
        if n <= 0:
            raise ValueError("set num_boxes in the options")
        raw_boxes = _squeezed(tensors[self._index("detections_tensor_index", 0)],
                              (n, opts.num_coords), "box")
        raw_scores = _squeezed(tensors[self._index("scores_tensor_index", 1)],
                               (n, opts.num_classes), "score")
        if len(tensors) == 3:
            raw = np.asarray(tensors[self._index("anchors_tensor_index", 2)], np.float32)
            if raw.shape != (n, 4):
                raise ValueError(f"anchor tensor must be {n}x4, got {raw.shape}")
            anchors = raw[:, [1, 0, 3, 2]]  # (y, x, h, w) -> (x, y, w, h)
        elif self._anchors is not None:
            anchors = self._anchors
        else:
            raise ValueError("no anchors: connect the ANCHORS side packet")
        if anchors.shape[0] != n:
            raise ValueError(f"{anchors.shape[0]} anchors for num_boxes {n}")
        candidates = self._candidate_rows(raw_scores)
        if candidates is not None:
            raw_boxes, raw_scores = raw_boxes[candidates], raw_scores[candidates]
            anchors = anchors[candidates]

        # Scores first: most anchors fall under the threshold and are never decoded.
        scores = raw_scores.astype(np.float32, copy=False)
        if opts.sigmoid_score:
            if opts.score_clipping_thresh is not None:
                clip = np.float32(opts.score_clipping_thresh)
                scores = np.clip(scores, -clip, clip)
            with np.errstate(over="ignore"):
                scores = (1.0 / (1.0 + np.exp(-scores))).astype(np.float32)
        if not self._all_allowed:
            scores = np.where(self._allowed[None, :], scores, -np.inf)
        top, classes = _top_classes(scores, opts.max_classes_per_detection)
        keep = np.isfinite(top).any(axis=1)
        if opts.min_score_thresh is not None:
            keep &= (top >= np.float32(opts.min_score_thresh)).any(axis=1)
        rows = np.flatnonzero(keep)
        boxes, keypoints = self._decode_boxes(raw_boxes[rows], anchors[rows])
        return boxes, keypoints, top[rows], classes[rows]

    def _candidate_rows(self, raw_scores: np.ndarray) -> np.ndarray | None:
        """The rows whose raw score can still reach min_score_thresh (None: all of them).

        Sigmoid and clipping are monotonic, so one comparison on the raw scores (in logit
        space, with a margin for float32 rounding) cuts the hundreds of anchors that
        cannot pass before anything is decoded; the exact test runs on the rest.
        """
        opts: TensorsToDetectionsCalculatorOptions = self.options
        threshold = opts.min_score_thresh
        if threshold is None:
            return None
        if opts.sigmoid_score:
            if not 0.0 < threshold < 1.0:
                return None
            cut = math.log(threshold / (1.0 - threshold)) - _LOGIT_MARGIN
            clip = opts.score_clipping_thresh
            if clip is not None and -clip >= cut:  # clipping lifts every row over the cut
                return None
        else:
            cut = np.float32(threshold)
        if not self._all_allowed:
            raw_scores = np.where(self._allowed[None, :], raw_scores, -np.inf)
        return np.flatnonzero((raw_scores >= cut).any(axis=1))

    def _decode_boxes(self, raw: np.ndarray, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ymin, xmin, ymax, xmax) boxes and (x, y) keypoints for the given rows.

        The x and y of each centre, size and keypoint go through the same float32
        operations, in the same order, as one array: the values MediaPipe's per-box loop
        gives, for a few numpy calls per frame."""
        opts: TensorsToDetectionsCalculatorOptions = self.options
        raw = raw.astype(np.float32, copy=False)
        o = opts.box_coord_offset
        fmt = self._format
        anchor_size, anchor_centre = anchors[:, 2:4], anchors[:, 0:2]
        if fmt == BoxFormat.XYXY:  # distances from the anchor centre, as MediaPipe reads them
            a, b, c, d = (raw[:, o + i] for i in range(4))
            centre = np.stack([(c - a) / 2, (d - b) / 2], axis=1)
            size = np.stack([c + a, d + b], axis=1)
        elif fmt == BoxFormat.XYWH:
            centre, size = raw[:, o:o + 2], raw[:, o + 2:o + 4]
        else:  # (y, x, h, w)
            centre, size = raw[:, [o + 1, o]], raw[:, [o + 3, o + 2]]
        centre = centre / self._xy_scale * anchor_size + anchor_centre
        size = size / self._wh_scale
        if opts.apply_exponential_on_box_size:
            size = np.exp(size)
        half = size * anchor_size / 2
        # (y, x) first: boxes are (ymin, xmin, ymax, xmax).
        boxes = np.concatenate([centre[:, ::-1] - half[:, ::-1], centre[:, ::-1] + half[:, ::-1]],
                               axis=1)
        k = opts.num_keypoints
        if k:
            start = opts.keypoint_coord_offset
            values = raw[:, start:start + 2 * k].reshape(-1, k, 2)
            if fmt not in (BoxFormat.XYWH, BoxFormat.XYXY):
                values = values[..., ::-1]
            keypoints = values / self._xy_scale * anchor_size[:, None] + anchor_centre[:, None]
        else:
            keypoints = np.zeros((len(raw), 0, 2), np.float32)
        return boxes, keypoints

    # -- models with built-in post-processing ----------------------------------------

    def _read_postprocessed(self, tensors: list[np.ndarray]) -> tuple[Any, Any, Any, Any]:
        opts: TensorsToDetectionsCalculatorOptions = self.options
        boxes = np.asarray(tensors[self._index("detections_tensor_index", 0)], np.float32)
        classes = np.asarray(tensors[self._index("classes_tensor_index", 1)], np.float32)
        scores = np.asarray(tensors[self._index("scores_tensor_index", 2)], np.float32)
        count = np.asarray(tensors[self._index("num_detections_tensor_index", 3)]).reshape(-1)
        if boxes.ndim != 3 or boxes.shape[0] != 1 or boxes.shape[2] != opts.num_coords:
            raise ValueError(f"box tensor must be 1xMx{opts.num_coords}, got {boxes.shape}")
        max_detections = boxes.shape[1]
        num = int(count[0])
        if num <= 0:
            return (np.zeros((0, 4), np.float32), np.zeros((0, 0, 2), np.float32),
                    np.zeros((0, 1), np.float32), np.zeros((0, 1), np.int64))
        if max_detections % num:
            raise ValueError(f"{max_detections} boxes is not a multiple of {num} detections")
        per = max_detections // num  # each box repeats once per class
        rows = boxes[0, ::per]
        ordered = rows[:, self._box_order]
        cls = classes.reshape(-1)[:num * per].reshape(num, per).astype(np.int64)
        sc = scores.reshape(-1)[:num * per].reshape(num, per)
        k = opts.num_keypoints
        start = opts.keypoint_coord_offset
        keypoints = (rows[:, start:start + 2 * k].reshape(-1, k, 2) if k
                     else np.zeros((num, 0, 2), np.float32))
        return ordered, keypoints, sc, cls

    # -- shared ---------------------------------------------------------------------

    def _to_detections(self, boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                       classes: np.ndarray, opts: TensorsToDetectionsCalculatorOptions
                       ) -> list[Detection]:
        flip = opts.flip_vertically
        threshold = None if opts.min_score_thresh is None else np.float32(opts.min_score_thresh)
        allowed = self._allowed
        limit = opts.max_results
        out: list[Detection] = []
        rows = zip(boxes.tolist(), scores.tolist(), classes.tolist())
        for i, ((ymin, xmin, ymax, xmax), row_scores, row_classes) in enumerate(rows):
            if limit > 0 and len(out) == limit:
                break
            kept_scores, kept_ids = [], []
            for score, class_id in zip(row_scores, row_classes):
                if not (0 <= class_id < len(allowed) and allowed[class_id]):
                    continue
                if threshold is not None and score < threshold:
                    continue
                kept_scores.append(score)
                kept_ids.append(int(class_id))
            if not kept_scores:
                continue
            width, height = xmax - xmin, ymax - ymin
            if not (width >= 0 and height >= 0):  # negative or NaN: a broken prediction
                continue
            box = RelativeBoundingBox(xmin=xmin, ymin=1.0 - ymax if flip else ymin,
                                      width=width, height=height)
            out.append(Detection(label_id=tuple(kept_ids), score=tuple(kept_scores),
                                 relative_bounding_box=box,
                                 relative_keypoints=_keypoints(keypoints[i], flip)))
        return out


def _keypoints(xy: np.ndarray, flip: bool) -> Keypoints | tuple[()]:
    """One detection's Kx2 keypoints as Keypoints (one array, each RelativeKeypoint made
    only if read: non-max suppression drops most detections unread); () for none."""
    if not len(xy):
        return ()
    if flip:
        xy = xy.astype(np.float64)
        xy[:, 1] = 1.0 - xy[:, 1]
    return Keypoints(xy)


def _top_classes(scores: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The `count` best (score, class) per row, best first; first index wins ties."""
    if count <= 1 or scores.shape[1] == 1:
        best = np.argmax(scores, axis=1)[:, None]
    else:
        best = np.argsort(-scores, axis=1, kind="stable")[:, :count]
    return np.take_along_axis(scores, best, axis=1), best


def _squeezed(tensor: np.ndarray, shape: tuple[int, int], what: str) -> np.ndarray:
    """A 1xNxC (CPU) or 1x1xNxC (GPU) tensor as NxC."""
    array = np.asarray(tensor)
    ok = ((array.ndim == 3 and array.shape == (1, *shape))
          or (array.ndim == 4 and array.shape == (1, 1, *shape)))
    if not ok:
        raise ValueError(f"{what} tensor must be 1x{shape[0]}x{shape[1]}, got {array.shape}")
    return array.reshape(shape)


def _anchor_array(anchors: Any) -> np.ndarray:
    """Anchors as float32 Nx4 (x_center, y_center, w, h); also takes objects with those
    attributes (MediaPipe-style Anchor)."""
    if isinstance(anchors, np.ndarray):
        array = anchors.astype(np.float32, copy=False)
    else:
        items = list(anchors)
        if items and hasattr(items[0], "x_center"):
            array = np.array([(a.x_center, a.y_center, a.w, a.h) for a in items], np.float32)
        else:
            array = np.asarray(items, np.float32)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"ANCHORS must be an Nx4 array (x_center, y_center, w, h), "
                         f"got shape {array.shape}")
    return array


def _check_mapping(mapping: TensorMapping) -> None:
    if mapping.detections_tensor_index is None or mapping.scores_tensor_index is None:
        raise ValueError("tensor_mapping needs detections_tensor_index and scores_tensor_index")
    used = {mapping.detections_tensor_index, mapping.scores_tensor_index}
    extra = [mapping.classes_tensor_index, mapping.num_detections_tensor_index,
             mapping.anchors_tensor_index]
    used |= {i for i in extra if i is not None}
    if used != set(range(len(used))) or len(used) == 0:
        raise ValueError(f"tensor_mapping indices {sorted(used)} must be 0..{len(used) - 1}")
