"""`cc.bound(port)`: the lowest timestamp an input can still deliver, race-free."""

from __future__ import annotations

import threading

import pytest

from mediagraph import Calculator, CalculatorContext, Graph, Input, Output

WAIT = 10.0


class BoundProbe(Calculator, name="BoundProbeForTest"):
    """Holds its call at timestamp 0 until told to go on, then reads A's bound."""

    input_stream_handler = "ImmediateInputStreamHandler"
    process_timestamp_bounds = True
    timestamp_offset = None

    a = Input(tag="A")
    out = Output(tag="OUT")

    started = threading.Event()
    proceed = threading.Event()
    readings: list[int] = []

    def process(self, cc: CalculatorContext) -> None:
        packet = cc.packet(self.a)
        if packet is not None and int(packet.timestamp) == 0:
            self.started.set()
            if not self.proceed.wait(WAIT):
                raise TimeoutError("the test did not let the call go on")
            self.readings.append(int(cc.bound(self.a)))


@pytest.mark.timeout(60)
def test_bound_does_not_pass_a_packet_that_arrived_during_the_call():
    graph = Graph('input_stream: "a" '
                  'node { calculator: "BoundProbeForTest" input_stream: "A:a" '
                  'output_stream: "OUT:out" }')
    graph.start_run()
    graph.add_packet("a", "first", timestamp=0, timeout=WAIT)
    assert BoundProbe.started.wait(WAIT)
    graph.add_packet("a", "second", timestamp=1, timeout=WAIT)  # queued, not delivered yet
    BoundProbe.proceed.set()
    graph.close_all_inputs()
    graph.wait_until_done(WAIT)
    assert BoundProbe.readings == [1], "the packet at 1 is queued, not delivered: bound is 1"
