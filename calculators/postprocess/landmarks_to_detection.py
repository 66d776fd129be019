"""LandmarksToDetectionCalculator: the box around (some of) a landmark list."""

from __future__ import annotations

from mediagraph.calculators.postprocess._geometry import landmark_arrays
from mediagraph import Calculator, CalculatorContext, Input, Options, Output, option
from mediagraph.formats import (
    Detection,
    Keypoints,
    NormalizedLandmarkList,
    RelativeBoundingBox,
)


class LandmarksToDetectionCalculatorOptions(
        Options, proto_name="mediapipe.LandmarksToDetectionCalculatorOptions",
        extension=260199669):
    """MediaPipe's `landmarks_to_detection_calculator.proto`."""

    selected_landmark_indices: tuple[int, ...] = option(1, default=())


class LandmarksToDetectionCalculator(Calculator):
    """A Detection whose box bounds the selected landmarks, which become its keypoints.

    No selection means every landmark. The detection has no score or label.

    Inputs:  NORM_LANDMARKS (NormalizedLandmarkList)
    Outputs: DETECTION (Detection with relative_bounding_box and relative_keypoints)
    Options: LandmarksToDetectionCalculatorOptions (ext 260199669): selected_landmark_indices

    Example config:
        node {
          calculator: "LandmarksToDetectionCalculator"
          input_stream: "NORM_LANDMARKS:landmarks"
          output_stream: "DETECTION:detection"
          options { [mediapipe.LandmarksToDetectionCalculatorOptions.ext] {
            selected_landmark_indices: 0 selected_landmark_indices: 5 } }
        }
    """

    Options = LandmarksToDetectionCalculatorOptions

    landmarks = Input(NormalizedLandmarkList, tag="NORM_LANDMARKS")
    detection = Output(Detection, tag="DETECTION")

    def process(self, cc: CalculatorContext) -> None:
        landmarks = cc.get(self.landmarks)
        if landmarks is None:
            return
        cc.send(self.detection, landmarks_to_detection(
            landmarks, self.options.selected_landmark_indices))


def landmarks_to_detection(landmarks: NormalizedLandmarkList,
                           indices: tuple[int, ...] = ()) -> Detection:
    xyz, _, _ = landmark_arrays(landmarks)
    if indices:
        xyz = xyz[list(indices)]
    if not len(xyz):
        raise ValueError("no landmarks to make a detection from")
    (xmin, ymin), (xmax, ymax) = xyz[:, :2].min(axis=0), xyz[:, :2].max(axis=0)
    box = RelativeBoundingBox(float(xmin), float(ymin), float(xmax - xmin), float(ymax - ymin))
    keypoints = Keypoints(xyz[:, :2])
    return Detection(relative_bounding_box=box, relative_keypoints=keypoints)
