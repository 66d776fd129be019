"""UpdateFaceLandmarksCalculator: 142 eye landmarks replace theirs in a 468-landmark mesh."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph as mg
import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.postprocess.update_face_landmarks import EYE_LANDMARK_INDICES
from mediagraph.formats import NormalizedLandmark, NormalizedLandmarkList
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


def mesh() -> NormalizedLandmarkList:
    return NormalizedLandmarkList(tuple(NormalizedLandmark(i / 468, 0.5, 0.1, None, 0.9)
                                        for i in range(468)))


def test_the_eye_landmarks_replace_theirs_and_the_rest_stay():
    eyes = np.random.default_rng(0).uniform(0, 1, (142, 3))
    out = CalculatorRunner("UpdateFaceLandmarksCalculator").run(
        {"FACE_LANDMARKS": [(mesh(), 0)],
         "NEW_EYE_LANDMARKS": [(NormalizedLandmarkList.from_array(eyes), 0)]})
    updated = out["UPDATED_FACE_LANDMARKS"][0].value
    got = updated.to_array()
    np.testing.assert_allclose(got[list(EYE_LANDMARK_INDICES)], eyes, rtol=1e-6)
    rest = sorted(set(range(468)) - set(EYE_LANDMARK_INDICES))
    np.testing.assert_allclose(got[rest], mesh().to_array()[rest])
    assert updated.landmark[33].visibility == 0.0 and updated.landmark[33].presence == 0.9
    assert updated.landmark[rest[0]].visibility is None
    assert len(set(EYE_LANDMARK_INDICES)) == 142


def test_an_eye_list_of_the_wrong_size_fails_the_run():
    with pytest.raises(mg.CalculatorError, match="NEW_EYE_LANDMARKS has 71 landmarks, not 142"):
        CalculatorRunner("UpdateFaceLandmarksCalculator").run(
            {"FACE_LANDMARKS": [(mesh(), 0)],
             "NEW_EYE_LANDMARKS": [(NormalizedLandmarkList.from_array(np.zeros((71, 3))), 0)]})
