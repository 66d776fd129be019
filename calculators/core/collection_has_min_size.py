"""CollectionHasMinSizeCalculator: whether a list holds at least N elements."""

from __future__ import annotations

from mediagraph.calculators.core._typed_names import typed_names
from mediagraph import (
    Calculator,
    CalculatorContext,
    Input,
    Options,
    Output,
    SideInput,
    option,
)


class CollectionHasMinSizeCalculatorOptions(
        Options, proto_name="mediapipe.CollectionHasMinSizeCalculatorOptions",
        extension=259397840):
    """MediaPipe's `collection_has_min_size_calculator.proto`."""

    min_size: int = option(1, default=0)

    def check(self) -> None:
        if self.min_size < 0:
            raise ValueError(f"min_size must not be negative, got {self.min_size}")


class CollectionHasMinSizeCalculator(Calculator):
    """Send `len(ITERABLE) >= min_size` (the untagged side packet overrides the option).

    Inputs:  ITERABLE (a list)
    Outputs: untagged: bool
    Side inputs: untagged: min size (int, optional)
    Options: CollectionHasMinSizeCalculatorOptions (ext 259397840): min_size

    Example config (MediaPipe's hand_landmark_tracking_cpu.pbtxt):
        node {
          calculator: "NormalizedRectVectorHasMinSizeCalculator"
          input_stream: "ITERABLE:gated_prev_hand_rects_from_landmarks"
          input_side_packet: "num_hands"
          output_stream: "prev_has_enough_hands"
        }
    """

    Options = CollectionHasMinSizeCalculatorOptions

    iterable = Input(list, tag="ITERABLE")
    out = Output(bool, tag="")
    min_size = SideInput(int, tag="", optional=True)

    def open(self, cc: CalculatorContext) -> None:
        self._min = int(cc.side(self.min_size, self.options.min_size))
        if self._min < 0:  # the side packet's value; the option's is checked at validation
            raise ValueError(f"min_size must not be negative, got {self._min}")

    def process(self, cc: CalculatorContext) -> None:
        iterable = cc.get(self.iterable)
        if iterable is not None:
            cc.send(self.out, len(iterable) >= self._min)


ALIASES = typed_names(CollectionHasMinSizeCalculator, [
    f"{kind}HasMinSizeCalculator" for kind in (
        "NormalizedRectVector", "ClassificationListVector", "NormalizedLandmarkListVector")])
