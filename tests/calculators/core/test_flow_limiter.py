"""FlowLimiterCalculator: releases, drops upstream, bounds, auxiliary inputs, end of stream."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import mediagraph.calculators  # noqa: F401  (registers the calculators)
from mediagraph.calculators.core.flow_limiter import FlowLimiterCalculator, FlowLimiterCalculatorOptions
from mediagraph import (Calculator, CalculatorContext, Graph, GraphBuilder, GraphConfigError,
                        Input, Output, Packet, SideInput, parse_config)
from mediagraph.testing import CalculatorRunner, timestamps, values

WAIT = 10.0  # seconds; every wait in these tests has this timeout


class RecordingFlowLimiter(FlowLimiterCalculator, name="RecordingFlowLimiterForTest"):
    """The real calculator, plus a handle on the instance and its queue's peak length."""

    instances: list[RecordingFlowLimiter] = []

    def open(self, cc: CalculatorContext) -> None:
        super().open(cc)
        self.queue_peak = 0
        type(self).instances.append(self)

    def process(self, cc: CalculatorContext) -> None:
        super().process(cc)
        self.queue_peak = max(self.queue_peak, len(self._queues[0]))


class EventGatedStage(Calculator, name="EventGatedStageForTest"):
    """A slow stage: each frame waits until the RELEASE event is set."""

    frame = Input(tag="")
    done = Output(tag="")
    release = SideInput(threading.Event, tag="RELEASE")

    def process(self, cc: CalculatorContext) -> None:
        if not cc.side(self.release).wait(WAIT):
            raise TimeoutError("the test never released the stage")
        cc.send(self.done, cc.get(self.frame))


class SleepyStage(Calculator, name="SleepyStageForTest"):
    frame = Input(tag="")
    done = Output(tag="")

    def process(self, cc: CalculatorContext) -> None:
        time.sleep(0.002)
        cc.send(self.done, cc.get(self.frame))


class Stepper:
    """One FlowLimiter between graph inputs; each step waits until the graph is idle."""

    def __init__(self, *, aux: bool = False, max_in_flight_side: int | None = None,
                 **options: Any) -> None:
        b = GraphBuilder()
        for name in ("frames", "finished") + (("aux",) if aux else ()):
            b.input_stream(name)
        inputs = ["frames"] + (["aux"] if aux else []) + ["FINISHED:finished"]
        outputs = ["out"] + (["aux_out"] if aux else []) + ["ALLOW:allowed"]
        sides = ["MAX_IN_FLIGHT:max_in_flight"] if max_in_flight_side is not None else []
        b.node(RecordingFlowLimiter, inputs=inputs, outputs=outputs, back_edges=["FINISHED"],
               side_inputs=sides, options=options, name="limiter")
        self.graph = Graph(b)
        self.seen: dict[str, list[Packet]] = {name: [] for name in outputs[:-1] + ["allowed"]}
        for name, packets in self.seen.items():
            self.graph.observe_output_stream(name, packets.append)
        self.out_bounds: list[int] = []
        self.graph.observe_output_stream(
            "out", lambda p: self.out_bounds.append(int(p.timestamp)) if p.value is None else None,
            observe_timestamp_bounds=True)
        RecordingFlowLimiter.instances.clear()
        self.graph.start_run({"max_in_flight": max_in_flight_side} if sides else {})

    @property
    def limiter(self) -> RecordingFlowLimiter:
        return RecordingFlowLimiter.instances[-1]

    def add(self, stream: str, ts: int, value: Any = None) -> None:
        self.graph.add_packet(stream, f"{stream}@{ts}" if value is None else value,
                              timestamp=ts, timeout=WAIT)
        self.graph.wait_until_idle(WAIT)

    def close(self, stream: str) -> None:
        self.graph.close_input_stream(stream)
        self.graph.wait_until_idle(WAIT)

    def finish(self) -> None:
        self.graph.close_all_inputs()
        self.graph.wait_until_done(WAIT)


def allow_log(packets: list[Packet]) -> list[tuple[int, bool]]:
    return [(int(p.timestamp), p.value) for p in packets]


# -- CalculatorRunner ---------------------------------------------------------------------

def test_frames_finished_in_lockstep_all_pass():
    runner = CalculatorRunner("FlowLimiterCalculator")
    out = runner.run({"": [(f"f{i}", i * 10) for i in range(6)],
                      "FINISHED": [(True, i * 10) for i in range(6)]})
    assert values(out[""]) == [f"f{i}" for i in range(6)]
    assert timestamps(out[""]) == [0, 10, 20, 30, 40, 50]
    assert allow_log(out["ALLOW"]) == [(t, True) for t in (0, 10, 20, 30, 40, 50)]


def test_auxiliary_input_in_lockstep_passes_with_its_frame():
    runner = CalculatorRunner("FlowLimiterCalculator")
    out = runner.run({"": [(i, i * 10) for i in range(4)],
                      ":1": [(f"aux{i}", i * 10) for i in range(4)],
                      "FINISHED": [(True, i * 10) for i in range(4)]})
    assert values(out[":1"]) == ["aux0", "aux1", "aux2", "aux3"]
    assert timestamps(out[":1"]) == timestamps(out[""]) == [0, 10, 20, 30]


def test_options_from_config_use_mediapipe_numbers():
    config = parse_config("""
        input_stream: "in" input_stream: "done"
        node { calculator: "FlowLimiterCalculator" input_stream: "in"
               input_stream: "FINISHED:done" output_stream: "out"
               options { [mediapipe.FlowLimiterCalculatorOptions.ext] {
                 max_in_flight: 2 max_in_queue: 3 in_flight_timeout: 5 } } }""")
    message = config.node[0].options.Extensions[FlowLimiterCalculatorOptions.extension()]
    assert FlowLimiterCalculatorOptions.extension_number == 326963320
    assert message.SerializeToString() == bytes([0x08, 2, 0x10, 3, 0x18, 5])
    assert FlowLimiterCalculatorOptions.from_message(message) == FlowLimiterCalculatorOptions(
        max_in_flight=2, max_in_queue=3, in_flight_timeout=5)
    assert FlowLimiterCalculatorOptions() == FlowLimiterCalculatorOptions(
        max_in_flight=1, max_in_queue=0, in_flight_timeout=1_000_000)


# -- step by step ---------------------------------------------------------------------------

def test_drops_oldest_queued_frame_and_releases_newest_on_finished():
    s = Stepper(max_in_flight=1, max_in_queue=1, in_flight_timeout=0)
    s.add("frames", 0)
    s.add("frames", 10)  # waits in the queue
    assert timestamps(s.seen["out"]) == [0]
    s.add("frames", 20)  # queue over max_in_queue: 10 is dropped
    assert allow_log(s.seen["allowed"]) == [(0, True), (10, False)]
    assert s.limiter.dropped == 1
    assert max(s.out_bounds) >= 19, "downstream must learn that nothing comes at 10"
    s.add("finished", 0)  # frame 0 done: 20 goes out
    assert timestamps(s.seen["out"]) == [0, 20]
    assert allow_log(s.seen["allowed"])[-1] == (20, True)
    s.finish()
    assert s.limiter.queue_peak <= 1


def test_zero_queue_drops_while_in_flight():
    s = Stepper(max_in_flight=1, max_in_queue=0, in_flight_timeout=0)
    for ts in (0, 1, 2, 3):
        s.add("frames", ts)
    s.add("finished", 0)
    s.add("frames", 4)
    assert timestamps(s.seen["out"]) == [0, 4]
    assert allow_log(s.seen["allowed"]) == [(0, True), (1, False), (2, False), (3, False),
                                            (4, True)]
    assert s.limiter.dropped == 3
    s.finish()


def test_max_in_flight_side_packet_overrides_options():
    s = Stepper(max_in_flight_side=3, max_in_flight=1, in_flight_timeout=0)
    for ts in range(5):
        s.add("frames", ts)
    assert timestamps(s.seen["out"]) == [0, 1, 2]
    assert s.limiter.dropped == 2
    s.finish()


def test_finished_bound_without_packet_counts_as_finished():
    s = Stepper(max_in_flight=1, in_flight_timeout=0)
    s.add("frames", 0)
    s.graph.set_input_stream_bound("finished", 1)  # the section produced nothing for 0
    s.graph.wait_until_idle(WAIT)
    s.add("frames", 5)
    assert timestamps(s.seen["out"]) == [0, 5]
    s.finish()


def test_in_flight_timeout_abandons_old_frames():
    s = Stepper(max_in_flight=1, in_flight_timeout=100)
    s.add("frames", 0)
    s.add("frames", 50)   # 0 is in flight for 50 µs of input time: dropped
    s.add("frames", 150)  # 0 has been in flight for 150 µs > 100: abandoned, 150 goes
    assert timestamps(s.seen["out"]) == [0, 150]
    s.finish()


def test_queued_frame_is_flushed_after_main_input_closes():
    s = Stepper(max_in_flight=1, max_in_queue=1, in_flight_timeout=0)
    s.add("frames", 0)
    s.add("frames", 10)
    s.close("frames")  # 10 still queued: the limiter must stay open for FINISHED
    assert timestamps(s.seen["out"]) == [0]
    s.add("finished", 0)
    assert timestamps(s.seen["out"]) == [0, 10]
    s.finish()
    assert s.limiter.dropped == 0


def test_auxiliary_input_follows_main_allow_ranges():
    s = Stepper(aux=True, max_in_flight=1, in_flight_timeout=0)
    s.add("frames", 0)
    s.add("aux", 0)
    s.add("frames", 10)  # dropped: 0 in flight
    s.add("aux", 10)     # in the disallowed range that starts at 10
    s.add("aux", 12)
    s.add("finished", 0)
    s.add("frames", 20)
    s.add("aux", 20)
    s.add("aux", 25)
    s.finish()           # main closes: aux@25 is settled and allowed
    assert timestamps(s.seen["out"]) == [0, 20]
    assert timestamps(s.seen["aux_out"]) == [0, 20, 25]


@pytest.mark.parametrize("opts", [{"max_in_flight": 0}, {"max_in_flight": -1}])
def test_max_in_flight_below_one_raises_at_validation(opts):
    runner = CalculatorRunner("FlowLimiterCalculator", options=opts)
    with pytest.raises(GraphConfigError, match="max_in_flight must be at least 1"):
        runner.run({"": [(1, 0)], "FINISHED": []})


# -- in a graph -----------------------------------------------------------------------------

LIMITED_GRAPH = """
input_stream: "frames"
output_stream: "processed"
node {
  calculator: "%s"
  input_stream: "frames"
  input_stream: "FINISHED:processed"
  input_stream_info { tag_index: "FINISHED" back_edge: true }
  output_stream: "gated"
  output_stream: "ALLOW:allowed"
  options { [mediapipe.FlowLimiterCalculatorOptions.ext] { max_in_flight: 1 max_in_queue: 1 } }
}
node {
  name: "slow"
  calculator: "%s"
  input_stream: "gated"
  output_stream: "processed"
  %s
}
"""


@pytest.mark.timeout(60)
def test_slow_stage_behind_limiter_drops_upstream_and_reports_drops():
    graph = Graph(LIMITED_GRAPH % ("RecordingFlowLimiterForTest", "EventGatedStageForTest",
                                   'input_side_packet: "RELEASE:release"'))
    processed: list[Packet] = []
    allowed: list[Packet] = []
    eight_dropped = threading.Event()

    def on_allow(packet: Packet) -> None:
        allowed.append(packet)
        if sum(1 for p in allowed if p.value is False) == 8:
            eight_dropped.set()

    graph.observe_output_stream("processed", processed.append)
    graph.observe_output_stream("allowed", on_allow)
    release = threading.Event()
    RecordingFlowLimiter.instances.clear()
    graph.start_run({"release": release})
    try:
        for i in range(10):  # frame 0 blocks the stage; 1..8 are dropped, 9 waits
            graph.add_packet("frames", i, timestamp=i, timeout=WAIT)
        assert eight_dropped.wait(WAIT), f"ALLOW so far: {allowed}"
        assert processed == []
    finally:
        release.set()
    graph.close_all_inputs()
    graph.wait_until_done(WAIT)

    assert values(processed) == [0, 9]
    assert allow_log(allowed) == ([(0, True)] + [(t, False) for t in range(1, 9)] + [(9, True)])
    limiter = RecordingFlowLimiter.instances[-1]
    assert limiter.dropped == 8
    assert limiter.queue_peak <= 1
    assert graph.profile().node("slow").queue_peak <= 1


@pytest.mark.timeout(60)
def test_fast_source_slow_stage_keeps_timestamps_and_accounts_for_every_frame():
    graph = Graph(LIMITED_GRAPH % ("FlowLimiterCalculator", "SleepyStageForTest", ""))
    n = 100
    result = graph.run({"frames": [(i, i * 1000) for i in range(n)]},
                       outputs=["processed", "allowed"], timeout=WAIT * 3)
    done = timestamps(result["processed"])
    allowed = allow_log(result["allowed"])
    assert done == sorted(set(done))  # strictly increasing
    assert [t for t, ok in allowed if ok] == done
    dropped = [t for t, ok in allowed if not ok]
    assert len(done) + len(dropped) == n
    assert sorted(done + dropped) == [i * 1000 for i in range(n)]
    assert dropped, "a 2 ms stage fed as fast as possible must shed frames"
    assert done[-1] == (n - 1) * 1000, "the newest queued frame is flushed at the end"
    assert graph.profile().node("slow").queue_peak <= 1
