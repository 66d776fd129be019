"""The scheduler's interface to a CalculatorContext (begin_activation, take_outputs) and
the one fan-out of packets to consumers (OutputStream.add)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import mediagraph as mg
from mediagraph import Calculator, CalculatorContext, Input, Output, Stop, Timestamp
from mediagraph.stream import DONE, InputQueue, OutputStream

pytestmark = pytest.mark.timeout(60)


class Echo(Calculator, register=False):
    value = Input(int, tag="")
    out = Output(int, tag="")

    def process(self, cc: CalculatorContext) -> None:
        cc.send(self.out, cc.get(self.value) * 10)
        cc.set_next_timestamp_bound(self.out, cc.input_timestamp + 5)
        cc.request_stop()


def context() -> tuple[Echo, CalculatorContext]:
    calc = Echo()
    calc.options = None
    cc = CalculatorContext("echo", calc, {Echo.value: 0}, {Echo.out: 0}, {}, {})
    return calc, cc


def test_an_activation_sees_its_inputs_and_hands_back_what_it_produced():
    calc, cc = context()
    cc.begin_activation(Timestamp(7), [mg.Packet(4, 7)])
    assert cc.get(Echo.value) == 4 and cc.input_timestamp == 7
    calc.process(cc)
    produced = cc.take_outputs()
    assert [(slot, p.value, int(p.timestamp)) for slot, p in produced.packets] == [(0, 40, 7)]
    assert produced.bounds == [(0, Timestamp(12))] and produced.stop


def test_detach_moves_the_results_out_and_leaves_the_context_empty():
    calc, cc = context()
    cc.begin_activation(Timestamp(1), [mg.Packet(2, 1)])
    calc.process(cc)
    held = cc.take_outputs().detach()
    assert cc.take_outputs().packets == [] and cc.take_outputs().bounds == []
    assert not cc.take_outputs().stop
    assert held.packets[0][1].value == 20 and held.stop
    cc.begin_activation(Timestamp(2), [mg.Packet(3, 2)])
    calc.process(cc)
    assert held.packets[0][1].value == 20  # the next activation does not touch it
    cc.take_outputs().clear()
    assert not any((cc.take_outputs().packets, cc.take_outputs().bounds,
                    cc.take_outputs().closed, cc.take_outputs().sides, cc.take_outputs().stop))


def test_absent_inputs_read_as_none():
    _, cc = context()
    cc.begin_activation(Timestamp.DONE, [None])
    assert cc.get(Echo.value) is None and cc.inputs == [None]


def fan_out(max_size: int = 2) -> tuple[OutputStream, list[InputQueue], list[InputQueue]]:
    filled: list[InputQueue] = []
    out = OutputStream("s", None, 0, filled.append)
    queues = [InputQueue(f"node{i}", 0, "s", max_size, False) for i in range(2)]
    out.consumers.extend(queues)
    return out, queues, filled


def test_add_fans_a_packet_out_to_every_consumer_and_reports_full_queues():
    out, queues, filled = fan_out()
    touched: list[Any] = []
    assert out.add(mg.Packet("a", 3), touched) and out.add(mg.Packet("b", 4), touched)
    assert [[p.value for p in q.packets] for q in queues] == [["a", "b"]] * 2
    assert out.bound == 5 and all(q.bound == 5 and q.peak == 2 for q in queues)
    assert filled == queues  # each reported once, when it reached max_size
    assert touched == ["node0", "node1"] * 2
    assert out.packets_sent == 2 and out.last_timestamp == 4


@pytest.mark.parametrize("ts", [4, 2, int(Timestamp.DONE), int(Timestamp.UNSTARTED)])
def test_add_refuses_a_timestamp_not_above_the_bound_and_sends_nothing(ts):
    out, queues, _ = fan_out()
    out.add(mg.Packet("a", 4), [])
    touched: list[Any] = []
    assert not out.add(mg.Packet("late", ts), touched)
    assert touched == [] and [len(q.packets) for q in queues] == [1, 1] and out.bound == 5


def test_add_calls_a_trimming_handler_after_each_packet():
    out, queues, _ = fan_out(max_size=10)
    queues[1].trim = queues[1].packets.popleft
    out.add(mg.Packet("a", 1), [])
    assert len(queues[0].packets) == 1 and len(queues[1].packets) == 0


def test_raise_bound_moves_only_lower_consumer_bounds():
    out, queues, _ = fan_out()
    queues[1].bound = 50
    touched: list[Any] = []
    out.raise_bound(20, touched)
    assert [q.bound for q in queues] == [20, 50] and touched == ["node0"]
    out.raise_bound(10, touched)
    assert out.bound == 20 and touched == ["node0"]
    out.raise_bound(DONE, touched)
    assert all(q.bound == DONE for q in queues)


class LockedCounter(Calculator):
    """A source that two threads may call at once (max_in_flight: 2)."""

    out = Output(int, tag="")

    def open(self, cc: CalculatorContext) -> None:
        self.lock = threading.Lock()
        self.i = 0

    def process(self, cc: CalculatorContext) -> Any:
        with self.lock:
            i = self.i
            if i >= 30:
                return Stop
            self.i += 1
            cc.send(self.out, i, timestamp=i)
        return None


def test_a_source_with_two_calls_in_flight_delivers_every_packet_in_order():
    graph = mg.Graph("""
        num_threads: 2
        output_stream: "out"
        node { calculator: "LockedCounter" output_stream: "out" max_in_flight: 2 }
    """)
    got: list[int] = []
    graph.observe_output_stream("out", lambda p: got.append(p.value))
    graph.start_run()
    graph.wait_until_done(timeout=30)
    assert got == list(range(30))
