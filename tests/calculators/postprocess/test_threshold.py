"""ThresholdingCalculator: strictly greater accepts; threshold from option, side or stream."""

from __future__ import annotations

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import GraphConfigError
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


def test_flag_accept_and_reject_follow_value_above_threshold():
    runner = CalculatorRunner("ThresholdingCalculator", options={"threshold": 0.5},
                              outputs=["FLAG", "ACCEPT", "REJECT"])
    out = runner.run({"FLOAT": [(0.7, 0), (0.5, 1), (0.2, 2)]})
    assert [p.value for p in out["FLAG"]] == [True, False, False]  # equal is rejected
    assert [int(p.timestamp) for p in out["ACCEPT"]] == [0]
    assert [int(p.timestamp) for p in out["REJECT"]] == [1, 2]


def test_threshold_stream_holds_its_latest_value():
    out = CalculatorRunner("ThresholdingCalculator", outputs=["FLAG"]).run(
        {"FLOAT": [(0.3, 0), (0.3, 1)], "THRESHOLD": [(0.1, 0), (0.4, 1)]})
    assert [p.value for p in out["FLAG"]] == [True, False]


def test_threshold_side_packet():
    out = CalculatorRunner("ThresholdingCalculator", outputs=["FLAG"]).run(
        {"FLOAT": [(0.3, 0)]}, side_packets={"THRESHOLD": 0.2})
    assert out["FLAG"][0].value is True


def test_threshold_given_twice_raises_at_validation():
    with pytest.raises(GraphConfigError, match="threshold once"):
        CalculatorRunner("ThresholdingCalculator", options={"threshold": 0.5},
                         outputs=["FLAG"]).run({"FLOAT": [(0.3, 0)]},
                                               side_packets={"THRESHOLD": 0.2})
