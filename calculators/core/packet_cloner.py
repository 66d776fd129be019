"""PacketClonerCalculator: repeats the latest data packets at every tick."""

from __future__ import annotations

from typing import Any

from mediagraph import (Calculator, CalculatorContext, Input, Inputs, NodeConfig, Options, Outputs,
                        at_least_one, option)


class PacketClonerCalculatorOptions(Options, proto_name="mediapipe.PacketClonerCalculatorOptions",
                                    extension=258872085):
    """MediaPipe's `packet_cloner_calculator.proto`."""

    output_only_when_all_inputs_received: bool = option(
        1, default=False, doc="skip ticks (and hold bounds) until every input has a packet")
    output_packets_only_when_all_inputs_received: bool = option(
        2, default=False, doc="skip ticks until every input has a packet, but move bounds")


class PacketClonerCalculator(Calculator):
    """At each TICK packet, emit the most recent packet of every data input at its timestamp.

    The tick is the TICK-tagged input, or else the last untagged input. Inputs that
    have had no packet yet emit nothing (or, with the options, the whole tick is
    skipped until all have one). Output bounds follow the tick's progress.

    Inputs:  untagged data streams (any); TICK (any), or the last untagged input
    Outputs: untagged, one per data input
    Options: PacketClonerCalculatorOptions: output_only_when_all_inputs_received,
             output_packets_only_when_all_inputs_received

    Example config:
        node {
          calculator: "PacketClonerCalculator"
          input_stream: "camera_params"
          input_stream: "TICK:frames"
          output_stream: "camera_params_per_frame"
        }
    """

    Options = PacketClonerCalculatorOptions
    process_timestamp_bounds = True
    timestamp_offset = None

    inputs = Inputs(tag="")
    tick = Input(tag="TICK", optional=True)
    outputs = Outputs(tag="")
    groups = (at_least_one(tick, inputs, message="PacketClonerCalculator needs a TICK input or "
                           "at least one untagged input to use as the tick"),)

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        n = node.count(cls.inputs) - (0 if node.connected(cls.tick) else 1)
        if node.count(cls.outputs) != n:
            raise ValueError(f"{n} data inputs but {node.count(cls.outputs)} outputs; "
                             "PacketClonerCalculator needs one output per data input")

    def open(self, cc: CalculatorContext) -> None:
        n = cc.count(self.inputs)
        if cc.connected(self.tick):
            self._tick: Any = self.tick
        else:
            n -= 1
            self._tick = self.inputs[n]
        self._pairs = [(self.inputs[i], self.outputs[i]) for i in range(n)]
        self._latest: list[Any] = [None] * n
        self._seen = [False] * n
        opts = self.options
        self._only_when_all = (opts.output_only_when_all_inputs_received
                               or opts.output_packets_only_when_all_inputs_received)
        self._bounds_before_all = opts.output_packets_only_when_all_inputs_received

    def process(self, cc: CalculatorContext) -> None:
        for i, (src, _) in enumerate(self._pairs):
            packet = cc.packet(src)
            if packet is not None:
                self._latest[i] = packet[0]
                self._seen[i] = True
        have_all = all(self._seen)
        if cc.has(self._tick) and (have_all or not self._only_when_all):
            for i, (_, dst) in enumerate(self._pairs):
                if self._seen[i]:
                    cc.send(dst, self._latest[i])
        # The tick is settled through this timestamp: no output can come at or below it.
        if have_all or self._bounds_before_all or not self._only_when_all:
            next_ts = int(cc.input_timestamp) + 1
            for _, dst in self._pairs:
                cc.set_next_timestamp_bound(dst, next_ts)
