"""SidePacketToStreamCalculator: turns side packets into stream packets."""

from __future__ import annotations

from typing import Any

from mediagraph import (Calculator, CalculatorContext, Input, NodeConfig, Outputs, SideInput,
                        SideInputs, Stop, Timestamp, one_of)

_FIXED = {"AT_PRESTREAM": Timestamp.PRE_STREAM, "AT_POSTSTREAM": Timestamp.POST_STREAM,
          "AT_ZERO": Timestamp(0)}
_TICKED = ("AT_TICK", "AT_FIRST_TICK")


class SidePacketToStreamCalculator(Calculator):
    """Emit untagged input side packet i on output i of the one output tag in use.

    The output tag picks the timestamp: AT_PRESTREAM, AT_POSTSTREAM, AT_ZERO (fixed, sent
    once at the end), AT_TIMESTAMP (the TIMESTAMP side packet, int µs), AT_TICK (every
    TICK packet's timestamp) or AT_FIRST_TICK (the first TICK only, then the outputs
    close). Exactly one output tag is allowed, and TICK goes with AT_TICK/AT_FIRST_TICK.

    Inputs:  TICK (any, only with AT_TICK / AT_FIRST_TICK)
    Outputs: AT_PRESTREAM:i | AT_POSTSTREAM:i | AT_ZERO:i | AT_TICK:i | AT_FIRST_TICK:i |
             AT_TIMESTAMP:i (the i-th untagged side packet)
    Side inputs: untagged values; TIMESTAMP (int, only with AT_TIMESTAMP)
    Options: none

    Example config:
        node {
          calculator: "SidePacketToStreamCalculator"
          input_stream: "TICK:frames"
          input_side_packet: "model_scale"
          output_stream: "AT_TICK:model_scale_per_frame"
        }
    """

    tick = Input(tag="TICK", optional=True)
    values = SideInputs(tag="")
    timestamp = SideInput(int, tag="TIMESTAMP", optional=True)
    at_prestream = Outputs(tag="AT_PRESTREAM")
    at_poststream = Outputs(tag="AT_POSTSTREAM")
    at_zero = Outputs(tag="AT_ZERO")
    at_tick = Outputs(tag="AT_TICK")
    at_first_tick = Outputs(tag="AT_FIRST_TICK")
    at_timestamp = Outputs(tag="AT_TIMESTAMP")
    groups = (one_of(at_prestream, at_poststream, at_zero, at_tick, at_first_tick, at_timestamp,
                     message="exactly one of AT_PRESTREAM, AT_POSTSTREAM, AT_ZERO, AT_TICK, "
                             "AT_FIRST_TICK and AT_TIMESTAMP must name the output streams"),)

    @classmethod
    def _output(cls, connected: Any) -> Any:
        return next(port for port in (cls.at_prestream, cls.at_poststream, cls.at_zero,
                                      cls.at_tick, cls.at_first_tick, cls.at_timestamp)
                    if connected(port))

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        port = cls._output(node.connected)
        tag = port.tag or ""
        if (tag in _TICKED) != node.connected(cls.tick):
            raise ValueError("use a TICK input together with AT_TICK or AT_FIRST_TICK, and "
                             "only with them")
        if (tag == "AT_TIMESTAMP") != node.connected(cls.timestamp):
            raise ValueError("use a TIMESTAMP side packet together with AT_TIMESTAMP, and "
                             "only with it")
        n = node.count(port)
        if node.count(cls.values) != n:
            raise ValueError(f"{node.count(cls.values)} untagged side packets but {n} {tag} "
                             "outputs; each output needs its side packet")

    def open(self, cc: CalculatorContext) -> None:
        self._port = self._output(cc.connected)
        tag = self._port.tag or ""
        n = cc.count(self._port)
        self._values: list[Any] = cc.side(self.values)
        self._outs = [self._port[i] for i in range(n)]
        self._when = (Timestamp(int(cc.side(self.timestamp))) if tag == "AT_TIMESTAMP"
                      else _FIXED.get(tag))
        self._first_only = tag == "AT_FIRST_TICK"
        self._done = False

    def process(self, cc: CalculatorContext) -> Any:
        if not cc.connected(self.tick):
            return Stop  # a source: everything is sent from close()
        if self._done:
            return None
        for out, value in zip(self._outs, self._values):
            cc.send(out, value)
            if self._first_only:
                cc.close_output(out)
        self._done = self._first_only
        return None

    def close(self, cc: CalculatorContext) -> None:
        if self._when is None:
            return
        for out, value in zip(self._outs, self._values):
            cc.send(out, value, timestamp=self._when)
