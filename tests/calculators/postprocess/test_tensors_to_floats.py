"""TensorsToFloatsCalculator: one float or all of them, optionally through a sigmoid."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import MediaGraphError
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


def floats(values, options=None, outputs=("FLOAT",)):
    out = CalculatorRunner("TensorsToFloatsCalculator", options=options, outputs=outputs).run(
        {"TENSORS": [([np.asarray(values, np.float32)], 0)]})
    return [out[o][0].value for o in outputs]


def test_a_one_value_tensor_is_a_float():
    assert floats([[0.25]]) == [pytest.approx(0.25)]


def test_sigmoid_activation():
    assert floats([[0.0]], {"activation": "SIGMOID"}) == [pytest.approx(0.5)]


def test_floats_reads_every_value():
    assert floats([[1.0, 2.0], [3.0, 4.0]], outputs=("FLOATS",)) == [[1.0, 2.0, 3.0, 4.0]]


def test_float_from_many_values_raises():
    with pytest.raises(MediaGraphError, match="FLOATS"):
        floats([1.0, 2.0])
