"""GateCalculator: passes or blocks data streams under an ALLOW/DISALLOW control."""

from __future__ import annotations

import enum

from mediagraph import (Calculator, CalculatorContext, Input, Inputs, NodeConfig, Options, Output,
                        Outputs, SideInput, at_most_one, option)


class GateState(enum.IntEnum):
    UNSPECIFIED = 0
    GATE_UNINITIALIZED = 1
    GATE_ALLOW = 2
    GATE_DISALLOW = 3


class GateCalculatorOptions(Options, proto_name="mediapipe.GateCalculatorOptions",
                            extension=261754847):
    """MediaPipe's `gate_calculator.proto`."""

    empty_packets_as_allow: bool = option(1, default=False,
                                          doc="an absent ALLOW/DISALLOW packet means allow")
    allow: bool = option(2, default=False, doc="the decision when no control is connected")
    initial_gate_state: GateState = option(3, default=GateState.GATE_UNINITIALIZED,
                                           doc="state the first STATE_CHANGE compares with")


class GateCalculator(Calculator):
    """Forward data packets while the gate is open; drop them while it is closed.

    The gate is controlled by exactly one of: an ALLOW or DISALLOW bool input stream
    (synchronized with the data), an ALLOW or DISALLOW bool side packet (fixed for the
    run; a closed gate closes the outputs at once), or, with neither, `options.allow`.
    At a timestamp without a control packet the gate is open only with
    `empty_packets_as_allow`. STATE_CHANGE carries the new state (true: open) at each
    timestamp where it differs from the previous one.

    Inputs:  untagged data streams (any); ALLOW or DISALLOW (bool, optional)
    Outputs: untagged, one per data input; STATE_CHANGE (bool, optional)
    Side inputs: ALLOW or DISALLOW (bool, optional)
    Options: GateCalculatorOptions: empty_packets_as_allow, allow, initial_gate_state

    Example config:
        node {
          calculator: "GateCalculator"
          input_stream: "frames"
          input_stream: "ALLOW:enabled"
          output_stream: "gated_frames"
          output_stream: "STATE_CHANGE:gate_changed"
        }
    """

    Options = GateCalculatorOptions

    inputs = Inputs(tag="")
    allow_stream = Input(bool, tag="ALLOW", optional=True)
    disallow_stream = Input(bool, tag="DISALLOW", optional=True)
    outputs = Outputs(tag="")
    state_change = Output(bool, tag="STATE_CHANGE", optional=True)
    allow_side = SideInput(bool, tag="ALLOW", optional=True)
    disallow_side = SideInput(bool, tag="DISALLOW", optional=True)
    groups = (at_most_one(allow_stream, disallow_stream, allow_side, disallow_side,
                          message="GateCalculator takes one of ALLOW or DISALLOW, as a stream "
                                  "or as a side packet, not several"),)

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        n = node.count(cls.inputs)
        if node.count(cls.outputs) != n:
            raise ValueError(f"{n} data inputs but {node.count(cls.outputs)} data outputs; "
                             "GateCalculator needs one output per data input")

    def open(self, cc: CalculatorContext) -> None:
        n = cc.count(self.inputs)
        streams = [p for p in (self.allow_stream, self.disallow_stream) if cc.connected(p)]
        sides = [p for p in (self.allow_side, self.disallow_side) if cc.connected(p)]
        self._pairs = [(self.inputs[i], self.outputs[i]) for i in range(n)]
        self._control = streams[0] if streams else None
        self._fixed: bool | None = None  # the decision when no stream controls the gate
        if sides:
            value = bool(cc.side(sides[0]))
            self._fixed = value if sides[0] is self.allow_side else not value
            if not self._fixed:  # closed for the whole run: let consumers finish now
                for _, dst in self._pairs:
                    cc.close_output(dst)
        elif self._control is None:
            self._fixed = self.options.allow
        state = self.options.initial_gate_state
        self._state = GateState.GATE_UNINITIALIZED if state == GateState.UNSPECIFIED else state

    def process(self, cc: CalculatorContext) -> None:
        allow = self._decide(cc)
        new_state = GateState.GATE_ALLOW if allow else GateState.GATE_DISALLOW
        if self._state != GateState.GATE_UNINITIALIZED and self._state != new_state:
            cc.send(self.state_change, allow)
        self._state = new_state
        if not allow:
            return
        for src, dst in self._pairs:
            packet = cc.packet(src)
            if packet is not None:
                cc.send(dst, packet[0])

    def _decide(self, cc: CalculatorContext) -> bool:
        if self._fixed is not None:
            return self._fixed
        value = cc.get(self._control)
        if value is None:
            return self.options.empty_packets_as_allow
        return bool(value) if self._control is self.allow_stream else not value
