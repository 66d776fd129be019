"""MakePairCalculator: two streams into tuples."""

from __future__ import annotations

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import Graph, GraphConfigError
from mediagraph.testing import CalculatorRunner


def log(packets):
    return [(int(p.timestamp), p.value) for p in packets]


def test_pairs_values_with_none_for_absent():
    out = CalculatorRunner("MakePairCalculator").run(
        {"": [(1, 0), (2, 1)], ":1": [("a", 1), ("b", 2)]})
    assert log(out[""]) == [(0, (1, None)), (1, (2, "a")), (2, (None, "b"))]


def test_needs_exactly_two_inputs():
    with pytest.raises(GraphConfigError, match="2 untagged inputs"):
        CalculatorRunner("MakePairCalculator").run({"": [(1, 0)]})


@pytest.mark.timeout(60)
def test_make_pair_in_a_graph():
    graph = Graph("""
        input_stream: "image" input_stream: "boxes" output_stream: "both"
        node { calculator: "MakePairCalculator" input_stream: "image" input_stream: "boxes"
               output_stream: "both" }""")
    result = graph.run({"image": [("img0", 0), ("img1", 1)], "boxes": [([1], 0), ([2], 1)]},
                       timeout=30)
    assert log(result["both"]) == [(0, ("img0", [1])), (1, ("img1", [2]))]
