"""PreviousLoopbackCalculator: the previous loop output at each MAIN timestamp."""

from __future__ import annotations

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import Calculator, CalculatorContext, Graph, Input, Output
from mediagraph.testing import CalculatorRunner, timestamps, values


class AddToPrevious(Calculator, name="AddToPreviousForTest"):
    """TOTAL = VALUE + PREV (0 without PREV); a VALUE of 0 produces nothing."""

    value = Input(int, tag="VALUE")
    prev = Input(int, tag="PREV")
    total = Output(int, tag="TOTAL")

    def process(self, cc: CalculatorContext) -> None:
        value = cc.get(self.value)
        if value:
            cc.send(self.total, value + cc.get(self.prev, 0))


RUNNING_SUM = """
input_stream: "value"
output_stream: "total"
node {
  calculator: "PreviousLoopbackCalculator"
  input_stream: "MAIN:value"
  input_stream: "LOOP:total"
  input_stream_info { tag_index: "LOOP" back_edge: true }
  output_stream: "PREV_LOOP:prev_total"
}
node {
  calculator: "AddToPreviousForTest"
  input_stream: "VALUE:value"
  input_stream: "PREV:prev_total"
  output_stream: "TOTAL:total"
}
"""


def test_emits_previous_loop_packet_at_each_main_timestamp():
    runner = CalculatorRunner("PreviousLoopbackCalculator", back_edges=["LOOP"])
    out = runner.run({"MAIN": [("m", 0), ("m", 10), ("m", 20), ("m", 30)],
                      "LOOP": [("x", 0), ("y", 10), ("z", 20)]})
    assert values(out["PREV_LOOP"]) == ["x", "y", "z"]
    assert timestamps(out["PREV_LOOP"]) == [10, 20, 30]


def test_missing_loop_packet_gives_nothing_at_next_main():
    runner = CalculatorRunner("PreviousLoopbackCalculator", back_edges=["LOOP"])
    out = runner.run({"MAIN": [("m", 0), ("m", 10), ("m", 20), ("m", 30)],
                      "LOOP": [("x", 0), ("z", 20)]})
    assert timestamps(out["PREV_LOOP"]) == [10, 30]
    assert values(out["PREV_LOOP"]) == ["x", "z"]


def test_loop_packet_matches_previous_main_not_previous_timestamp():
    runner = CalculatorRunner("PreviousLoopbackCalculator", back_edges=["LOOP"])
    out = runner.run({"MAIN": [("m", 5), ("m", 100)], "LOOP": [("at5", 5), ("at50", 50)]})
    assert [(int(p.timestamp), p.value) for p in out["PREV_LOOP"]] == [(100, "at5")]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("attempt", range(5))
def test_running_sum_over_back_edge(attempt):
    numbers = list(range(1, 41))
    result = Graph(RUNNING_SUM).run({"value": [(v, i * 10) for i, v in enumerate(numbers)]},
                                    timeout=30)
    sums = [sum(numbers[: i + 1]) for i in range(len(numbers))]
    assert values(result["total"]) == sums
    assert timestamps(result["total"]) == [i * 10 for i in range(len(numbers))]


@pytest.mark.timeout(60)
def test_running_sum_restarts_after_an_iteration_without_output():
    # The loop body emits nothing for 0: the next PREV_LOOP is settled by LOOP's bound.
    numbers = [1, 2, 0, 3, 4, 0, 0, 5]
    result = Graph(RUNNING_SUM).run({"value": [(v, i) for i, v in enumerate(numbers)]},
                                    timeout=30)
    assert [(int(p.timestamp), p.value) for p in result["total"]] == [
        (0, 1), (1, 3), (3, 3), (4, 7), (7, 5)]
