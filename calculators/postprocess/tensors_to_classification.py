"""TensorsToClassificationCalculator: a classifier's score tensor as labelled classes."""

from __future__ import annotations

import numpy as np

from mediagraph import (
    Calculator,
    CalculatorContext,
    Input,
    Options,
    Output,
    models,
    option,
)
from mediagraph.formats import Classification, ClassificationList


class LabelMapEntry(Options,
                    proto_name="mediapipe.TensorsToClassificationCalculatorOptions_LabelMap_Entry"):
    id: int = option(1, default=0)
    label: str = option(2, default="")


class LabelMap(Options, proto_name="mediapipe.TensorsToClassificationCalculatorOptions_LabelMap"):
    entries: tuple[LabelMapEntry, ...] = option(1, default=())


class TensorsToClassificationCalculatorOptions(
        Options, proto_name="mediapipe.TensorsToClassificationCalculatorOptions",
        extension=335742638):
    """MediaPipe's `tensors_to_classification_calculator.proto`, without `label_items` (6)."""

    min_score_threshold: float | None = option(1, default=None, proto="float")
    top_k: int = option(2, default=0)
    label_map_path: str = option(3, default="")
    binary_classification: bool = option(4, default=False)
    label_map: LabelMap = option(5, default=None)
    ignore_classes: tuple[int, ...] = option(7, default=())
    allow_classes: tuple[int, ...] = option(8, default=())
    sort_by_descending_score: bool = option(9, default=False)

    def check(self) -> None:
        if self.ignore_classes and self.allow_classes:
            raise ValueError("ignore_classes and allow_classes are mutually exclusive")
        if self.label_map_path and self.label_map is not None:
            raise ValueError("set only one of label_map_path and label_map")


class TensorsToClassificationCalculator(Calculator):
    """Turn the first tensor's scores into a ClassificationList.

    Each score becomes a class (index, score, label from the label map); ignored or
    not-allowed classes and scores under `min_score_threshold` are left out. With
    `binary_classification` the tensor holds one score s, giving class 0 with s and
    class 1 with 1 - s. `top_k` > 0 keeps the best k, sorted by score; otherwise the
    model's order stays unless `sort_by_descending_score`. Labels come from `label_map`
    or `label_map_path` (one label per line; looked up like a model: as given, else by
    file name in the model cache).

    Inputs:  TENSORS (list of numpy arrays; the first is read)
    Outputs: CLASSIFICATIONS (ClassificationList)
    Options: TensorsToClassificationCalculatorOptions (ext 335742638): min_score_threshold,
             top_k, label_map_path, binary_classification, label_map, ignore_classes,
             allow_classes, sort_by_descending_score

    Example config (MediaPipe's hand_landmark_cpu.pbtxt, with an inline label map):
        node {
          calculator: "TensorsToClassificationCalculator"
          input_stream: "TENSORS:ensured_handedness_tensor"
          output_stream: "CLASSIFICATIONS:handedness"
          options { [mediapipe.TensorsToClassificationCalculatorOptions.ext] {
            top_k: 1 binary_classification: true
            label_map { entries { id: 0 label: "Left" } entries { id: 1 label: "Right" } } } }
        }
    """

    Options = TensorsToClassificationCalculatorOptions

    tensors = Input(list, tag="TENSORS")
    classifications = Output(ClassificationList, tag="CLASSIFICATIONS")

    def open(self, cc: CalculatorContext) -> None:
        opts: TensorsToClassificationCalculatorOptions = self.options
        self._labels: dict[int, str] = {}
        if opts.label_map_path:
            lines = models.resolve(opts.label_map_path).read_text().splitlines()
            self._labels = {i: line.strip() for i, line in enumerate(lines)}
        elif opts.label_map is not None:
            self._labels = {e.id: e.label for e in opts.label_map.entries}

    def process(self, cc: CalculatorContext) -> None:
        tensors = cc.get(self.tensors)
        if not tensors:
            return
        opts: TensorsToClassificationCalculatorOptions = self.options
        scores = np.asarray(tensors[0], dtype=np.float64).reshape(-1)
        if opts.binary_classification:
            if scores.size != 1:
                raise ValueError(f"binary_classification needs one score, got {scores.size}")
            indices = np.array([0, 1])
            scores = np.array([scores[0], 1.0 - scores[0]])
        else:
            indices = np.arange(scores.size)
            keep = np.ones(scores.size, bool)
            if opts.allow_classes:
                keep[:] = False
                keep[[i for i in opts.allow_classes if 0 <= i < scores.size]] = True
            elif opts.ignore_classes:
                keep[[i for i in opts.ignore_classes if 0 <= i < scores.size]] = False
            if opts.min_score_threshold is not None:
                keep &= scores >= opts.min_score_threshold
            indices, scores = indices[keep], scores[keep]
        if opts.top_k > 0 or opts.sort_by_descending_score:
            order = np.argsort(-scores, kind="stable")
            if opts.top_k > 0:
                order = order[:opts.top_k]
            indices, scores = indices[order], scores[order]
        labels = self._labels
        cc.send(self.classifications, ClassificationList(tuple(
            Classification(i, s, labels.get(i, "")) for i, s in
            zip(indices.tolist(), scores.tolist()))))
