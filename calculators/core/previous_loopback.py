"""PreviousLoopbackCalculator: pairs each input with the loop's previous output."""

from __future__ import annotations

from collections import deque

from mediagraph import Calculator, CalculatorContext, Input, Output, Packet, Timestamp


_MAX = int(Timestamp.MAX)


class PreviousLoopbackCalculator(Calculator):
    """For each MAIN packet at T, emit at T the LOOP packet from the previous MAIN timestamp.

    LOOP is a back edge carrying the output of the loop body. The first MAIN packet has no
    predecessor, and a previous timestamp whose LOOP turned out empty (LOOP's bound moved
    past it without a packet) gives nothing either: PREV_LOOP's bound moves past T, so
    consumers are never kept waiting. MAIN bound updates move PREV_LOOP's bound too.

    Inputs:  MAIN (any: the timestamps to emit at); LOOP (any, back edge)
    Outputs: PREV_LOOP (LOOP's type)
    Options: none

    Example config:
        node {
          calculator: "PreviousLoopbackCalculator"
          input_stream: "MAIN:frame"
          input_stream: "LOOP:track"
          input_stream_info: { tag_index: "LOOP" back_edge: true }
          output_stream: "PREV_LOOP:prev_track"
        }
    """

    input_stream_handler = "ImmediateInputStreamHandler"
    process_timestamp_bounds = True
    timestamp_offset = None

    main = Input(tag="MAIN")
    loop = Input(tag="LOOP")
    prev_loop = Output(tag="PREV_LOOP")

    def open(self, cc: CalculatorContext) -> None:
        self._pending: deque[tuple[int, int | None]] = deque()  # (MAIN ts, LOOP ts it needs)
        self._previous_main: int | None = None
        self._loop_packets: deque[Packet] = deque()
        self._loop_settled = int(Timestamp.MIN)  # LOOP can deliver nothing below this
        self._main_settled = int(Timestamp.MIN)

    def has_pending_work(self) -> bool:
        """MAIN has ended but some MAIN packets still wait for their LOOP packet."""
        return bool(getattr(self, "_pending", None))

    def process(self, cc: CalculatorContext) -> None:
        main = cc.packet(self.main)
        loop = cc.packet(self.loop)
        if main is not None:
            ts = int(main[1])
            self._pending.append((ts, self._previous_main))
            self._previous_main = ts
        if loop is not None:
            self._loop_packets.append(loop)
        self._main_settled = max(self._main_settled, int(cc.bound(self.main)))
        self._loop_settled = max(self._loop_settled, int(cc.bound(self.loop)))

        while self._pending:
            ts, wanted = self._pending[0]
            if wanted is not None:
                packets = self._loop_packets
                while packets and int(packets[0][1]) < wanted:
                    packets.popleft()  # no MAIN packet can ask for it any more
                if packets and int(packets[0][1]) == wanted:
                    cc.send(self.prev_loop, packets.popleft()[0], timestamp=ts)
                elif self._loop_settled <= wanted and not packets:
                    break  # LOOP at `wanted` may still come
            self._pending.popleft()
            cc.set_next_timestamp_bound(self.prev_loop, ts + 1)

        bound = self._pending[0][0] if self._pending else self._main_settled
        if bound > _MAX:
            cc.close_output(self.prev_loop)
        else:
            cc.set_next_timestamp_bound(self.prev_loop, bound)
