"""SetLandmarkVisibilityCalculator: a one-landmark list with its visibility replaced."""

from __future__ import annotations

import dataclasses

from mediagraph import Calculator, CalculatorContext, Input, Output
from mediagraph.formats import NormalizedLandmarkList


class SetLandmarkVisibilityCalculator(Calculator):
    """Send the single landmark of NORM_LANDMARKS with VISIBILITY as its visibility.

    The landmark comes in a list because the split and concatenate calculators work on
    lists; a list of any other length than one is an error, as in MediaPipe. Nothing goes
    out at a timestamp missing either input.

    Inputs:  NORM_LANDMARKS (NormalizedLandmarkList of one landmark); VISIBILITY (float)
    Outputs: NORM_LANDMARKS (NormalizedLandmarkList of one landmark)
    Options: none

    Example config (MediaPipe's hand_wrist_for_pose.pbtxt):
        node {
          calculator: "SetLandmarkVisibilityCalculator"
          input_stream: "NORM_LANDMARKS:hand_wrist_landmark"
          input_stream: "VISIBILITY:visible_score"
          output_stream: "NORM_LANDMARKS:hand_wrist_landmark_with_visibility"
        }
    """

    landmarks = Input(NormalizedLandmarkList, tag="NORM_LANDMARKS")
    visibility = Input(float, tag="VISIBILITY")
    out = Output(NormalizedLandmarkList, tag="NORM_LANDMARKS")

    def process(self, cc: CalculatorContext) -> None:
        value = cc.get(self.landmarks)
        visibility = cc.get(self.visibility)
        if value is None or visibility is None:
            return
        if len(value.landmark) != 1:
            raise ValueError(f"NORM_LANDMARKS holds {len(value.landmark)} landmarks; "
                             f"SetLandmarkVisibilityCalculator takes a list of exactly one")
        landmark = dataclasses.replace(value.landmark[0], visibility=float(visibility))
        cc.send(self.out, NormalizedLandmarkList((landmark,)))
