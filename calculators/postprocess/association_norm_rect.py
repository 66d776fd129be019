"""AssociationNormRectCalculator: merge rect lists, later lists replacing overlapping rects."""

from __future__ import annotations

from mediagraph import Calculator, CalculatorContext, Inputs, Options, Output, option
from mediagraph.formats import NormalizedRect


class AssociationCalculatorOptions(
        Options, proto_name="mediapipe.AssociationCalculatorOptions", extension=275124847):
    """MediaPipe's `association_calculator.proto`."""

    min_similarity_threshold: float = option(1, default=1.0)

    def check(self) -> None:
        if not 0.0 <= self.min_similarity_threshold <= 1.0:
            raise ValueError(f"min_similarity_threshold must be in [0, 1], got "
                             f"{self.min_similarity_threshold}")


class AssociationNormRectCalculator(Calculator):
    """Concatenate the input rect lists; a rect overlapping an earlier one replaces it.

    Inputs are taken in order; each rect removes every rect already collected whose
    overlap with it (intersection over union of the axis-aligned rects, rotation
    ignored) is above `min_similarity_threshold`, then joins the list. So the last
    input wins: hand tracking lists palm detections first, tracked hands last.

    Inputs:  untagged: one or more lists of NormalizedRect (absent ones are skipped)
    Outputs: untagged: list of NormalizedRect
    Options: AssociationCalculatorOptions (ext 275124847): min_similarity_threshold

    Example config (MediaPipe's hand_landmark_tracking_cpu.pbtxt):
        node {
          calculator: "AssociationNormRectCalculator"
          input_stream: "hand_rects_from_palm_detections"
          input_stream: "gated_prev_hand_rects_from_landmarks"
          output_stream: "hand_rects"
          options { [mediapipe.AssociationCalculatorOptions.ext] {
            min_similarity_threshold: 0.5 } }
        }
    """

    Options = AssociationCalculatorOptions

    rects = Inputs(list, tag="")
    out = Output(list, tag="")

    def process(self, cc: CalculatorContext) -> None:
        threshold = self.options.min_similarity_threshold
        merged: list[NormalizedRect] = []
        for rects in cc.get(self.rects):
            for rect in rects or ():
                merged = [r for r in merged if overlap(r, rect) <= threshold]
                merged.append(rect)
        cc.send(self.out, merged)


def overlap(a: NormalizedRect, b: NormalizedRect) -> float:
    """Intersection over union of two rects, rotation ignored (0 when either is empty)."""
    w = min(a.x_center + a.width / 2, b.x_center + b.width / 2) - \
        max(a.x_center - a.width / 2, b.x_center - b.width / 2)
    h = min(a.y_center + a.height / 2, b.y_center + b.height / 2) - \
        max(a.y_center - a.height / 2, b.y_center - b.height / 2)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0
