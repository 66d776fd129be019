"""LandmarkVisibilityCalculator: the visibility of a one-landmark list, as a float."""

from __future__ import annotations

from mediagraph import Calculator, CalculatorContext, Input, Output
from mediagraph.formats import NormalizedLandmarkList


class LandmarkVisibilityCalculator(Calculator):
    """Send the visibility of the single landmark in NORM_LANDMARKS (0.0 when it has none).

    The input is a list because the split and concatenate calculators work on lists; a
    list of any other length than one is an error, as in MediaPipe.

    Inputs:  NORM_LANDMARKS (NormalizedLandmarkList of one landmark)
    Outputs: VISIBILITY (float)
    Options: none

    Example config (MediaPipe's hand_visibility_from_hand_landmarks_from_pose.pbtxt):
        node {
          calculator: "LandmarkVisibilityCalculator"
          input_stream: "NORM_LANDMARKS:pose_wrist_landmark"
          output_stream: "VISIBILITY:wrist_visibility_score"
        }
    """

    landmarks = Input(NormalizedLandmarkList, tag="NORM_LANDMARKS")
    visibility = Output(float, tag="VISIBILITY")

    def process(self, cc: CalculatorContext) -> None:
        value = cc.get(self.landmarks)
        if value is None:
            return
        if len(value) != 1:
            raise ValueError(f"NORM_LANDMARKS holds {len(value)} landmarks; "
                             f"LandmarkVisibilityCalculator takes a list of exactly one")
        cc.send(self.visibility, float(value.item(0).visibility or 0.0))
