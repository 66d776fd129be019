"""SetLandmarkVisibilityCalculator: MediaPipe's one-landmark visibility setter."""

from __future__ import annotations

import pytest

import mediagraph as mg
import mediagraph.calculators  # noqa: F401
from mediagraph.formats import NormalizedLandmark, NormalizedLandmarkList
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)

ONE = NormalizedLandmarkList((NormalizedLandmark(0.2, 0.3, 0.1, visibility=0.1, presence=0.9),))


def test_sets_the_visibility_and_keeps_the_rest():
    out = CalculatorRunner("SetLandmarkVisibilityCalculator").run(
        {"NORM_LANDMARKS": [(ONE, 0), (ONE, 1)], "VISIBILITY": [(100.0, 0)]})["NORM_LANDMARKS"]
    assert [p.timestamp.value for p in out] == [0]           # nothing without a visibility
    assert out[0].value.landmark == (NormalizedLandmark(0.2, 0.3, 0.1, 100.0, 0.9),)


def test_a_list_of_two_landmarks_is_an_error():
    two = NormalizedLandmarkList(ONE.landmark * 2)
    with pytest.raises(mg.MediaGraphError) as error:
        CalculatorRunner("SetLandmarkVisibilityCalculator").run(
            {"NORM_LANDMARKS": [(two, 0)], "VISIBILITY": [(1.0, 0)]})
    assert "exactly one" in str(error.value.__cause__ or error.value)
