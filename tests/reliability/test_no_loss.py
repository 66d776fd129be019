"""No loss: every packet fed in is accounted for, at the outputs or in `graph.profile()`.

Without drop policies, random graphs (graph inputs fed from feeder threads, source
calculators, fan-out, default-handler joins, pass-through chains, several executors,
tiny queues that throttle) deliver every fed timestamp to every output that depends on
it, exactly once, whatever the per-node delays. With drop policies (FlowLimiter in its
FINISHED loop, FixedSizeInputStreamHandler, add_if_not_full graph inputs) every packet
either comes out or is counted as dropped, and `total_dropped` is the sum of them.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import mediagraph as mg
from mediagraph import Calculator, CalculatorContext, Input, Inputs, Options, Output, SideInput

pytestmark = pytest.mark.timeout(120)

WAIT = 20.0  # s: every add_packet, join and wait_until_done has this timeout
SLOW_US = 2000  # a "slow" node: far slower than a feeder that adds back to back


def _pause(rng: random.Random, max_us: int, fixed_us: int) -> None:
    us = fixed_us + (rng.randint(0, max_us) if max_us else 0)
    if us:
        time.sleep(us / 1e6)


class NoLossDelayOptions(Options):
    max_delay_us: int = 0  # a random delay of 0..max_delay_us before each process
    fixed_delay_us: int = 0  # plus this


class NoLossJoin(Calculator):
    """Sends the union of the present input sets (each names the origins seen at this ts)."""

    Options = NoLossDelayOptions
    values = Inputs(Any, tag="")
    out = Output(Any, tag="")

    def open(self, cc: CalculatorContext) -> None:
        self.rng = random.Random(time.perf_counter_ns())

    def process(self, cc: CalculatorContext) -> None:
        _pause(self.rng, self.options.max_delay_us, self.options.fixed_delay_us)
        present = [v for v in cc.get(self.values) if v is not None]
        cc.send(self.out, frozenset().union(*present))


class NoLossSource(Calculator):
    """Emits frozenset({node name}) at each timestamp of side packet TIMESTAMPS."""

    Options = NoLossDelayOptions
    timestamps = SideInput(list)
    out = Output(Any, tag="")

    def open(self, cc: CalculatorContext) -> None:
        self.rng = random.Random(time.perf_counter_ns())
        self.pending = list(cc.side(self.timestamps))
        self.tag = frozenset({cc.node_name})

    def process(self, cc: CalculatorContext) -> Any:
        if not self.pending:
            return mg.Stop
        _pause(self.rng, self.options.max_delay_us, self.options.fixed_delay_us)
        cc.send(self.out, self.tag, timestamp=self.pending.pop(0))
        return None


class NoLossGate(Calculator):
    """Passes through once `release` is set (each process() waits up to WAIT for it)."""

    value = Input(Any, tag="")
    out = Output(Any, tag="")
    entered = threading.Event()
    release = threading.Event()

    def process(self, cc: CalculatorContext) -> None:
        NoLossGate.entered.set()
        NoLossGate.release.wait(WAIT)
        cc.send(self.out, cc.get(self.value))


class NoLossWaitsForPeer(Calculator):
    """Passes through after NoLossPeer has run (waits up to 0.5 s); records whether it had."""

    value = Input(Any, tag="")
    out = Output(Any, tag="")
    peer_ran = threading.Event()
    done = threading.Event()
    saw_peer: ClassVar[list[bool]] = []

    def process(self, cc: CalculatorContext) -> None:
        NoLossWaitsForPeer.saw_peer.append(NoLossWaitsForPeer.peer_ran.wait(0.5))
        NoLossWaitsForPeer.done.set()
        cc.send(self.out, cc.get(self.value))


class NoLossPeer(Calculator):
    value = Input(Any, tag="")
    out = Output(Any, tag="")

    def process(self, cc: CalculatorContext) -> None:
        NoLossWaitsForPeer.peer_ran.set()
        cc.send(self.out, cc.get(self.value))


def _delay_options(max_us: int, fixed_us: int = 0) -> str:
    return (f"node_options {{ [type.googleapis.com/mediagraph.NoLossDelayOptions] "
            f"{{ max_delay_us: {max_us} fixed_delay_us: {fixed_us} }} }}")


def _run_feeders(threads: list[threading.Thread], errors: list[BaseException],
                 timeout: float) -> None:
    """Start the feeder threads, wait for them (each up to `timeout`), and re-raise the
    first error one of them hit, on the test's thread."""
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a feeder thread hung"
    if errors:
        raise errors[0]


def _feed_in_threads(graph: mg.Graph, feeds: dict[str, list[int]], mode: str = "wait",
                     gap_us: int = 0) -> dict[str, list[bool]]:
    """Feed each stream from its own thread; return each add_packet's result in order."""
    results: dict[str, list[bool]] = {name: [] for name in feeds}
    errors: list[BaseException] = []

    def feed(name: str, stamps: list[int]) -> None:
        rng = random.Random(time.perf_counter_ns())
        try:
            for ts in stamps:
                results[name].append(graph.add_packet(name, frozenset({name}), timestamp=ts,
                                                      mode=mode,
                                                      timeout=WAIT))
                _pause(rng, gap_us, 0)
            graph.close_input_stream(name)
        except Exception as exc:  # noqa: BLE001 - re-raised on the test thread
            errors.append(exc)

    threads = [threading.Thread(target=feed, args=item, name=f"feeder-{item[0]}")
               for item in feeds.items()]
    _run_feeders(threads, errors, WAIT * 2)
    return results


# -- 1. no drop policies: nothing lost, nothing extra, nothing duplicated ---------------------

@st.composite
def lossless_graphs(draw):
    n_inputs = draw(st.integers(0, 2))
    n_sources = draw(st.integers(0 if n_inputs else 1, 2))
    stamps = st.lists(st.integers(0, 80), max_size=40, unique=True).map(sorted)
    origins: dict[str, tuple[str, list[int]]] = {}  # stream -> (kind, timestamps)
    for i in range(n_inputs):
        origins[f"in{i}"] = ("input", draw(stamps))
    for i in range(n_sources):
        origins[f"src{i}"] = ("source", draw(stamps))
    streams = list(origins)
    nodes = []
    for k in range(draw(st.integers(1, 7))):
        ins = draw(st.lists(st.sampled_from(streams), min_size=1, max_size=3, unique=True))
        nodes.append({"name": f"n{k}", "inputs": ins,
                      "delay": draw(st.sampled_from([0, 50, 300])),
                      "executor": draw(st.sampled_from(["", "", "io"])),
                      "max_in_flight": draw(st.sampled_from([1, 1, 2]))})
        streams.append(f"n{k}")
    # An origin nobody consumes is left out: with only that one open, the run may end
    # (every node closed) before its feeder is through.
    used = {s for node in nodes for s in node["inputs"]}
    origins = {name: origin for name, origin in origins.items() if name in used}
    return {"origins": origins, "nodes": nodes,
            "source_delay": draw(st.sampled_from([0, 300])),
            "max_queue": draw(st.sampled_from([1, 2, 3, 100])),
            "threads": draw(st.integers(1, 3)),
            "io_threads": draw(st.integers(1, 2))}


def _lossless_config(case: dict) -> str:
    lines = [f"max_queue_size: {case['max_queue']}", f"num_threads: {case['threads']}",
             ('executor { name: "io" options { [mediapipe.ThreadPoolExecutorOptions.ext] '
              f'{{ num_threads: {case["io_threads"]} }} }} }}')]
    for name, (kind, _) in case["origins"].items():
        if kind == "input":
            lines.append(f'input_stream: "{name}"')
        else:
            lines.append(f'node {{ name: "{name}" calculator: "NoLossSource" '
                         f'input_side_packet: "TIMESTAMPS:{name}_ts" output_stream: "{name}" '
                         f'{_delay_options(case["source_delay"])} }}')
    for node in case["nodes"]:
        ins = " ".join(f'input_stream: "{s}"' for s in node["inputs"])
        lines.append(f'node {{ name: "{node["name"]}" calculator: "NoLossJoin" {ins} '
                      f'output_stream: "{node["name"]}" executor: "{node["executor"]}" '
                      f'max_in_flight: {node["max_in_flight"]} {_delay_options(node["delay"])} }}')
    return "\n".join(lines)


def _expected(case: dict) -> dict[str, dict[int, frozenset]]:
    """Per stream: {timestamp: the origins that reach it at that timestamp}."""
    by_stream = {name: {ts: frozenset({name}) for ts in stamps}
                 for name, (_, stamps) in case["origins"].items()}
    for node in case["nodes"]:
        out: dict[int, frozenset] = {}
        for source in node["inputs"]:
            for ts, seen in by_stream[source].items():
                out[ts] = out.get(ts, frozenset()) | seen
        by_stream[node["name"]] = out
    return by_stream


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(lossless_graphs())
def test_every_fed_timestamp_reaches_every_dependent_output_exactly_once(case):
    graph = mg.Graph(_lossless_config(case))
    got: dict[str, list[tuple[int, frozenset]]] = {}
    for node in case["nodes"]:
        got[node["name"]] = seen = []
        graph.observe_output_stream(node["name"],
                                    lambda p, seen=seen: seen.append((int(p.timestamp), p.value)))
    origins = case["origins"]
    graph.start_run({f"{name}_ts": stamps for name, (kind, stamps) in origins.items()
                     if kind == "source"})
    try:
        _feed_in_threads(graph, {name: stamps for name, (kind, stamps) in origins.items()
                                 if kind == "input"})
        graph.close_all_inputs()
        graph.wait_until_done(WAIT)
    except BaseException:
        graph.cancel()
        raise
    expected = _expected(case)
    for name, packets in got.items():
        assert packets == sorted(expected[name].items()), name
    profile = graph.profile()
    assert profile.total_dropped == 0
    for name, (kind, stamps) in origins.items():
        assert profile.streams[name]["packets"] == len(stamps), name


def test_a_ready_node_does_not_wait_for_a_long_sibling_while_a_worker_idles():
    graph = mg.Graph("""
        num_threads: 2
        input_stream: "in"
        node { calculator: "NoLossJoin" input_stream: "in" output_stream: "a" }
        node { calculator: "NoLossWaitsForPeer" input_stream: "a" output_stream: "b" }
        node { calculator: "NoLossPeer" input_stream: "a" output_stream: "c" }
    """)
    NoLossWaitsForPeer.saw_peer.clear()
    graph.start_run()
    for ts in range(3):  # from the second round on, both workers surely wait for work
        NoLossWaitsForPeer.peer_ran.clear()
        NoLossWaitsForPeer.done.clear()
        graph.add_packet("in", frozenset(), timestamp=ts, timeout=WAIT)
        assert NoLossWaitsForPeer.done.wait(WAIT)
        assert NoLossWaitsForPeer.peer_ran.wait(WAIT)
    graph.close_all_inputs()
    graph.wait_until_done(WAIT)
    assert NoLossWaitsForPeer.saw_peer == [True, True, True]


# -- 2. drop policies: every packet comes out or is counted as dropped ------------------------

def test_fixed_size_drops_are_counted_once():
    graph = mg.Graph("""
        input_stream: "in"
        node { name: "fixed" calculator: "NoLossGate" input_stream: "in" output_stream: "out"
          input_stream_handler { input_stream_handler: "FixedSizeInputStreamHandler"
            options { [mediapipe.FixedSizeInputStreamHandlerOptions.ext] {
              trigger_queue_size: 2 target_queue_size: 1 } } } }
    """)
    out = []
    graph.observe_output_stream("out", out.append)
    NoLossGate.entered.clear()
    NoLossGate.release.clear()
    graph.start_run()
    try:
        graph.add_packet("in", 0, timestamp=0, timeout=WAIT)
        assert NoLossGate.entered.wait(WAIT)
        for ts in range(1, 6):  # queued behind 0: 1, 2 and 3, 4 are trimmed, 5 stays
            graph.add_packet("in", ts, timestamp=ts, timeout=WAIT)
    finally:
        NoLossGate.release.set()
    graph.close_all_inputs()
    graph.wait_until_done(WAIT)
    assert [int(p.timestamp) for p in out] == [0, 5]
    assert graph.profile().node("fixed").dropped == 4
    assert graph.profile().total_dropped == 4


def _limiter_branch(delay: str, max_in_flight: int, max_in_queue: int, timeout: int) -> str:
    return f"""
        input_stream: "fl_in"
        node {{ name: "limiter" calculator: "FlowLimiterCalculator"
          input_stream: "fl_in" input_stream: "FINISHED:fl_out"
          input_stream_info {{ tag_index: "FINISHED" back_edge: true }}
          output_stream: "fl_gated" output_stream: "ALLOW:fl_allow"
          options {{ [mediapipe.FlowLimiterCalculatorOptions.ext] {{
            max_in_flight: {max_in_flight} max_in_queue: {max_in_queue}
            in_flight_timeout: {timeout} }} }} }}
        node {{ name: "fl_slow" calculator: "NoLossJoin" input_stream: "fl_gated"
          output_stream: "fl_out" {delay} }}
    """


def _fixed_size_branch(delay: str, n_inputs: int, trigger: int, target: int) -> str:
    ins = " ".join(f'input_stream: "fx_in{i}"' for i in range(n_inputs))
    return "".join(f'input_stream: "fx_in{i}"\n' for i in range(n_inputs)) + f"""
        node {{ name: "fixed" calculator: "NoLossJoin" {ins} output_stream: "fx_out" {delay}
          input_stream_handler {{ input_stream_handler: "FixedSizeInputStreamHandler"
            options {{ [mediapipe.FixedSizeInputStreamHandlerOptions.ext] {{
              trigger_queue_size: {trigger} target_queue_size: {target} }} }} }} }}
    """


def _not_full_branch(delay: str) -> str:
    return f"""
        input_stream: "nf_in"
        node {{ name: "nf_slow" calculator: "NoLossJoin" input_stream: "nf_in"
          output_stream: "nf_out" {delay} }}
    """


@st.composite
def drop_cases(draw):
    parts = draw(st.sets(st.sampled_from(["limiter", "fixed", "not_full"]), min_size=1))
    stamps = st.integers(1, 40).flatmap(  # lengths spread evenly: long feeds are common
        lambda n: st.lists(st.integers(0, 200), min_size=n, max_size=n, unique=True)).map(sorted)
    return {
        "parts": parts,
        "slow": draw(st.booleans()),  # a 2 ms node fed back to back: drops must happen
        "threads": draw(st.integers(1, 4)),
        "max_queue": draw(st.sampled_from([1, 2, 100])),
        "limiter": (draw(stamps), draw(st.integers(1, 2)), draw(st.integers(0, 2)),
                    draw(st.sampled_from([1_000_000, 1_000_000, 0, 20]))),  # µs; 0: never
        "fixed": ([draw(stamps) for _ in range(draw(st.integers(1, 2)))],
                  *sorted(draw(st.lists(st.integers(1, 3), min_size=2, max_size=2)),
                          reverse=True)),
        "fixed_queue": draw(st.sampled_from([-1, 100, 2, 3])),  # small: throttles, may not drop
        "not_full": (draw(stamps), draw(st.integers(1, 3))),
        "gap_us": draw(st.sampled_from([0, 0, 100, 300])),  # feeder pause between adds
    }


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(drop_cases())
def test_every_packet_is_delivered_or_counted_as_dropped(case):
    slow, parts = case["slow"], case["parts"]
    delay = _delay_options(0, SLOW_US) if slow else _delay_options(300)
    gap = 0 if slow else case["gap_us"]
    text = [f"num_threads: {case['threads']}", f"max_queue_size: {case['max_queue']}"]
    if "limiter" in parts:
        fl_stamps, max_in_flight, max_in_queue, in_flight_timeout = case["limiter"]
        text.append(_limiter_branch(delay, max_in_flight, max_in_queue, in_flight_timeout))
    if "fixed" in parts:
        fx_stamps, trigger, target = case["fixed"]
        text.append(_fixed_size_branch(delay, len(fx_stamps), trigger, target))
    if "not_full" in parts:
        nf_stamps, nf_queue = case["not_full"]
        text.append(_not_full_branch(delay))
    graph = mg.Graph("\n".join(text))
    outputs = {name: [] for name in ("fl_out", "fl_allow", "fx_out", "nf_out")
               if name in graph.spec.streams}
    for name, seen in outputs.items():
        graph.observe_output_stream(name, seen.append)
    if "fixed" in parts:
        for i in range(len(fx_stamps)):
            graph.set_max_queue_size(f"fx_in{i}", case["fixed_queue"])
    if "not_full" in parts:
        graph.set_max_queue_size("nf_in", nf_queue)
    graph.start_run()
    try:
        waiting = {}
        if "limiter" in parts:
            waiting["fl_in"] = fl_stamps
        if "fixed" in parts:
            waiting.update({f"fx_in{i}": s for i, s in enumerate(fx_stamps)})
        results: dict[str, list[bool]] = {}
        errors: list[BaseException] = []

        def feed(feeds: dict[str, list[int]], mode: str) -> None:
            try:
                results.update(_feed_in_threads(graph, feeds, mode, gap))
            except Exception as exc:  # noqa: BLE001 - re-raised on the test thread
                errors.append(exc)

        threads = []
        if waiting:
            threads.append(threading.Thread(target=feed, args=(waiting, "wait")))
        if "not_full" in parts:
            threads.append(threading.Thread(target=feed,
                                            args=({"nf_in": nf_stamps}, "add_if_not_full")))
        _run_feeders(threads, errors, WAIT * 3)
        graph.wait_until_done(WAIT)
    except BaseException:
        graph.cancel()
        raise
    profile = graph.profile()
    stamps = {name: [int(p.timestamp) for p in packets] for name, packets in outputs.items()}
    drops = 0

    if "limiter" in parts:
        limiter_dropped = profile.node("limiter").dropped
        drops += limiter_dropped
        assert all(results["fl_in"])
        allow = [(int(p.timestamp), p.value) for p in outputs["fl_allow"]]
        assert [t for t, _ in allow] == fl_stamps  # one verdict per frame, in order
        assert [t for t, ok in allow if ok] == stamps["fl_out"]
        assert len(fl_stamps) == len(stamps["fl_out"]) + limiter_dropped
        if max_in_queue:
            assert stamps["fl_out"][-1] == fl_stamps[-1]  # the newest frame is flushed
        event(f"limiter dropped: {bool(limiter_dropped)} (slow: {slow})")
        # Drops need a worker free to run the limiter while the slow nodes (one per part)
        # sleep; otherwise frames wait in its input queue, behind FINISHED, and pass. With
        # 1-packet queues the feeder is throttled until an observer runs, which may wait
        # for the slow node (see the xfail test above): nothing reaches the limiter either.
        if (slow and case["threads"] > len(parts) and case["max_queue"] > 1
                and in_flight_timeout != 20 and len(fl_stamps) > max_in_flight + max_in_queue + 2):
            assert limiter_dropped > 0

    if "fixed" in parts:
        fixed_dropped = profile.node("fixed").dropped
        drops += fixed_dropped
        arrived = sum(len(s) for s in fx_stamps)
        processed = sum(len(p.value) for p in outputs["fx_out"])  # packets each call consumed
        assert profile.node("fixed").calls == len(outputs["fx_out"])
        assert arrived == processed + fixed_dropped
        fed = {ts for s in fx_stamps for ts in s}
        assert set(stamps["fx_out"]) <= fed and stamps["fx_out"] == sorted(set(stamps["fx_out"]))
        event(f"fixed-size dropped: {bool(fixed_dropped)} (slow: {slow})")
        roomy = case["fixed_queue"] == -1 or case["fixed_queue"] > trigger
        if slow and roomy and len(fx_stamps) == 1 and len(fx_stamps[0]) > trigger + 2:
            assert fixed_dropped > 0

    if "not_full" in parts:
        at_input = profile.streams["nf_in"]["dropped_at_input"]
        drops += at_input
        accepted = [ts for ts, ok in zip(nf_stamps, results["nf_in"]) if ok]
        assert len(nf_stamps) == len(accepted) + at_input
        assert stamps["nf_out"] == accepted  # what was accepted is never lost downstream
        assert profile.streams["nf_in"]["packets"] == len(accepted)
        assert profile.node("nf_slow").dropped == 0
        event(f"add_if_not_full dropped: {bool(at_input)} (slow: {slow})")
        if slow and len(nf_stamps) > nf_queue + 3:
            assert at_input > 0

    assert profile.total_dropped == drops
