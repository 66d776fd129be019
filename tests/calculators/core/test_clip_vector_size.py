"""ClipVectorSizeCalculator and CollectionHasMinSizeCalculator (side packet overrides)."""

from __future__ import annotations

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("options, side, expected", [
    (None, None, [1]), ({"max_vec_size": 2}, None, [1, 2]), (None, 3, [1, 2, 3])])
def test_clip_keeps_the_first_elements(options, side, expected):
    runner = CalculatorRunner("ClipDetectionVectorSizeCalculator", options=options)
    out = runner.run({"": [([1, 2, 3, 4], 0)]}, side_packets={"": side} if side else None)
    assert out[""][0].value == expected


@pytest.mark.parametrize("items, side, expected", [([], 1, False), ([1], 1, True),
                                                   ([1], 2, False), ([], None, True)])
def test_has_min_size(items, side, expected):
    runner = CalculatorRunner("NormalizedRectVectorHasMinSizeCalculator")
    out = runner.run({"ITERABLE": [(items, 0)]}, side_packets={"": side} if side else None)
    assert out[""][0].value is expected
