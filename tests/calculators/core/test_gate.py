"""GateCalculator: ALLOW/DISALLOW as stream, side packet or option; STATE_CHANGE."""

from __future__ import annotations

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.core.gate import GateCalculatorOptions, GateState
from mediagraph import Graph, GraphConfigError, parse_config
from mediagraph.testing import CalculatorRunner, timestamps, values

DATA = [(c, i) for i, c in enumerate("abcd")]


def log(packets):
    return [(int(p.timestamp), p.value) for p in packets]


def test_allow_stream_passes_only_allowed_timestamps_and_reports_changes():
    runner = CalculatorRunner("GateCalculator", outputs=["", "STATE_CHANGE"])
    out = runner.run({"": DATA, "ALLOW": [(True, 0), (False, 1), (False, 2), (True, 3)]})
    assert log(out[""]) == [(0, "a"), (3, "d")]
    assert log(out["STATE_CHANGE"]) == [(1, False), (3, True)]


def test_disallow_stream_inverts():
    runner = CalculatorRunner("GateCalculator", outputs=[""])
    out = runner.run({"": DATA, "DISALLOW": [(True, 0), (False, 1), (False, 2), (True, 3)]})
    assert values(out[""]) == ["b", "c"]


@pytest.mark.parametrize("as_allow, expected", [(False, ["a"]), (True, ["a", "b", "c"])])
def test_missing_control_packet_follows_empty_packets_as_allow(as_allow, expected):
    runner = CalculatorRunner("GateCalculator", outputs=[""],
                              options={"empty_packets_as_allow": as_allow})
    out = runner.run({"": DATA[:3], "ALLOW": [(True, 0)]})
    assert values(out[""]) == expected


@pytest.mark.parametrize("side, value, expected", [
    ("ALLOW", True, list("abcd")), ("ALLOW", False, []),
    ("DISALLOW", False, list("abcd")), ("DISALLOW", True, [])])
def test_side_packet_fixes_the_gate_for_the_run(side, value, expected):
    runner = CalculatorRunner("GateCalculator", outputs=[""])
    out = runner.run({"": DATA}, {side: value})
    assert values(out[""]) == expected


@pytest.mark.parametrize("allow, expected", [(True, list("abcd")), (False, [])])
def test_option_decides_without_any_control(allow, expected):
    runner = CalculatorRunner("GateCalculator", outputs=[""], options={"allow": allow})
    assert values(runner.run({"": DATA})[""]) == expected


def test_initial_state_makes_first_change_visible():
    runner = CalculatorRunner("GateCalculator", outputs=["", "STATE_CHANGE"],
                              options={"initial_gate_state": GateState.GATE_ALLOW})
    out = runner.run({"": DATA[:2], "ALLOW": [(False, 0), (False, 1)]})
    assert log(out["STATE_CHANGE"]) == [(0, False)]
    assert out[""] == []


@pytest.mark.parametrize("streams, sides", [
    ({"ALLOW": [(True, 0)], "DISALLOW": [(True, 0)]}, {}),
    ({"ALLOW": [(True, 0)]}, {"DISALLOW": False}),
    ({}, {"ALLOW": True, "DISALLOW": False})])
def test_more_than_one_control_raises_at_validation(streams, sides):
    runner = CalculatorRunner("GateCalculator", outputs=[""])
    with pytest.raises(GraphConfigError, match="one of ALLOW or DISALLOW"):
        runner.run({"": DATA[:1], **streams}, sides)


def test_options_parse_with_mediapipe_numbers():
    config = parse_config("""
        input_stream: "in"
        node { calculator: "GateCalculator" input_stream: "in" output_stream: "out"
               options { [mediapipe.GateCalculatorOptions.ext] {
                 empty_packets_as_allow: true allow: true
                 initial_gate_state: GATE_DISALLOW } } }""")
    message = config.node[0].options.Extensions[GateCalculatorOptions.extension()]
    assert GateCalculatorOptions.extension_number == 261754847
    assert message.SerializeToString() == bytes([0x08, 1, 0x10, 1, 0x18, 3])


@pytest.mark.timeout(60)
def test_gate_in_a_graph_with_state_change():
    graph = Graph("""
        input_stream: "frames"
        input_stream: "enabled"
        output_stream: "gated"
        output_stream: "changes"
        node {
          calculator: "GateCalculator"
          input_stream: "frames"
          input_stream: "ALLOW:enabled"
          output_stream: "gated"
          output_stream: "STATE_CHANGE:changes"
          options { [mediapipe.GateCalculatorOptions.ext] { empty_packets_as_allow: true } }
        }""")
    result = graph.run({"frames": [(i, i) for i in range(6)],
                        "enabled": [(True, 0), (False, 2), (True, 4)]}, timeout=30)
    assert timestamps(result["gated"]) == [0, 1, 3, 4, 5]
    assert log(result["changes"]) == [(2, False), (3, True)]
