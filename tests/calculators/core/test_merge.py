"""MergeCalculator: first present input at each timestamp."""

from __future__ import annotations

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import Graph
from mediagraph.testing import CalculatorRunner


def log(packets):
    return [(int(p.timestamp), p.value) for p in packets]


def test_interleaves_and_first_input_wins_on_ties():
    out = CalculatorRunner("MergeCalculator").run(
        {"": [("a0", 0), ("a2", 2)], ":1": [("b1", 1), ("b2", 2)], ":2": [("c3", 3)]})
    assert log(out[""]) == [(0, "a0"), (1, "b1"), (2, "a2"), (3, "c3")]


@pytest.mark.timeout(60)
def test_merges_two_branches_of_a_gate_in_a_graph():
    graph = Graph("""
        input_stream: "frames" input_stream: "use_a" output_stream: "merged"
        node { calculator: "GateCalculator" input_stream: "frames" input_stream: "ALLOW:use_a"
               output_stream: "a" }
        node { calculator: "GateCalculator" input_stream: "frames"
               input_stream: "DISALLOW:use_a" output_stream: "b" }
        node { calculator: "MergeCalculator" input_stream: "a" input_stream: "b"
               output_stream: "merged" }""")
    result = graph.run({"frames": [(i, i) for i in range(5)],
                        "use_a": [(i % 2 == 0, i) for i in range(5)]}, timeout=30)
    assert log(result["merged"]) == [(i, i) for i in range(5)]
