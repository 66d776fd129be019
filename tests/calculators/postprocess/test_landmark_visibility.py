"""LandmarkVisibilityCalculator: one landmark's visibility as a float stream."""

from __future__ import annotations

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.formats import NormalizedLandmark, NormalizedLandmarkList
from mediagraph.testing import CalculatorRunner, timestamps

pytestmark = pytest.mark.timeout(60)


def run(lists):
    return CalculatorRunner("LandmarkVisibilityCalculator").run(
        {"NORM_LANDMARKS": [(v, t) for t, v in enumerate(lists)]})["VISIBILITY"]


def one(visibility):
    return NormalizedLandmarkList((NormalizedLandmark(0.5, 0.5, 0.0, visibility),))


def test_sends_the_landmarks_visibility_at_its_timestamp():
    out = run([one(0.75), one(0.125)])
    assert [p.value for p in out] == [0.75, 0.125] and timestamps(out) == [0, 1]


def test_a_landmark_without_visibility_reads_zero():
    assert run([one(None)])[0].value == 0.0


@pytest.mark.parametrize("count", [0, 2])
def test_a_list_of_other_than_one_landmark_fails(count):
    points = NormalizedLandmarkList(tuple(NormalizedLandmark(0.1, 0.1, 0.0, 0.5)
                                          for _ in range(count)))
    with pytest.raises(Exception, match=f"holds {count} landmarks"):
        run([points])
