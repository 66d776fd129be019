"""VisibilityCopyCalculator: visibility and presence copied from one landmark list to another."""

from __future__ import annotations

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.formats import (Landmark, LandmarkList, NormalizedLandmark,
                                NormalizedLandmarkList)
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)
SOURCE = NormalizedLandmarkList((NormalizedLandmark(0.1, 0.2, 0.0, 0.9, 0.8),
                                 NormalizedLandmark(0.3, 0.4, 0.0, 0.2, 0.1)))
TARGET = LandmarkList((Landmark(1.0, 2.0, 3.0), Landmark(4.0, 5.0, 6.0)))


@pytest.mark.parametrize("options, expected", [
    ({}, [(0.9, 0.8), (0.2, 0.1)]),
    ({"copy_presence": False}, [(0.9, None), (0.2, None)]),
])
def test_world_landmarks_get_the_landmarks_visibility(options, expected):
    out = CalculatorRunner("VisibilityCopyCalculator", options=options,
                           outputs=["LANDMARKS_TO"]).run(
        {"NORM_LANDMARKS_FROM": [(SOURCE, 0)], "LANDMARKS_TO": [(TARGET, 0)]})
    result = out["LANDMARKS_TO"][0].value
    assert isinstance(result, LandmarkList)
    assert [(p.x, p.y, p.z) for p in result.landmark] == [(1.0, 2.0, 3.0), (4.0, 5.0, 6.0)]
    assert [(p.visibility, p.presence) for p in result.landmark] == expected
