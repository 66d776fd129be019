"""BeginLoopCalculator / EndLoopCalculator: per-item loops on loop-internal timestamps."""

from __future__ import annotations

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import Graph, Timestamp, calculator
from mediagraph.testing import CalculatorRunner, timestamps, values


@calculator(name="ScaleItemForTest")
def scale_item(item: int, factor: int) -> int:
    return item * factor


LOOP_GRAPH = """
input_stream: "numbers"
input_stream: "factor"
output_stream: "scaled"
node {
  calculator: "BeginLoopIntCalculator"
  input_stream: "ITERABLE:numbers"
  input_stream: "CLONE:factor"
  output_stream: "ITEM:number"
  output_stream: "CLONE:factor_per_item"
  output_stream: "BATCH_END:numbers_timestamp"
}
node {
  calculator: "ScaleItemForTest"
  input_stream: "ITEM:number"
  input_stream: "FACTOR:factor_per_item"
  output_stream: "OUTPUT:scaled_number"
}
node {
  calculator: "EndLoopCalculator"
  input_stream: "ITEM:scaled_number"
  input_stream: "BATCH_END:numbers_timestamp"
  output_stream: "ITERABLE:scaled"
}
"""


def test_begin_loop_gives_items_consecutive_loop_timestamps():
    runner = CalculatorRunner("BeginLoopCalculator", outputs=["ITEM", "BATCH_END"])
    out = runner.run({"ITERABLE": [([1, 2, 3], 100), ([], 200), ((4,), 300)]})
    assert values(out["ITEM"]) == [1, 2, 3, 4]
    assert timestamps(out["ITEM"]) == [0, 1, 2, 4]  # 3 is used up by the empty list
    assert [(int(p.timestamp), p.value) for p in out["BATCH_END"]] == [
        (2, Timestamp(100)), (3, Timestamp(200)), (4, Timestamp(300))]


def test_begin_loop_clones_side_streams_at_every_item():
    runner = CalculatorRunner("BeginLoopCalculator", outputs=["ITEM", "CLONE", "BATCH_END"])
    out = runner.run({"ITERABLE": [(["a", "b"], 10), (["c"], 20)],
                      "CLONE": [("ten", 10), ("twenty", 20)]})
    assert [(int(p.timestamp), p.value) for p in out["CLONE"]] == [
        (0, "ten"), (1, "ten"), (2, "twenty")]


def test_end_loop_collects_items_at_batch_end_timestamp():
    runner = CalculatorRunner("EndLoopCalculator")
    out = runner.run({"ITEM": [("a", 0), ("b", 1), ("c", 4)],
                      "BATCH_END": [(Timestamp(100), 1), (Timestamp(200), 3),
                                    (Timestamp(300), 4)]})
    assert [(int(p.timestamp), p.value) for p in out["ITERABLE"]] == [
        (100, ["a", "b"]), (300, ["c"])]


@pytest.mark.timeout(60)
def test_loop_over_lists_in_a_graph():
    lists = [[1, 2, 3], [], [4], [5, 6]]
    result = Graph(LOOP_GRAPH).run({
        "numbers": [(v, (i + 1) * 1000) for i, v in enumerate(lists)],
        "factor": [(10 * (i + 1), (i + 1) * 1000) for i in range(len(lists))],
    }, timeout=30)
    assert [(int(p.timestamp), p.value) for p in result["scaled"]] == [
        (1000, [10, 20, 30]), (3000, [120]), (4000, [200, 240])]


@pytest.mark.timeout(60)
def test_typed_aliases_load_mediapipe_names():
    graph = Graph("""
        input_stream: "rects"
        output_stream: "rects_out"
        node { calculator: "BeginLoopNormalizedRectCalculator" input_stream: "ITERABLE:rects"
               output_stream: "ITEM:rect" output_stream: "BATCH_END:ts" }
        node { calculator: "EndLoopNormalizedRectCalculator" input_stream: "ITEM:rect"
               input_stream: "BATCH_END:ts" output_stream: "ITERABLE:rects_out" }""")
    result = graph.run({"rects": [(["r1", "r2"], 5)]}, timeout=30)
    assert [(int(p.timestamp), p.value) for p in result["rects_out"]] == [(5, ["r1", "r2"])]
