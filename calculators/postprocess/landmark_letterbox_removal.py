"""LandmarkLetterboxRemovalCalculator: undo letterbox padding on landmark coordinates."""

from __future__ import annotations

import numpy as np

from mediagraph.calculators.postprocess._geometry import landmark_arrays, landmark_list
from mediagraph import Calculator, CalculatorContext, Input, Inputs, NodeConfig, Outputs
from mediagraph.formats import NormalizedLandmarkList


class LandmarkLetterboxRemovalCalculator(Calculator):
    """Landmarks normalized to a letterboxed tensor, re-normalized to the image inside it.

    With padding (left, top, right, bottom) relative to the tensor:
    x' = (x - left) / (1 - left - right), y' = (y - top) / (1 - top - bottom),
    z' = z / (1 - left - right). Visibility and presence are kept.

    Inputs:  LANDMARKS:i (NormalizedLandmarkList); LETTERBOX_PADDING ((l, t, r, b))
    Outputs: LANDMARKS:i, one per input
    Options: none

    Example config (MediaPipe's hand_landmark_cpu.pbtxt):
        node {
          calculator: "LandmarkLetterboxRemovalCalculator"
          input_stream: "LANDMARKS:landmarks"
          input_stream: "LETTERBOX_PADDING:letterbox_padding"
          output_stream: "LANDMARKS:scaled_landmarks"
        }
    """

    landmarks = Inputs(NormalizedLandmarkList, tag="LANDMARKS")
    letterbox_padding = Input(tag="LETTERBOX_PADDING")
    out = Outputs(NormalizedLandmarkList, tag="LANDMARKS")

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        if node.count(cls.landmarks) != node.count(cls.out):
            raise ValueError(f"{node.count(cls.landmarks)} LANDMARKS inputs but "
                             f"{node.count(cls.out)} outputs; they must match")

    def process(self, cc: CalculatorContext) -> None:
        padding = cc.get(self.letterbox_padding)
        if padding is None:
            return
        left, top, right, bottom = (float(v) for v in padding)
        x_scale, y_scale = 1.0 - left - right, 1.0 - top - bottom
        if x_scale <= 0 or y_scale <= 0:
            raise ValueError(f"LETTERBOX_PADDING {tuple(padding)} leaves no image")
        offset = np.array([left, top, 0.0])
        scale = np.array([x_scale, y_scale, x_scale])
        for index, landmarks in enumerate(cc.get(self.landmarks)):
            if landmarks is not None:
                xyz, visibility, presence = landmark_arrays(landmarks)
                cc.send(self.out[index],
                        landmark_list((xyz - offset) / scale, visibility, presence))
