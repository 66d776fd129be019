"""SidePacketToStreamCalculator: turns side packets into stream packets."""

from __future__ import annotations

from typing import Any

from mediagraph import (Calculator, CalculatorContext, Input, Outputs, SideInput, SideInputs,
                        Stop, Timestamp)

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

    def open(self, cc: CalculatorContext) -> None:
        used = [port for port in (self.at_prestream, self.at_poststream, self.at_zero,
                                  self.at_tick, self.at_first_tick, self.at_timestamp)
                if cc.count(port)]
        if len(used) != 1:
            raise ValueError("exactly one of AT_PRESTREAM, AT_POSTSTREAM, AT_ZERO, AT_TICK, "
                             "AT_FIRST_TICK and AT_TIMESTAMP must name the output streams")
        self._port = used[0]
        tag = self._port.tag or ""
        if (tag in _TICKED) != cc.connected(self.tick):
            raise ValueError("use a TICK input together with AT_TICK or AT_FIRST_TICK, and "
                             "only with them")
        if (tag == "AT_TIMESTAMP") != cc.connected(self.timestamp):
            raise ValueError("use a TIMESTAMP side packet together with AT_TIMESTAMP, and "
                             "only with it")
        n = cc.count(self._port)
        if cc.count(self.values) != n:
            raise ValueError(f"{cc.count(self.values)} untagged side packets but {n} {tag} "
                             "outputs; each output needs its side packet")
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
