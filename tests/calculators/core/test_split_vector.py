"""SplitVectorCalculator and its typed aliases: ranges, element_only, combine_outputs."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.core.split_vector import Range
from mediagraph import MediaGraphError
from mediagraph.formats import NormalizedLandmarkList
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


def split(name, value, options, outputs):
    out = CalculatorRunner(name, options=options, outputs=outputs).run({"": [(value, 0)]})
    return [out[o][0].value for o in outputs]


def test_tensor_vector_splits_into_one_list_per_range():
    tensors = [np.zeros(1), np.ones(2), np.full(3, 2.0), np.full(4, 3.0)]
    options = {"ranges": [Range(begin=0, end=1), Range(begin=1, end=3)]}
    first, second = split("SplitTensorVectorCalculator", tensors, options, ["", ":1"])
    assert len(first) == 1 and first[0] is tensors[0]
    assert [t.size for t in second] == [2, 3]


def test_element_only_sends_the_element():
    (only,) = split("SplitVectorCalculator", ["a", "b"],
                    {"ranges": [Range(begin=1, end=2)], "element_only": True}, [""])
    assert only == "b"


def test_landmark_list_ranges_combined_like_hand_landmarks_to_roi():
    landmarks = NormalizedLandmarkList.from_array(np.arange(63).reshape(21, 3) / 100)
    ranges = [Range(begin=0, end=4), Range(begin=5, end=7), Range(begin=9, end=11),
              Range(begin=13, end=15), Range(begin=17, end=19)]
    (partial,) = split("SplitNormalizedLandmarkListCalculator", landmarks,
                       {"ranges": ranges, "combine_outputs": True}, [""])
    assert isinstance(partial, NormalizedLandmarkList)
    kept = [0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18]
    np.testing.assert_allclose(partial.to_array(), landmarks.to_array()[kept])


def test_range_past_the_end_raises():
    with pytest.raises(MediaGraphError, match="past the end"):
        split("SplitVectorCalculator", [1], {"ranges": [Range(begin=0, end=2)]}, [""])


def test_world_landmark_lists_stay_world_landmark_lists():
    from mediagraph.formats import LandmarkList

    world = LandmarkList.from_array(np.arange(39 * 3, dtype=np.float32).reshape(39, 3))
    (part,) = split("SplitLandmarkListCalculator", world,
                    {"ranges": [Range(begin=0, end=33)]}, [""])
    assert isinstance(part, LandmarkList) and len(part) == 33
    np.testing.assert_array_equal(part.to_array(), world.to_array()[:33])
