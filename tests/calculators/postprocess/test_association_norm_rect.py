"""AssociationNormRectCalculator: later inputs replace overlapping rects."""

from __future__ import annotations

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.formats import NormalizedRect
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)
PALM_A = NormalizedRect(0.3, 0.3, 0.2, 0.2)
PALM_B = NormalizedRect(0.8, 0.8, 0.1, 0.1)
TRACKED_A = NormalizedRect(0.31, 0.3, 0.2, 0.2, 0.5)


def associate(first, second, threshold=0.5):
    inputs = {"": [(first, 0)]}
    if second is not None:
        inputs[":1"] = [(second, 0)]
    out = CalculatorRunner("AssociationNormRectCalculator",
                           options={"min_similarity_threshold": threshold}).run(inputs)
    return out[""][0].value


def test_tracked_rect_replaces_the_palm_it_overlaps():
    assert associate([PALM_A, PALM_B], [TRACKED_A]) == [PALM_B, TRACKED_A]


def test_disjoint_rects_are_all_kept():
    assert associate([PALM_A], [PALM_B]) == [PALM_A, PALM_B]


def test_threshold_one_never_replaces():
    assert associate([PALM_A], [TRACKED_A], threshold=1.0) == [PALM_A, TRACKED_A]


def test_rects_within_one_list_are_associated_too():
    assert associate([PALM_A, TRACKED_A], None) == [TRACKED_A]
