"""ConstantSidePacketCalculator: output side packets given as literals in the options."""

from __future__ import annotations

from typing import Any

from mediagraph import Calculator, CalculatorContext, NodeConfig, Options, SideOutputs, Stop, option


_NESTED_NAME = "mediapipe.ConstantSidePacketCalculatorOptions_ConstantSidePacket"


class ConstantSidePacket(Options, proto_name=_NESTED_NAME):
    """One value; MediaPipe's nested `ConstantSidePacket` message with its `value` oneof.

    Set exactly one field. Field numbers match MediaPipe's, so text and binary configs
    load unchanged; the message-typed members (classification_list_value=6,
    landmark_list_value=7, time_series_header_value=10) are not supported.
    """

    int_value: int | None = option(1, default=None, proto="int32")
    float_value: float | None = option(2, default=None, proto="float")
    bool_value: bool | None = option(3, default=None, proto="bool")
    string_value: str | None = option(4, default=None, proto="string")
    uint64_value: int | None = option(5, default=None, proto="uint64")
    double_value: float | None = option(9, default=None, proto="double")
    int64_value: int | None = option(11, default=None, proto="int64")

    def value(self) -> Any:
        """The one value that is set (raises ValueError when none is)."""
        for name in ("int_value", "float_value", "bool_value", "string_value", "uint64_value",
                     "double_value", "int64_value"):
            value = getattr(self, name)
            if value is not None:
                return value
        raise ValueError("a ConstantSidePacket sets none of its supported values")


class ConstantSidePacketCalculatorOptions(
        Options, proto_name="mediapipe.ConstantSidePacketCalculatorOptions", extension=291214597):
    """MediaPipe's `constant_side_packet_calculator.proto`."""

    packet: tuple[ConstantSidePacket, ...] = option(1, default=())

    def check(self) -> None:
        for packet in self.packet:
            packet.value()  # raises when a packet sets none of its values


class ConstantSidePacketCalculator(Calculator):
    """Set output side packet PACKET:i to the value of the i-th `packet` in the options.

    Inputs:  none
    Outputs: none
    Side outputs: PACKET:i (int, float, bool, str), one per `packet` option
    Options: ConstantSidePacketCalculatorOptions: repeated packet { int_value | float_value |
             bool_value | string_value | uint64_value | double_value | int64_value }

    Example config:
        node {
          calculator: "ConstantSidePacketCalculator"
          output_side_packet: "PACKET:0:num_hands"
          output_side_packet: "PACKET:1:use_prev_landmarks"
          options { [mediapipe.ConstantSidePacketCalculatorOptions.ext] {
            packet { int_value: 2 }
            packet { bool_value: true } } }
        }
    """

    Options = ConstantSidePacketCalculatorOptions

    packets = SideOutputs(tag="PACKET")

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        configured = node.options.packet
        if node.count(cls.packets) != len(configured):
            raise ValueError(f"{node.count(cls.packets)} PACKET side outputs but "
                             f"{len(configured)} packets in the options; they must match")

    def open(self, cc: CalculatorContext) -> None:
        configured = self.options.packet
        for i, packet in enumerate(configured):
            cc.set_side(self.packets[i], packet.value())

    def process(self, cc: CalculatorContext) -> Any:
        return Stop
