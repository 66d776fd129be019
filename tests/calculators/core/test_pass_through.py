"""PassThroughCalculator and CountingSourceCalculator."""

from __future__ import annotations

import pytest

import mediagraph as mg
from mediagraph.testing import CalculatorRunner, timestamps, values

pytestmark = pytest.mark.timeout(60)


def test_each_input_goes_to_the_output_with_its_index():
    out = CalculatorRunner("PassThroughCalculator").run(
        {"": [(1, 0), (2, 5)], ":1": [("a", 5)]})
    assert values(out[""]) == [1, 2] and timestamps(out[""]) == [0, 5]
    assert values(out[":1"]) == ["a"] and timestamps(out[":1"]) == [5]


def test_the_same_packet_object_is_forwarded():
    import numpy as np

    frame = np.zeros((2, 2))
    out = CalculatorRunner("PassThroughCalculator").run({"": [mg.Packet(frame, 0)]})
    assert out[""][0].value is frame


def test_mismatched_counts_fail_at_validation():
    with pytest.raises(mg.GraphConfigError, match="2 inputs but 1 outputs"):
        mg.Graph('input_stream: "a" input_stream: "b" node { calculator: '
                 '"PassThroughCalculator" input_stream: "a" input_stream: "b" '
                 'output_stream: "c" }')


def test_counting_source_in_a_graph():
    graph = mg.Graph("""
        node { calculator: "CountingSourceCalculator" output_stream: "n"
               input_side_packet: "COUNT:count"
               node_options { [type.googleapis.com/mediagraph.CountingSourceCalculatorOptions] {
                 start: 10 interval_us: 100 first_timestamp: 1000 } } }
        node { calculator: "PassThroughCalculator" input_stream: "n" output_stream: "out" }
    """)
    out = graph.run(side_packets={"count": 4}, timeout=10)["out"]
    assert values(out) == [10, 11, 12, 13] and timestamps(out) == [1000, 1100, 1200, 1300]


def test_counting_source_rejects_a_negative_count():
    with pytest.raises(mg.CalculatorError, match="negative"):
        CalculatorRunner("CountingSourceCalculator").run(side_packets={"COUNT": -1})
