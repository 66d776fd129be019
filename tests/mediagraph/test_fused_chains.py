"""Fused chains: a thread hands a packet down a run of one-in/one-out nodes without the
run's lock or a queue. What users see must not change: results, order, every check."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mediagraph as mg
from mediagraph import Calculator, CalculatorContext, Input, Options, Output

pytestmark = pytest.mark.timeout(300)


class FuseStepOptions(Options):
    add: int = 0
    drop_mod: int = 0  # drop values divisible by this (0: none)
    shift: int = 0  # send at input timestamp + shift
    twice: bool = False  # also send value + 1 at timestamp + shift + 1 (two packets)
    sleep_us: int = 0  # every third call sleeps this long (a "long" call)
    fail_at: int = -1  # raise at this input timestamp
    wrong_type_at: int = -1  # send a str at this input timestamp
    regress_at: int = -1  # send at timestamp 0 again at this input timestamp
    bound_at: int = -1  # also promise a bound at this input timestamp (not plain)


class FuseStep(Calculator):
    """A configurable chain step for the fusion tests."""

    Options = FuseStepOptions
    value = Input(int, tag="")
    out = Output(int, tag="")

    def open(self, cc: CalculatorContext) -> None:
        self.calls = 0

    def process(self, cc: CalculatorContext) -> None:
        o = self.options
        ts = int(cc.input_timestamp)
        self.calls += 1
        if o.sleep_us and self.calls % 3 == 0:
            time.sleep(o.sleep_us / 1e6)
        if ts == o.fail_at:
            raise RuntimeError(f"step failed at {ts}")
        v = cc.get(self.value) + o.add
        if ts == o.wrong_type_at:
            cc.send(self.out, "not an int", timestamp=ts + o.shift)
            return
        if ts == o.regress_at:
            cc.send(self.out, v, timestamp=0)
            return
        if o.drop_mod and v % o.drop_mod == 0:
            return
        if o.twice:
            cc.send(self.out, v, timestamp=2 * ts + o.shift)
            cc.send(self.out, v + 1, timestamp=2 * ts + o.shift + 1)
            return
        cc.send(self.out, v, timestamp=ts + o.shift)
        if ts == o.bound_at:
            cc.set_next_timestamp_bound(self.out, ts + o.shift + 1)


def step_text(src: str, dst: str, **opts: Any) -> str:
    fields = " ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}"
                      for k, v in opts.items())
    return (f'node {{ name: "{dst}" calculator: "FuseStep" input_stream: "{src}" '
            f'output_stream: "{dst}" node_options {{ '
            f'[type.googleapis.com/mediagraph.FuseStepOptions] {{ {fields} }} }} }}')


def chain_config(steps: list[dict[str, Any]], threads: int = 1, max_queue: int = 100) -> str:
    lines = [f"num_threads: {threads}", f"max_queue_size: {max_queue}", 'input_stream: "in"']
    src = "in"
    for i, opts in enumerate(steps):
        lines.append(step_text(src, f"s{i}", **opts))
        src = f"s{i}"
    return "\n".join(lines)


def reference(steps: list[dict[str, Any]], feed: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """What the chain must give, computed one step at a time."""
    items = [(ts, v) for v, ts in feed]
    for o in steps:
        out = []
        for ts, v in items:
            v += o.get("add", 0)
            drop = o.get("drop_mod", 0)
            if drop and v % drop == 0:
                continue
            shift = o.get("shift", 0)
            if o.get("twice"):
                out += [(2 * ts + shift, v), (2 * ts + shift + 1, v + 1)]
            else:
                out.append((ts + shift, v))
        items = out
    return items


def run_chain(steps: list[dict[str, Any]], feed: list[tuple[int, int]], *,
              threads: int = 1, max_queue: int = 100) -> tuple[list[tuple[int, int]], Any]:
    graph = mg.Graph(chain_config(steps, threads, max_queue))
    last = f"s{len(steps) - 1}"
    out = graph.run({"in": feed}, outputs=[last], timeout=60)
    return [(int(p.timestamp), p.value) for p in out[last]], graph.profile()


@st.composite
def chains(draw):
    steps = []
    for _ in range(draw(st.integers(1, 8))):
        step: dict[str, Any] = {"add": draw(st.integers(0, 3))}
        kind = draw(st.sampled_from(["plain", "plain", "plain", "drop", "shift", "twice",
                                     "sleep", "bound"]))
        if kind == "drop":
            step["drop_mod"] = draw(st.integers(2, 4))
        elif kind == "shift":
            step["shift"] = draw(st.integers(1, 5))
        elif kind == "twice":
            step["twice"] = True
        elif kind == "sleep":
            step["sleep_us"] = 250  # past the "long call" threshold: the chain hands off
        elif kind == "bound":
            step["bound_at"] = draw(st.integers(0, 10))
        steps.append(step)
    n = draw(st.integers(0, 30))
    feed = [(v, ts) for ts, v in enumerate(draw(st.lists(st.integers(0, 50), min_size=n,
                                                         max_size=n)))]
    return steps, feed, draw(st.integers(1, 4)), draw(st.sampled_from([1, 2, 5, 100, -1]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains())
def test_random_chains_match_the_synchronous_reference(case):
    steps, feed, threads, max_queue = case
    got, profile = run_chain(steps, feed, threads=threads, max_queue=max_queue)
    assert got == reference(steps, feed)
    for i in range(len(steps)):  # every node ran once per packet it got, fused or not
        expected_in = len(reference(steps[:i], feed)) if i else len(feed)
        assert profile.node(f"s{i}").calls == expected_in


def test_a_plain_chain_runs_fused_and_counts_every_call():
    steps = [{"add": 1}] * 6
    feed = [(i, i) for i in range(200)]
    got, profile = run_chain(steps, feed)
    assert got == [(i, i + 6) for i in range(200)]
    assert [profile.node(f"s{i}").calls for i in range(6)] == [200] * 6
    work = profile.work
    assert work is not None
    assert work.fused_calls >= 5 * 200  # s1..s5 (and the observer) take packets fused
    assert work.calls >= 6 * 200
    assert 0 < work.calculator_ms <= work.worker_ms
    assert "fused" in profile.table()


def test_a_stream_with_two_consumers_is_not_fused():
    graph = mg.Graph(chain_config([{"add": 1}, {"add": 1}]))
    out = graph.run({"in": [(i, i) for i in range(50)]}, outputs=["s0", "s1"], timeout=30)
    assert [p.value for p in out["s1"]] == [i + 2 for i in range(50)]
    # s0 -> s1 goes through queues; only s1's own observer may take its packets fused
    assert graph.profile().work.fused_calls <= 50


def test_wrong_type_mid_chain_names_node_stream_and_timestamp():
    steps = [{"add": 1}, {"add": 1, "wrong_type_at": 7}, {"add": 1}]
    with pytest.raises(mg.PacketTypeError) as info:
        run_chain(steps, [(i, i) for i in range(20)])
    text = str(info.value)
    assert "'s1'" in text and "stream 's1'" in text and "7" in text and "str" in text


def test_timestamp_regression_mid_chain_names_node_and_stream():
    steps = [{"add": 1}, {"add": 1}, {"regress_at": 5}, {"add": 1}]
    with pytest.raises(mg.TimestampError) as info:
        run_chain(steps, [(i, i) for i in range(20)])
    text = str(info.value)
    assert "node 's2'" in text and "stream 's2'" in text and "not above" in text


def test_an_exception_mid_chain_names_the_node_and_ends_the_run():
    steps = [{"add": 1}, {"add": 1}, {"add": 1, "fail_at": 9}, {"add": 1}]
    for threads in (1, 3):
        with pytest.raises(mg.CalculatorError) as info:
            run_chain(steps, [(i, i) for i in range(50)], threads=threads)
        assert "s2" in str(info.value) and "step failed at 9" in str(info.value)


def test_a_fused_chain_still_lets_back_pressure_hold_the_input():
    """With queues of 1 the graph input still waits for room, and nothing is lost."""
    steps = [{"add": 1}, {"add": 1, "sleep_us": 300}, {"add": 1}]
    got, _ = run_chain(steps, [(i, i) for i in range(60)], threads=2, max_queue=1)
    assert got == [(i, i + 3) for i in range(60)]


def test_profile_flag_times_the_scheduler_steps():
    graph = mg.Graph(chain_config([{"add": 1}] * 3))
    graph.enable_framework_timing()
    graph.run({"in": [(i, i) for i in range(100)]}, outputs=["s2"], timeout=30)
    work = graph.profile().work
    assert work.parts is not None and work.parts["begin"] > 0 and work.parts["finish"] > 0
    assert "before a call" in graph.profile().table()


class OverlapProbe(Calculator):
    """Sleeps (releasing the GIL, as C work does) and records how many probes run at once."""

    value = Input(int, tag="")
    out = Output(int, tag="")
    lock = threading.Lock()
    running = 0
    most = 0

    def process(self, cc: CalculatorContext) -> None:
        cls = OverlapProbe
        with cls.lock:
            cls.running += 1
            cls.most = max(cls.most, cls.running)
        time.sleep(0.002)
        with cls.lock:
            cls.running -= 1
        cc.send(self.out, cc.get(self.value))


def test_long_calls_are_not_fused_so_the_stages_still_overlap():
    """A fused chain ends after a long call (C work that releases the GIL), so the next
    slow stage runs on another worker while this one takes the next packet."""
    OverlapProbe.most = 0
    graph = mg.Graph("""
        num_threads: 3
        input_stream: "in"
        node { calculator: "PassThroughCalculator" input_stream: "in" output_stream: "a" }
        node { calculator: "OverlapProbe" input_stream: "a" output_stream: "b" }
        node { calculator: "OverlapProbe" input_stream: "b" output_stream: "c" }
    """)
    out = graph.run({"in": [(i, i) for i in range(40)]}, outputs=["c"], timeout=60)
    assert [p.value for p in out["c"]] == list(range(40))
    assert OverlapProbe.most == 2
