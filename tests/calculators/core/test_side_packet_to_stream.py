"""SidePacketToStreamCalculator: side packets emitted at the tag's timestamp."""

from __future__ import annotations

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import Graph, GraphConfigError, Timestamp
from mediagraph.testing import CalculatorRunner


def log(packets):
    return [(int(p.timestamp), p.value) for p in packets]


@pytest.mark.parametrize("tag, when", [("AT_PRESTREAM", Timestamp.PRE_STREAM),
                                       ("AT_POSTSTREAM", Timestamp.POST_STREAM),
                                       ("AT_ZERO", 0)])
def test_fixed_timestamp_tags(tag, when):
    runner = CalculatorRunner("SidePacketToStreamCalculator", outputs=[tag, f"{tag}:1"])
    out = runner.run({}, {"": "first", ":1": 2})
    assert log(out[tag]) == [(int(when), "first")]
    assert log(out[f"{tag}:1"]) == [(int(when), 2)]


def test_at_timestamp_uses_timestamp_side_packet():
    runner = CalculatorRunner("SidePacketToStreamCalculator", outputs=["AT_TIMESTAMP"])
    out = runner.run({}, {"": "value", "TIMESTAMP": 12345})
    assert log(out["AT_TIMESTAMP"]) == [(12345, "value")]


def test_at_tick_repeats_at_every_tick():
    runner = CalculatorRunner("SidePacketToStreamCalculator", outputs=["AT_TICK"])
    out = runner.run({"TICK": [(None, 3), (None, 7), (None, 9)]}, {"": "v"})
    assert log(out["AT_TICK"]) == [(3, "v"), (7, "v"), (9, "v")]


def test_at_first_tick_emits_once():
    runner = CalculatorRunner("SidePacketToStreamCalculator", outputs=["AT_FIRST_TICK"])
    out = runner.run({"TICK": [(None, 3), (None, 7), (None, 9)]}, {"": "v"})
    assert log(out["AT_FIRST_TICK"]) == [(3, "v")]


@pytest.mark.parametrize("inputs, sides, outputs, match", [
    ({}, {"": 1, ":1": 2}, ["AT_ZERO", "AT_PRESTREAM"], "exactly one of"),     # two output tags
    ({"TICK": [(None, 1)]}, {"": 1}, ["AT_ZERO"], "TICK input together"),     # TICK, no AT_TICK
    ({}, {"": 1}, ["AT_TIMESTAMP"], "TIMESTAMP side packet together"),        # no TIMESTAMP
    ({}, {"": 1}, ["AT_ZERO", "AT_ZERO:1"], "each output needs its side packet"),
])
def test_bad_wiring_raises_at_validation(inputs, sides, outputs, match):
    runner = CalculatorRunner("SidePacketToStreamCalculator", outputs=outputs)
    with pytest.raises(GraphConfigError, match=match):
        runner.run(inputs, sides)


@pytest.mark.timeout(60)
def test_side_packet_at_each_frame_in_a_graph():
    graph = Graph("""
        input_stream: "frames"
        input_side_packet: "scale"
        output_stream: "scale_per_frame"
        output_stream: "header"
        node { calculator: "SidePacketToStreamCalculator" input_stream: "TICK:frames"
               input_side_packet: "scale" output_stream: "AT_TICK:scale_per_frame" }
        node { calculator: "SidePacketToStreamCalculator"
               input_side_packet: "scale" output_stream: "AT_PRESTREAM:header" }""")
    result = graph.run({"frames": [(i, i * 100) for i in range(3)]}, {"scale": 0.5},
                       timeout=30)
    assert log(result["scale_per_frame"]) == [(0, 0.5), (100, 0.5), (200, 0.5)]
    assert log(result["header"]) == [(int(Timestamp.PRE_STREAM), 0.5)]
