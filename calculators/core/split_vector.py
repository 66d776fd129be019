"""SplitVectorCalculator: cut a list (or landmark list) into ranges, one output each.

MediaPipe registers one template instance per element type; here one class does the
work and MediaPipe's typed names are aliases, so its graphs load.
"""

from __future__ import annotations

from mediagraph.calculators.core._typed_names import typed_names
from mediagraph import Calculator, CalculatorContext, Input, NodeConfig, Options, Outputs, option
from mediagraph.formats import LandmarkList, NormalizedLandmarkList


class Range(Options, proto_name="mediapipe.Range"):
    begin: int = option(1, default=0)
    end: int = option(2, default=0)


class SplitVectorCalculatorOptions(
        Options, proto_name="mediapipe.SplitVectorCalculatorOptions", extension=259438222):
    """MediaPipe's `split_vector_calculator.proto`."""

    ranges: tuple[Range, ...] = option(1, default=())
    element_only: bool = option(2, default=False)
    combine_outputs: bool = option(3, default=False)

    def check(self) -> None:
        if not self.ranges:
            raise ValueError("SplitVectorCalculatorOptions needs at least one range")
        for r in self.ranges:
            if not 0 <= r.begin < r.end:
                raise ValueError(f"range [{r.begin}, {r.end}) is empty or negative")
            if self.element_only and r.end - r.begin != 1:
                raise ValueError("element_only needs ranges of one element")
        if self.element_only and self.combine_outputs:
            raise ValueError("element_only and combine_outputs are mutually exclusive")


class SplitVectorCalculator(Calculator):
    """Send `input[begin:end]` for each range on its own untagged output.

    With `element_only` each range must hold one element, sent bare; with
    `combine_outputs` the ranges are concatenated onto a single output. A
    NormalizedLandmarkList (LandmarkList) input gives outputs of its type. A range reaching
    past the input's end is an error.

    Inputs:  untagged: a list (or NormalizedLandmarkList)
    Outputs: untagged: one per range (one with combine_outputs)
    Options: SplitVectorCalculatorOptions (ext 259438222): ranges {begin end},
             element_only, combine_outputs

    Example config (MediaPipe's hand_landmark_cpu.pbtxt):
        node {
          calculator: "SplitTensorVectorCalculator"
          input_stream: "output_tensors"
          output_stream: "landmark_tensors"
          output_stream: "hand_flag_tensor"
          options { [mediapipe.SplitVectorCalculatorOptions.ext] {
            ranges: { begin: 0 end: 1 } ranges: { begin: 1 end: 2 } } }
        }
    """

    Options = SplitVectorCalculatorOptions

    vector = Input(tag="")
    outputs = Outputs(tag="")

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        opts: SplitVectorCalculatorOptions = node.options
        expected = 1 if opts.combine_outputs else len(opts.ranges)
        if node.count(cls.outputs) != expected:
            raise ValueError(f"{len(opts.ranges)} ranges need {expected} outputs, got "
                             f"{node.count(cls.outputs)}")

    def process(self, cc: CalculatorContext) -> None:
        value = cc.get(self.vector)
        if value is None:
            return
        opts: SplitVectorCalculatorOptions = self.options
        is_landmarks = isinstance(value, (NormalizedLandmarkList, LandmarkList))
        items = None if is_landmarks else list(value)
        size = len(value) if is_landmarks else len(items)
        for r in opts.ranges:
            if r.end > size:
                raise ValueError(f"range [{r.begin}, {r.end}) is past the end of "
                                 f"{size} elements")
        ranges = [range(r.begin, r.end) for r in opts.ranges]
        if opts.combine_outputs:
            ranges = [[i for r in ranges for i in r]]
        for index, chosen in enumerate(ranges):
            if is_landmarks:
                part = value.item(chosen[0]) if opts.element_only else value.subset(chosen)
            else:
                part = items[chosen[0]] if opts.element_only else [items[i] for i in chosen]
            cc.send(self.outputs[index], part)


# MediaPipe's registered instances (split_vector_calculator.cc, split_landmarks_calculator).
ALIASES = typed_names(SplitVectorCalculator, [f"Split{kind}Calculator" for kind in (
    "TensorVector", "NormalizedLandmarkList", "LandmarkList", "NormalizedLandmarkListVector",
    "DetectionVector", "NormalizedRectVector", "ClassificationListVector", "Uint64tVector",
    "FloatVector", "MatrixVector")])
