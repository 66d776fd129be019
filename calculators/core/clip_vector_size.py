"""ClipVectorSizeCalculator: keep at most the first N elements of a list."""

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


class ClipVectorSizeCalculatorOptions(
        Options, proto_name="mediapipe.ClipVectorSizeCalculatorOptions", extension=274674998):
    """MediaPipe's `clip_vector_size_calculator.proto`."""

    max_vec_size: int = option(1, default=1)

    def check(self) -> None:
        if self.max_vec_size < 1:
            raise ValueError(f"max_vec_size must be at least 1, got {self.max_vec_size}")


class ClipVectorSizeCalculator(Calculator):
    """Send the input list cut to its first `max_vec_size` elements.

    The untagged side packet, when connected, overrides the option.

    Inputs:  untagged: a list
    Outputs: untagged: the clipped list
    Side inputs: untagged: max size (int, optional)
    Options: ClipVectorSizeCalculatorOptions (ext 274674998): max_vec_size (default 1)

    Example config (MediaPipe's hand_landmark_tracking_cpu.pbtxt):
        node {
          calculator: "ClipDetectionVectorSizeCalculator"
          input_stream: "all_palm_detections"
          output_stream: "palm_detections"
          input_side_packet: "num_hands"
        }
    """

    Options = ClipVectorSizeCalculatorOptions

    vector = Input(list, tag="")
    out = Output(list, tag="")
    max_size = SideInput(int, tag="", optional=True)

    def open(self, cc: CalculatorContext) -> None:
        self._max = int(cc.side(self.max_size, self.options.max_vec_size))
        if self._max < 1:  # the side packet's value; the option's is checked at validation
            raise ValueError(f"max_vec_size must be at least 1, got {self._max}")

    def process(self, cc: CalculatorContext) -> None:
        vector = cc.get(self.vector)
        if vector is not None:
            cc.send(self.out, list(vector[:self._max]))


ALIASES = typed_names(ClipVectorSizeCalculator, [
    "ClipNormalizedRectVectorSizeCalculator", "ClipDetectionVectorSizeCalculator"])
