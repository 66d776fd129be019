"""UpdateFaceLandmarksCalculator: the iris model's eye contours laid over a face mesh."""

from __future__ import annotations


from mediagraph import Calculator, CalculatorContext, Input, Output
from mediagraph.formats import NormalizedLandmarkList

# The face mesh index of each of the 142 eye landmarks (71 left, then 71 right), in the
# iris model's order: eye contour, then halos 2 to 5 (MediaPipe's
# update_face_landmarks_calculator.cc; the same order as the attention model's eyes).
EYE_LANDMARK_INDICES = (
    33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173, 130, 25, 110,
    24, 23, 22, 26, 112, 243, 247, 30, 29, 27, 28, 56, 190, 226, 31, 228, 229, 230, 231, 232,
    233, 244, 113, 225, 224, 223, 222, 221, 189, 35, 124, 46, 53, 52, 65, 143, 111, 117, 118,
    119, 120, 121, 128, 245, 156, 70, 63, 105, 66, 107, 55, 193,
    263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398, 359, 255,
    339, 254, 253, 252, 256, 341, 463, 467, 260, 259, 257, 258, 286, 414, 446, 261, 448, 449,
    450, 451, 452, 453, 464, 342, 445, 444, 443, 442, 441, 413, 265, 353, 276, 283, 282, 295,
    372, 340, 346, 347, 348, 349, 350, 357, 465, 383, 300, 293, 334, 296, 336, 285, 417)
FACE_LANDMARKS = 468


class UpdateFaceLandmarksCalculator(Calculator):
    """A 468-landmark face mesh with its 142 eye landmarks replaced by new ones (x, y, z and
    visibility; an unset visibility becomes 0, as MediaPipe's proto copy makes it).

    MediaPipe's iris tracking feeds it the left and right eye contours of
    IrisLandmarkLeftAndRightCpu, concatenated (71 + 71). Nothing is sent at a timestamp
    without both inputs.

    Inputs:  FACE_LANDMARKS (NormalizedLandmarkList, 468),
             NEW_EYE_LANDMARKS (NormalizedLandmarkList, 142)
    Outputs: UPDATED_FACE_LANDMARKS (NormalizedLandmarkList, 468)

    Example config (mediapipe/modules/iris_landmark/
    iris_landmark_left_and_right_from_face_landmarks_cpu.pbtxt):
        node {
          calculator: "UpdateFaceLandmarksCalculator"
          input_stream: "NEW_EYE_LANDMARKS:refined_eye_landmarks"
          input_stream: "FACE_LANDMARKS:face_landmarks"
          output_stream: "UPDATED_FACE_LANDMARKS:refined_face_landmarks"
        }
    """

    face_landmarks = Input(NormalizedLandmarkList)
    new_eye_landmarks = Input(NormalizedLandmarkList)
    updated = Output(NormalizedLandmarkList, tag="UPDATED_FACE_LANDMARKS")

    def process(self, cc: CalculatorContext) -> None:
        face, eyes = cc.get(self.face_landmarks), cc.get(self.new_eye_landmarks)
        if face is None or eyes is None:
            return
        if len(face) != FACE_LANDMARKS:
            raise ValueError(f"FACE_LANDMARKS has {len(face)} landmarks, not {FACE_LANDMARKS}")
        if len(eyes) != len(EYE_LANDMARK_INDICES):
            raise ValueError(f"NEW_EYE_LANDMARKS has {len(eyes)} landmarks, not "
                             f"{len(EYE_LANDMARK_INDICES)} (71 per eye)")
        xyz, visibility, presence = face.arrays()
        eye_xyz, eye_visibility, _ = eyes.arrays()
        xyz = xyz.copy()
        visibility = list(visibility)
        for index, row, seen in zip(EYE_LANDMARK_INDICES, range(len(eye_xyz)), eye_visibility):
            xyz[index] = eye_xyz[row]
            visibility[index] = seen or 0.0
        cc.send(self.updated, NormalizedLandmarkList.from_arrays(xyz, visibility, presence))
