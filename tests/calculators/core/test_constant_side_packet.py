"""ConstantSidePacketCalculator: literal side packets from options."""

from __future__ import annotations

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.core.constant_side_packet import (ConstantSidePacket,
                                                   ConstantSidePacketCalculatorOptions)
from mediagraph import Graph, GraphConfigError, parse_config
from mediagraph.testing import CalculatorRunner


def test_values_of_each_kind_become_side_packets():
    options = {"packet": [ConstantSidePacket(int_value=2), ConstantSidePacket(bool_value=False),
                          ConstantSidePacket(string_value="model.tflite"),
                          ConstantSidePacket(double_value=0.25),
                          ConstantSidePacket(int64_value=2**40)]}
    keys = ["PACKET", "PACKET:1", "PACKET:2", "PACKET:3", "PACKET:4"]
    runner = CalculatorRunner("ConstantSidePacketCalculator", options=options, side_outputs=keys)
    runner.run()
    assert [runner.output_side_packets[k] for k in keys] == [2, False, "model.tflite", 0.25,
                                                             2**40]


def test_count_mismatch_raises():
    runner = CalculatorRunner("ConstantSidePacketCalculator",
                              options={"packet": [ConstantSidePacket(int_value=1)]},
                              side_outputs=["PACKET", "PACKET:1"])
    with pytest.raises(GraphConfigError, match="1 packets in the options"):
        runner.run()


def test_packet_without_a_value_raises():
    runner = CalculatorRunner("ConstantSidePacketCalculator",
                              options={"packet": [ConstantSidePacket()]}, side_outputs=["PACKET"])
    with pytest.raises(GraphConfigError, match="none of its supported values"):
        runner.run()


def test_mediapipe_text_and_wire_format():
    config = parse_config("""
        node { calculator: "ConstantSidePacketCalculator"
               output_side_packet: "PACKET:n"
               options { [mediapipe.ConstantSidePacketCalculatorOptions.ext] {
                 packet { int_value: 2 } packet { float_value: 1.5 } } } }""")
    message = config.node[0].options.Extensions[ConstantSidePacketCalculatorOptions.extension()]
    assert ConstantSidePacketCalculatorOptions.extension_number == 291214597
    # packet=1 (length-delimited) holding int_value=1 / float_value=2 (fixed32 1.5)
    assert message.SerializeToString() == bytes([0x0A, 2, 0x08, 2,
                                                 0x0A, 5, 0x15, 0x00, 0x00, 0xC0, 0x3F])
    parsed = ConstantSidePacketCalculatorOptions.from_message(message)
    assert [p.value() for p in parsed.packet] == [2, 1.5]


@pytest.mark.timeout(60)
def test_constant_feeds_another_node_in_a_graph():
    graph = Graph("""
        output_stream: "limits"
        node {
          calculator: "ConstantSidePacketCalculator"
          output_side_packet: "PACKET:0:num_hands"
          output_side_packet: "PACKET:1:label"
          options { [mediapipe.ConstantSidePacketCalculatorOptions.ext] {
            packet { int_value: 2 } packet { string_value: "hands" } } }
        }
        node { calculator: "SidePacketToStreamCalculator" input_side_packet: "num_hands"
               input_side_packet: "label" output_stream: "AT_ZERO:0:limits"
               output_stream: "AT_ZERO:1:label_stream" }""")
    result = graph.run(outputs=["limits", "label_stream"], timeout=30)
    assert [(int(p.timestamp), p.value) for p in result["limits"]] == [(0, 2)]
    assert [p.value for p in result["label_stream"]] == ["hands"]
    assert graph.get_output_side_packet("label") == "hands"
