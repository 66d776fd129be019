"""WorldLandmarkProjectionCalculator: turn world landmarks by the crop rect's rotation."""

from __future__ import annotations

import numpy as np

from mediagraph.calculators.postprocess._geometry import landmark_arrays, landmark_list
from mediagraph import Calculator, CalculatorContext, Input, Output
from mediagraph.formats import LandmarkList, NormalizedRect


class WorldLandmarkProjectionCalculator(Calculator):
    """Rotate world landmarks (metres, origin at the crop centre) by NORM_RECT's rotation.

    A model sees the hand upright in its rotated crop; this turns its x/y back into the
    image's orientation. z is unchanged. Without NORM_RECT the landmarks pass unchanged.

    Inputs:  LANDMARKS (LandmarkList, world coordinates);
             NORM_RECT (NormalizedRect, optional)
    Outputs: LANDMARKS
    Options: none

    Example config (MediaPipe's hand_landmark_cpu.pbtxt):
        node {
          calculator: "WorldLandmarkProjectionCalculator"
          input_stream: "LANDMARKS:unprojected_world_landmarks"
          input_stream: "NORM_RECT:hand_rect"
          output_stream: "LANDMARKS:hand_world_landmarks"
        }
    """

    landmarks = Input(LandmarkList, tag="LANDMARKS")
    norm_rect = Input(NormalizedRect, tag="NORM_RECT", optional=True)
    out = Output(LandmarkList, tag="LANDMARKS")

    def process(self, cc: CalculatorContext) -> None:
        landmarks = cc.get(self.landmarks)
        if landmarks is None:
            return
        rect = cc.get(self.norm_rect)
        if rect is None or rect.rotation == 0.0:
            cc.send(self.out, landmarks)
            return
        xyz, visibility, presence = landmark_arrays(landmarks)
        c, s = np.cos(rect.rotation), np.sin(rect.rotation)
        x, y = xyz[:, 0].copy(), xyz[:, 1].copy()
        xyz[:, 0] = c * x - s * y
        xyz[:, 1] = s * x + c * y
        cc.send(self.out, landmark_list(xyz, visibility, presence, world=True))
