"""VisibilityCopyCalculator: copy visibility/presence from one landmark list onto another."""

from __future__ import annotations

from mediagraph import (Calculator, CalculatorContext, Input, NodeConfig, Options, Output,
                        one_of, option)
from mediagraph.formats import LandmarkList, NormalizedLandmarkList


class VisibilityCopyCalculatorOptions(
        Options, proto_name="mediapipe.VisibilityCopyCalculatorOptions", extension=363728421):
    """MediaPipe's `visibility_copy_calculator.proto`."""

    copy_visibility: bool = option(1, default=True)
    copy_presence: bool = option(2, default=True)


class VisibilityCopyCalculator(Calculator):
    """The TO landmarks with the FROM landmarks' visibility and/or presence, index by index.

    Pose uses it to give the world landmarks the visibility and presence of the image
    landmarks. Both lists must have the same length; the output has TO's type and tag.

    Inputs:  NORM_LANDMARKS_FROM or LANDMARKS_FROM; NORM_LANDMARKS_TO or LANDMARKS_TO
    Outputs: NORM_LANDMARKS_TO (NormalizedLandmarkList) or LANDMARKS_TO (LandmarkList),
             the same tag as the TO input
    Options: VisibilityCopyCalculatorOptions (ext 363728421): copy_visibility (true),
             copy_presence (true)

    Example config (MediaPipe's tensors_to_pose_landmarks_and_segmentation.pbtxt):
        node {
          calculator: "VisibilityCopyCalculator"
          input_stream: "NORM_LANDMARKS_FROM:landmarks"
          input_stream: "LANDMARKS_TO:world_landmarks_without_visibility"
          output_stream: "LANDMARKS_TO:world_landmarks"
          options { [mediapipe.VisibilityCopyCalculatorOptions.ext] {
            copy_visibility: true copy_presence: true } }
        }
    """

    Options = VisibilityCopyCalculatorOptions

    norm_from = Input(NormalizedLandmarkList, tag="NORM_LANDMARKS_FROM", optional=True)
    world_from = Input(LandmarkList, tag="LANDMARKS_FROM", optional=True)
    norm_to = Input(NormalizedLandmarkList, tag="NORM_LANDMARKS_TO", optional=True)
    world_to = Input(LandmarkList, tag="LANDMARKS_TO", optional=True)
    norm_out = Output(NormalizedLandmarkList, tag="NORM_LANDMARKS_TO", optional=True)
    world_out = Output(LandmarkList, tag="LANDMARKS_TO", optional=True)
    groups = (one_of(norm_from, world_from), one_of(norm_to, world_to),
              one_of(norm_out, world_out))

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        if node.connected(cls.norm_to) != node.connected(cls.norm_out):
            raise ValueError("the output takes the TO input's tag: NORM_LANDMARKS_TO in, "
                             "NORM_LANDMARKS_TO out; LANDMARKS_TO in, LANDMARKS_TO out")

    def process(self, cc: CalculatorContext) -> None:
        source = _either(cc, self.norm_from, self.world_from)
        target = _either(cc, self.norm_to, self.world_to)
        if source is None or target is None:
            return
        if len(source) != len(target):
            raise ValueError(f"FROM has {len(source)} landmarks, TO has {len(target)}")
        opts: VisibilityCopyCalculatorOptions = self.options
        xyz, visibility, presence = target.arrays()
        _, source_visibility, source_presence = source.arrays()
        out = type(target).from_arrays(
            xyz, source_visibility if opts.copy_visibility else visibility,
            source_presence if opts.copy_presence else presence)
        cc.send(self.norm_out if isinstance(out, NormalizedLandmarkList) else self.world_out, out)


def _either(cc: CalculatorContext, first: Input, second: Input) -> object:
    value = cc.get(first)
    return value if value is not None else cc.get(second)
