"""PacketClonerCalculator: latest data packets repeated at every tick."""

from __future__ import annotations

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.core.packet_cloner import PacketClonerCalculatorOptions
from mediagraph import Graph
from mediagraph.testing import CalculatorRunner

TICKS = [(None, t) for t in (0, 10, 20, 30)]


def log(packets):
    return [(int(p.timestamp), p.value) for p in packets]


def test_tick_tag_repeats_latest_packet():
    out = CalculatorRunner("PacketClonerCalculator").run(
        {"": [("a", 0), ("b", 25)], "TICK": [("t", ts) for _, ts in TICKS]})
    assert log(out[""]) == [(0, "a"), (10, "a"), (20, "a"), (30, "b")]


def test_last_untagged_input_is_the_tick():
    runner = CalculatorRunner("PacketClonerCalculator", outputs=["", ":1"])
    out = runner.run({"": [("a", 5)], ":1": [("x", 0), ("y", 15)],
                      ":2": [("t", ts) for _, ts in TICKS]})
    assert log(out[""]) == [(10, "a"), (20, "a"), (30, "a")]
    assert log(out[":1"]) == [(0, "x"), (10, "x"), (20, "y"), (30, "y")]


@pytest.mark.parametrize("field", ["output_only_when_all_inputs_received",
                                   "output_packets_only_when_all_inputs_received"])
def test_only_when_all_inputs_received_skips_early_ticks(field):
    runner = CalculatorRunner("PacketClonerCalculator", outputs=["", ":1"],
                              options={field: True})
    out = runner.run({"": [("a", 0)], ":1": [("x", 15)],
                      "TICK": [("t", ts) for _, ts in TICKS]})
    assert log(out[""]) == [(20, "a"), (30, "a")]
    assert log(out[":1"]) == [(20, "x"), (30, "x")]


def test_option_numbers_match_mediapipe():
    assert PacketClonerCalculatorOptions.extension_number == 258872085
    message = PacketClonerCalculatorOptions(
        output_packets_only_when_all_inputs_received=True).to_message()
    assert message.SerializeToString() == bytes([0x10, 1])


@pytest.mark.timeout(60)
def test_cloner_in_a_graph_feeds_a_synchronized_consumer():
    graph = Graph("""
        input_stream: "params"
        input_stream: "frames"
        output_stream: "pairs"
        node { calculator: "PacketClonerCalculator" input_stream: "params"
               input_stream: "TICK:frames" output_stream: "params_per_frame" }
        node { calculator: "MakePairCalculator" input_stream: "frames"
               input_stream: "params_per_frame" output_stream: "pairs" }""")
    result = graph.run({"params": [("p0", 0), ("p1", 35)],
                        "frames": [(f"f{t}", t) for t in range(0, 60, 10)]}, timeout=30)
    assert log(result["pairs"]) == [
        (0, ("f0", "p0")), (10, ("f10", "p0")), (20, ("f20", "p0")), (30, ("f30", "p0")),
        (40, ("f40", "p1")), (50, ("f50", "p1"))]
