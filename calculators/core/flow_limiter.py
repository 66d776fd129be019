"""FlowLimiterCalculator: bounds the frames in flight through a graph section."""

from __future__ import annotations

import bisect
import dataclasses
from collections import deque
from typing import Any

from mediagraph import (Calculator, CalculatorContext, Input, Inputs, NodeConfig, Options, Output,
                        Outputs, Packet, SideInput, Timestamp, option)


_MAX = int(Timestamp.MAX)
_UNSET = int(Timestamp.UNSET)


class FlowLimiterCalculatorOptions(Options, proto_name="mediapipe.FlowLimiterCalculatorOptions",
                                   extension=326963320):
    """MediaPipe's `flow_limiter_calculator.proto` (field numbers and defaults)."""

    max_in_flight: int = option(1, default=1, doc="frames released and not yet FINISHED")
    max_in_queue: int = option(2, default=0, doc="frames held back waiting to be released")
    in_flight_timeout: int = option(3, default=1_000_000, proto="int64",
                                    doc="µs of input time after which an unfinished frame "
                                        "stops counting; 0: never")

    def check(self) -> None:
        if self.max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, not {self.max_in_flight}")


class FlowLimiterCalculator(Calculator):
    """Drop frames upstream of a slow section so at most `max_in_flight` are inside it.

    The section's output comes back on FINISHED (a back edge); every input timestamp
    below FINISHED's bound (a packet or a bound update) counts as finished. While
    `max_in_flight` frames are in flight, new frames wait in a queue of `max_in_queue`;
    a full queue drops its oldest frame. Each released frame gets ALLOW=true and each
    dropped one ALLOW=false at its timestamp; `self.dropped` counts the drops, and
    output bounds move past dropped frames so nothing downstream waits for them.

    The first untagged input is the main (frame) input; further untagged inputs are
    auxiliary: their packets pass when the main frame at or before their timestamp
    was released (MediaPipe's ALLOW ranges).

    Inputs:  untagged (main, then auxiliary); FINISHED (any, back edge);
             OPTIONS (FlowLimiterCalculatorOptions, optional) replaces the options
    Outputs: untagged, one per untagged input; ALLOW (bool, optional)
    Side inputs: MAX_IN_FLIGHT (int, optional); OPTIONS (FlowLimiterCalculatorOptions, optional)
    Options: FlowLimiterCalculatorOptions: max_in_flight (1), max_in_queue (0),
             in_flight_timeout (1000000 µs, 0 turns it off)

    Example config:
        node {
          calculator: "FlowLimiterCalculator"
          input_stream: "frames"
          input_stream: "FINISHED:detections"
          input_stream_info: { tag_index: "FINISHED" back_edge: true }
          output_stream: "throttled_frames"
          output_stream: "ALLOW:allowed"
          options { [mediapipe.FlowLimiterCalculatorOptions.ext] {
            max_in_flight: 1 max_in_queue: 1 } }
        }
    """

    Options = FlowLimiterCalculatorOptions
    input_stream_handler = "ImmediateInputStreamHandler"
    process_timestamp_bounds = True
    timestamp_offset = None

    inputs = Inputs(tag="")
    finished = Input(tag="FINISHED")
    options_stream = Input(FlowLimiterCalculatorOptions, tag="OPTIONS", optional=True)
    outputs = Outputs(tag="")
    allow = Output(bool, tag="ALLOW", optional=True)
    max_in_flight_side = SideInput(int, tag="MAX_IN_FLIGHT", optional=True)
    options_side = SideInput(FlowLimiterCalculatorOptions, tag="OPTIONS", optional=True)

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        n = node.count(cls.inputs)
        if n < 1 or node.count(cls.outputs) != n:
            raise ValueError(f"FlowLimiterCalculator needs at least one untagged input and one "
                             f"untagged output per input (got {n} inputs, "
                             f"{node.count(cls.outputs)} outputs)")

    def open(self, cc: CalculatorContext) -> None:
        n = cc.count(self.inputs)
        opts = _as_options(cc.side(self.options_side)) or self.options
        max_in_flight = cc.side(self.max_in_flight_side)
        if max_in_flight is not None:
            opts = dataclasses.replace(opts, max_in_flight=int(max_in_flight))
        self._opts: FlowLimiterCalculatorOptions = _checked(opts)
        self._ins = [self.inputs[i] for i in range(n)]
        self._outs = [self.outputs[i] for i in range(n)]
        self._queues: list[deque[Packet]] = [deque() for _ in range(n)]
        self._in_bounds = [int(Timestamp.MIN)] * n  # lowest timestamp each input can deliver
        self._out_bounds = [int(Timestamp.MIN)] * n
        self._in_flight: deque[int] = deque()
        self._allowed: list[tuple[int, bool]] = [(_UNSET, True)]  # ALLOW ranges, ascending
        self.dropped = 0

    def has_pending_work(self) -> bool:
        """Frames wait in the queue: keep running until FINISHED releases them."""
        queues = getattr(self, "_queues", None)
        return bool(queues and queues[0])

    def process(self, cc: CalculatorContext) -> None:
        packets = [cc.packet(port) for port in self._ins]
        finished = cc.packet(self.finished)
        new_options = cc.packet(self.options_stream) if cc.connected(self.options_stream) else None
        if new_options is not None:
            self._opts = _checked(_as_options(new_options[0]))

        # Everything below FINISHED's bound is finished (a packet or a bound update).
        done_below = int(cc.bound(self.finished))
        if finished is not None:
            done_below = max(done_below, int(finished[1]) + 1)
        while self._in_flight and self._in_flight[0] < done_below:
            self._in_flight.popleft()

        for i, packet in enumerate(packets):
            if packet is not None:
                self._queues[i].append(packet)
            reach = int(cc.bound(self._ins[i]))
            self._in_bounds[i] = max(self._in_bounds[i], reach)

        # In-flight frames expire once the main input has moved on far enough.
        timeout = self._opts.in_flight_timeout
        main = packets[0]
        if timeout > 0 and main is not None and int(main[1]) < _MAX:
            while self._in_flight and int(main[1]) - self._in_flight[0] > timeout:
                self._in_flight.popleft()

        self._release_main(cc)
        self._release_auxiliary(cc)
        self._forget_old_ranges()

    def close(self, cc: CalculatorContext) -> None:
        # Only reached with frames queued when FINISHED ended first: they never run.
        while self._queues[0]:
            self._drop(cc, self._queues[0].popleft())
        self._release_auxiliary(cc, settled=int(Timestamp.DONE))

    # -- helpers ----------------------------------------------------------------------

    def _release_main(self, cc: CalculatorContext) -> None:
        queue = self._queues[0]
        while queue and len(self._in_flight) < self._opts.max_in_flight:
            packet = queue.popleft()
            ts = int(packet[1])
            cc.send(self._outs[0], packet[0], timestamp=ts)
            self._out_bounds[0] = ts + 1
            self._record_allow(cc, ts, True)
            self._in_flight.append(ts)
        while len(queue) > max(0, self._opts.max_in_queue):
            self._drop(cc, queue.popleft())
        bound = int(queue[0][1]) if queue else self._in_bounds[0]
        self._advance(cc, 0, bound)
        if not queue and cc.connected(self.allow):
            if bound > _MAX:
                cc.close_output(self.allow)
            else:
                cc.set_next_timestamp_bound(self.allow, bound)

    def _release_auxiliary(self, cc: CalculatorContext, settled: int | None = None) -> None:
        if settled is None:
            settled = self._out_bounds[0]  # main output: nothing more below this
        for i in range(1, len(self._ins)):
            queue = self._queues[i]
            while queue and int(queue[0][1]) < settled:
                packet = queue.popleft()
                if self._is_allowed(int(packet[1])):
                    cc.send(self._outs[i], packet[0], timestamp=packet[1])
                    self._out_bounds[i] = int(packet[1]) + 1
            self._advance(cc, i, int(queue[0][1]) if queue else self._in_bounds[i])

    def _drop(self, cc: CalculatorContext, packet: Packet) -> None:
        self.dropped += 1
        self._record_allow(cc, int(packet[1]), False)

    def _record_allow(self, cc: CalculatorContext, ts: int, allowed: bool) -> None:
        cc.send(self.allow, allowed, timestamp=ts)
        self._allowed.append((ts, allowed))

    def _is_allowed(self, ts: int) -> bool:
        index = bisect.bisect_right(self._allowed, (ts, True)) - 1
        return self._allowed[index][1] if index >= 0 else True

    def _forget_old_ranges(self) -> None:
        lowest = min(int(q[0][1]) if q else b for q, b in zip(self._queues, self._in_bounds))
        keep_from = bisect.bisect_right(self._allowed, (lowest, True)) - 1
        if keep_from > 0:
            del self._allowed[:keep_from]

    def _advance(self, cc: CalculatorContext, i: int, bound: int) -> None:
        if bound <= self._out_bounds[i]:
            return
        self._out_bounds[i] = bound
        if bound > _MAX:
            cc.close_output(self._outs[i])
        else:
            cc.set_next_timestamp_bound(self._outs[i], bound)


def _as_options(value: Any) -> FlowLimiterCalculatorOptions | None:
    if value is None or isinstance(value, FlowLimiterCalculatorOptions):
        return value
    if hasattr(value, "DESCRIPTOR"):  # the protobuf message
        return FlowLimiterCalculatorOptions.from_message(value)
    raise TypeError(f"OPTIONS must be FlowLimiterCalculatorOptions, not {type(value).__name__}")


def _checked(opts: Any) -> FlowLimiterCalculatorOptions:
    """Options that arrive as packets are run-time data: check them as validate would."""
    opts.check()
    return opts
