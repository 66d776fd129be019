"""The scheduler's guarantees: determinism, bounds, back-pressure, errors, cancel, threads."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time

import pytest

import mediagraph as mg
from mediagraph.testing import timestamps, values
from tests.mediagraph import sched_calcs

pytestmark = pytest.mark.timeout(60)


def graph_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("mediagraph-")}


@pytest.fixture(autouse=True)
def no_thread_leaks():
    before = graph_threads()
    yield
    leaked = graph_threads() - before
    assert not leaked, f"graph threads outlived the test: {leaked}"


DIAMOND = """
input_stream: "in"
node { name: "a" calculator: "JitterAdd" input_stream: "in" output_stream: "a" }
node { name: "bb" calculator: "JitterAdd" input_stream: "a" output_stream: "b" }
node { name: "ccc" calculator: "JitterAdd" input_stream: "a" output_stream: "c" }
node { name: "even" calculator: "EvenOnly" input_stream: "c" output_stream: "c_even" }
node { calculator: "JoinSum" input_stream: "b" input_stream: "c_even" output_stream: "joined" }
"""


def test_diamond_with_random_delays_is_deterministic_over_200_runs():
    graph = mg.Graph(DIAMOND)
    inputs = {"in": [(i, i) for i in range(20)]}
    first = graph.run(inputs, timeout=20)["joined"]
    expected = [((i + 1 + 2), (i + 1 + 3) if (i + 1 + 3) % 2 == 0 else None) for i in range(20)]
    assert values(first) == expected
    for _ in range(199):
        again = graph.run(inputs, timeout=20)["joined"]
        assert values(again) == values(first)
        assert timestamps(again) == list(range(20))


def test_absent_packets_do_not_stall_the_join():
    """EvenOnly sends nothing at odd timestamps; the join still runs at every timestamp."""
    graph = mg.Graph(DIAMOND)
    poller = graph.poll("joined")
    graph.start_run()
    graph.add_packet("in", 0, timestamp=0)  # c = 0+1+3 = 4: even, both inputs present
    graph.add_packet("in", 1, timestamp=1)  # c = 5: odd, absent at 1
    first = poller.next(timeout=5)
    second = poller.next(timeout=5)  # must not wait for timestamp 2 to settle timestamp 1
    assert (first.value, int(first.timestamp)) == ((3, 4), 0)
    assert (second.value, int(second.timestamp)) == ((4, None), 1)
    graph.close_all_inputs()
    graph.wait_until_done(timeout=10)


def test_observe_timestamp_bounds_delivers_bound_only_updates():
    graph = mg.Graph("""
        input_stream: "in"
        node { calculator: "EvenOnly" input_stream: "in" output_stream: "even" }
    """)
    seen: list[tuple[object, int]] = []
    graph.observe_output_stream("even", lambda p: seen.append((p.value, int(p.timestamp))),
                                observe_timestamp_bounds=True)
    graph.run({"in": [(i, i) for i in range(4)]}, timeout=10)
    assert seen == [(0, 0), (None, 1), (2, 2), (None, 3)]


def test_graph_input_bound_lets_consumers_proceed():
    graph = mg.Graph("""
        input_stream: "a"
        input_stream: "b"
        node { calculator: "JoinSum" input_stream: "a" input_stream: "b" output_stream: "out" }
    """)
    poller = graph.poll("out")
    graph.start_run()
    graph.add_packet("a", 1, timestamp=10)
    with pytest.raises(TimeoutError):
        poller.next(timeout=0.2)  # b may still send at 10
    graph.set_input_stream_bound("b", 11)
    packet = poller.next(timeout=5)
    assert (packet.value, int(packet.timestamp)) == ((1, None), 10)
    graph.close_all_inputs()
    graph.wait_until_done(timeout=10)


def test_immediate_handler_does_not_wait_for_other_inputs():
    graph = mg.Graph("""
        input_stream: "a"
        input_stream: "b"
        node { calculator: "JoinSum" input_stream: "a" input_stream: "b" output_stream: "out"
               input_stream_handler { input_stream_handler: "ImmediateInputStreamHandler" } }
    """)
    poller = graph.poll("out")
    graph.start_run()
    graph.add_packet("a", 1, timestamp=10)
    packet = poller.next(timeout=5)  # no bound on b needed
    assert packet.value == (1, None)
    graph.close_all_inputs()
    graph.wait_until_done(timeout=10)


def test_fixed_size_handler_drops_oldest_and_counts():
    graph = mg.Graph("""
        input_stream: "in"
        node { name: "blocker" calculator: "Blocker" input_stream: "in" output_stream: "mid" }
        node { name: "latest" calculator: "RecordClose" input_stream: "mid" output_stream: "out"
               input_stream_handler {
                 input_stream_handler: "FixedSizeInputStreamHandler"
                 options { [mediapipe.FixedSizeInputStreamHandlerOptions.ext] {
                   trigger_queue_size: 3 target_queue_size: 1 } } } }
    """)
    sched_calcs.Blocker.release.set()
    out = graph.run({"in": [(i, i) for i in range(50)]}, timeout=20)
    got = timestamps(out["out"])
    profile = graph.profile()
    assert got == sorted(got) and got[-1] == 49
    dropped = profile.node("latest").dropped
    assert dropped == 50 - len(got)


def test_sync_set_handler_runs_sets_independently():
    options = mg.parse_config("""
        node { calculator: "JoinSum"
          input_stream_handler { input_stream_handler: "SyncSetInputStreamHandler"
            options { [mediapipe.SyncSetInputStreamHandlerOptions.ext] {
              sync_set { tag_index: ":0" } sync_set { tag_index: ":1" } } } } }
    """).node[0].input_stream_handler.options
    graph = mg.Graph("""
        input_stream: "a"
        input_stream: "b"
        node { calculator: "JoinSum" input_stream: "a" input_stream: "b" output_stream: "out"
          input_stream_handler { input_stream_handler: "SyncSetInputStreamHandler"
            options { [mediapipe.SyncSetInputStreamHandlerOptions.ext] {
              sync_set { tag_index: ":0" } sync_set { tag_index: ":1" } } } } }
    """)
    assert options.ByteSize() > 0
    poller = graph.poll("out")
    graph.start_run()
    graph.add_packet("a", 1, timestamp=5)
    assert poller.next(timeout=5).value == (1, None)  # b's set is independent
    graph.close_all_inputs()
    graph.wait_until_done(timeout=10)


def test_timestamp_violation_names_node_stream_and_timestamps():
    graph = mg.Graph("""
        input_stream: "in"
        node { name: "backwards" calculator: "BackwardsTimestamps" input_stream: "in"
               output_stream: "out" }
    """)
    with pytest.raises(mg.TimestampError) as excinfo:
        graph.run({"in": [(1, 10), (2, 12)]}, timeout=10)
    message = str(excinfo.value)
    assert "backwards" in message and "'out'" in message
    assert "88" in message and "91" in message and "90" in message  # offending, bound, previous


def test_graph_input_timestamps_must_increase():
    graph = mg.Graph('input_stream: "in" node { calculator: "RecordClose" input_stream: "in" '
                     'output_stream: "out" }')
    graph.start_run()
    graph.add_packet("in", 1, timestamp=5)
    with pytest.raises(mg.TimestampError, match="'in'.*5"):
        graph.add_packet("in", 2, timestamp=5)
    graph.close_all_inputs()
    graph.wait_until_done(timeout=10)


def test_error_in_process_names_node_and_timestamp_closes_all_and_reruns():
    graph = mg.Graph("""
        input_stream: "in"
        input_side_packet: "fail_at"
        node { name: "first" calculator: "RecordClose" input_stream: "in" output_stream: "a" }
        node { name: "failing" calculator: "FailAt" input_stream: "a" output_stream: "b"
               input_side_packet: "FAIL_AT:fail_at" }
        node { name: "last" calculator: "RecordClose" input_stream: "b" output_stream: "out" }
    """)
    sched_calcs.RecordClose.closed.clear()
    sched_calcs.FailAt.closed.clear()
    with pytest.raises(mg.CalculatorError) as excinfo:
        graph.run({"in": [(i, i) for i in range(10)]}, {"fail_at": 4}, timeout=10)
    error = excinfo.value
    assert error.node == "failing" and int(error.timestamp) == 4 and error.method == "process"
    assert "failing" in str(error) and "4" in str(error) and "FailAt" in str(error)
    assert isinstance(error.__cause__, ValueError)
    assert sorted(sched_calcs.RecordClose.closed) == ["first", "last"]
    assert sched_calcs.FailAt.closed == ["failing"]
    out = graph.run({"in": [(i, i) for i in range(3)]}, {"fail_at": 100}, timeout=10)
    assert values(out["out"]) == [0, 1, 2]


def test_two_failures_raise_an_exception_group_with_both():
    class FailingClose(mg.Calculator):
        value = mg.Input(int, tag="")
        out = mg.Output(int, tag="")

        def process(self, cc: mg.CalculatorContext) -> None:
            cc.send(self.out, cc.get(self.value))

        def close(self, cc: mg.CalculatorContext) -> None:
            raise OSError("disk full while closing")

    graph = mg.Graph("""
        input_stream: "in"
        input_stream: "other"
        input_side_packet: "fail_at"
        node { name: "failing" calculator: "FailAt" input_stream: "in" output_stream: "a"
               input_side_packet: "FAIL_AT:fail_at" }
        node { name: "closing" calculator: "FailingClose" input_stream: "other"
               output_stream: "b" }
    """)
    graph.start_run({"fail_at": 0})
    graph.add_packet("in", 0, timestamp=0)  # "other" stays open: "closing" closes in cleanup
    with pytest.raises(ExceptionGroup) as excinfo:
        graph.wait_until_done(timeout=10)
    errors = {(e.node, e.method): e for e in excinfo.value.exceptions}
    assert set(errors) == {("failing", "process"), ("closing", "close")}
    assert isinstance(errors[("closing", "close")].__cause__, OSError)


def test_cancel_with_open_inputs_and_full_queues_returns_promptly():
    graph = mg.Graph("""
        max_queue_size: 2
        input_stream: "in"
        node { calculator: "Blocker" input_stream: "in" output_stream: "out" }
    """)
    sched_calcs.Blocker.release.clear()
    sched_calcs.Blocker.entered.clear()
    graph.start_run()
    graph.add_packet("in", 0, timestamp=0)
    assert sched_calcs.Blocker.entered.wait(5)
    graph.add_packet("in", 1, timestamp=1)
    graph.add_packet("in", 2, timestamp=2)
    assert graph.add_packet("in", 3, timestamp=3, mode="add_if_not_full") is False
    blocked_error: list[BaseException] = []

    def blocked_writer() -> None:
        try:
            graph.add_packet("in", 4, timestamp=4)
        except BaseException as exc:  # noqa: BLE001
            blocked_error.append(exc)

    writer = threading.Thread(target=blocked_writer)
    writer.start()
    start = time.monotonic()
    threading.Timer(0.1, sched_calcs.Blocker.release.set).start()
    graph.cancel()
    assert time.monotonic() - start < 2.0
    writer.join(2)
    assert not writer.is_alive()
    with pytest.raises(mg.GraphCancelled):
        graph.wait_until_done(timeout=5)
    assert not graph._run.alive_threads()


def test_fast_source_into_slow_sink_respects_max_queue_size():
    graph = mg.Graph("""
        max_queue_size: 2
        input_side_packet: "count"
        node { calculator: "CounterSource" output_stream: "n" input_side_packet: "COUNT:count" }
        node { name: "slow" calculator: "SlowDouble" input_stream: "n" output_stream: "out" }
    """)
    out = graph.run(side_packets={"count": 40}, timeout=30)
    assert values(out["out"]) == [2 * i for i in range(40)]
    assert graph.profile().node("slow").queue_peak <= 2
    assert graph._run.deadlock_resolutions == 0


def test_graph_input_throttling_deadlock_is_reported_naming_the_stream():
    config = """
        max_queue_size: 1
        report_deadlock: true
        input_stream: "a"
        input_stream: "b"
        node { name: "join" calculator: "JoinSum" input_stream: "a" input_stream: "b"
               output_stream: "out" }
    """
    graph = mg.Graph(config)
    graph.start_run()
    graph.add_packet("a", 0, timestamp=0)
    with pytest.raises((mg.DeadlockError, mg.GraphRunError)) as excinfo:
        graph.add_packet("a", 1, timestamp=1)  # 'a' is full and 'b' never advances
    with pytest.raises(mg.DeadlockError) as done_error:
        graph.wait_until_done(timeout=5)
    for message in (str(excinfo.value), str(done_error.value)):
        assert "deadlock" in message.lower() and "'a'" in message and "join" in message


def test_throttling_deadlock_grows_the_queue_and_warns(caplog):
    graph = mg.Graph("""
        max_queue_size: 1
        input_stream: "a"
        input_stream: "b"
        node { calculator: "JoinSum" input_stream: "a" input_stream: "b" output_stream: "out" }
    """)
    with caplog.at_level(logging.WARNING, logger="mediagraph.scheduler"):
        out = graph.run({"a": [(i, i) for i in range(5)], "b": []}, timeout=10)
    assert values(out["out"]) == [(i, None) for i in range(5)]
    assert "increasing max_queue_size" in caplog.text


def test_max_in_flight_keeps_output_order():
    graph = mg.Graph("""
        num_threads: 4
        input_stream: "in"
        node { calculator: "SlowDouble" input_stream: "in" output_stream: "out" max_in_flight: 4 }
    """)
    out = graph.run({"in": [(i, i) for i in range(40)]}, timeout=20)
    assert values(out["out"]) == [2 * i for i in range(40)]
    assert timestamps(out["out"]) == list(range(40))


def test_named_executor_runs_its_nodes_on_its_threads():
    graph = mg.Graph("""
        input_stream: "in"
        executor { name: "io" type: "ThreadPoolExecutor"
                   options { [mediapipe.ThreadPoolExecutorOptions.ext] { num_threads: 1
                             thread_name_prefix: "mediagraph-io" } } }
        node { calculator: "ThreadName" input_stream: "in" output_stream: "on_io" executor: "io" }
        node { calculator: "ThreadName" input_stream: "in" output_stream: "on_default" }
    """)
    out = graph.run({"in": [(i, i) for i in range(5)]}, timeout=10)
    assert all(name.startswith("mediagraph-io") for name in values(out["on_io"]))
    assert all(name.startswith("mediagraph-default") for name in values(out["on_default"]))


NICE_GRAPH = """
    input_stream: "in"
    executor { name: "background" options { [mediapipe.ThreadPoolExecutorOptions.ext] {
                 num_threads: 2 nice_priority_level: %d } } }
    node { calculator: "ThreadNice" input_stream: "in" output_stream: "low" executor: "background" }
    node { calculator: "ThreadNice" input_stream: "in" output_stream: "normal" }
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_nice_priority_level_lowers_only_its_executors_threads():
    base = os.getpriority(os.PRIO_PROCESS, 0)
    out = mg.Graph(NICE_GRAPH % 5).run({"in": [(i, i) for i in range(20)]}, timeout=10)
    assert set(values(out["low"])) == {min(base + 5, 19)}
    assert set(values(out["normal"])) == {base}
    assert os.getpriority(os.PRIO_PROCESS, 0) == base  # the caller's thread is untouched


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_a_nice_level_the_process_may_not_take_warns_and_runs(monkeypatch, caplog):
    def refuse(*_args):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "setpriority", refuse)
    with caplog.at_level(logging.WARNING, logger="mediagraph.scheduler"):
        out = mg.Graph(NICE_GRAPH % -5).run({"in": [(i, i) for i in range(5)]}, timeout=10)
    assert len(values(out["low"])) == 5
    assert caplog.text.count("executor 'background': cannot apply nice_priority_level -5 "
                             "(Permission denied)") == 1  # once, not once per worker


@pytest.mark.parametrize(("config", "message"), [
    (NICE_GRAPH % 20, "executor 'background': nice_priority_level 20 is outside -20..19"),
    ("""executor { type: "ApplicationThreadExecutor" options {
          [mediapipe.ThreadPoolExecutorOptions.ext] { nice_priority_level: 3 } } }
        input_stream: "in"
        node { calculator: "ThreadNice" input_stream: "in" output_stream: "out" }""",
     "ApplicationThreadExecutor runs on the caller's thread: nice_priority_level cannot "
     "apply to it")])
def test_bad_nice_levels_are_config_errors(config, message):
    with pytest.raises(mg.GraphConfigError, match=message):
        mg.Graph(config)


def test_application_thread_executor_runs_on_the_caller():
    graph = mg.Graph("""
        executor { type: "ApplicationThreadExecutor" }
        input_stream: "in"
        node { calculator: "ThreadName" input_stream: "in" output_stream: "out" }
    """)
    out = graph.run({"in": [(i, i) for i in range(300)]}, timeout=10)
    assert set(values(out["out"])) == {threading.current_thread().name}


def test_side_packet_set_in_open_feeds_a_downstream_node():
    graph = mg.Graph("""
        input_stream: "in"
        node { calculator: "SideMaker" output_side_packet: "FACTOR:factor" }
        node { calculator: "Scale" input_stream: "in" input_side_packet: "FACTOR:factor"
               output_stream: "out" }
    """)
    out = graph.run({"in": [(1, 0), (2, 1)]}, timeout=10)
    assert values(out["out"]) == [7, 14]
    assert graph.get_output_side_packet("factor") == 7


def test_missing_side_packet_is_reported_at_start():
    graph = mg.Graph("""
        input_stream: "in"
        node { calculator: "Scale" input_stream: "in" input_side_packet: "FACTOR:factor"
               output_stream: "out" }
    """)
    with pytest.raises(mg.GraphRunError, match="factor"):
        graph.start_run()


def test_pre_and_post_stream_packets():
    graph = mg.Graph("""
        node { calculator: "HeaderSource" output_stream: "HEADER:h" output_stream: "DATA:d"
               output_stream: "TRAILER:t" }
    """)
    out = graph.run(timeout=10)
    assert [(p.value, p.timestamp) for p in out["h"]] == [("hdr", mg.Timestamp.PRE_STREAM)]
    assert values(out["d"]) == [0, 1, 2]
    assert [(p.value, p.timestamp) for p in out["t"]] == [("end", mg.Timestamp.POST_STREAM)]


def test_source_layers_run_in_order():
    sched_calcs.LayerSource.order.clear()
    graph = mg.Graph("""
        node { name: "late" calculator: "LayerSource" output_stream: "b" source_layer: 1 }
        node { name: "early" calculator: "LayerSource" output_stream: "a" source_layer: 0 }
    """)
    graph.run(timeout=10)
    order = sched_calcs.LayerSource.order
    assert order == [f"early-{i}" for i in range(3)] + [f"late-{i}" for i in range(3)]


def test_stop_from_a_non_source_ends_the_run_gracefully():
    class StopAtThree(mg.Calculator):
        value = mg.Input(int, tag="")
        out = mg.Output(int, tag="")

        def process(self, cc: mg.CalculatorContext) -> object:
            if cc.get(self.value) == 3:
                return mg.Stop
            cc.send(self.out, cc.get(self.value))
            return None

    graph = mg.Graph("""
        input_side_packet: "count"
        node { calculator: "CounterSource" output_stream: "n" input_side_packet: "COUNT:count" }
        node { calculator: "StopAtThree" input_stream: "n" output_stream: "out" }
    """)
    out = graph.run(side_packets={"count": 1_000_000}, timeout=20)
    assert values(out["out"])[:3] == [0, 1, 2]
    assert 3 not in values(out["out"])


def test_poller_next_times_out_and_ends_with_none():
    graph = mg.Graph('input_stream: "in" node { calculator: "RecordClose" input_stream: "in" '
                     'output_stream: "out" }')
    poller = graph.poll("out")
    graph.start_run()
    with pytest.raises(TimeoutError):
        poller.next(timeout=0.05)
    graph.add_packet("in", "x", timestamp=3)
    assert poller.next(timeout=5).value == "x"
    graph.close_all_inputs()
    graph.wait_until_done(timeout=10)
    assert poller.next(timeout=1) is None
    assert list(poller) == []


def test_wait_until_idle_then_more_input():
    graph = mg.Graph('input_stream: "in" node { calculator: "RecordClose" input_stream: "in" '
                     'output_stream: "out" }')
    seen: list[int] = []
    graph.observe_output_stream("out", lambda p: seen.append(p.value))
    graph.start_run()
    graph.add_packet("in", 1, timestamp=1)
    graph.wait_until_idle(timeout=5)
    assert seen == [1]
    graph.add_packet("in", 2, timestamp=2)
    graph.close_all_inputs()
    graph.wait_until_done(timeout=5)
    assert seen == [1, 2]


def test_context_manager_finishes_the_run():
    seen: list[int] = []
    with mg.Graph('input_stream: "in" node { calculator: "RecordClose" input_stream: "in" '
                  'output_stream: "out" }') as graph:
        graph.observe_output_stream("out", lambda p: seen.append(p.value))
        graph.start_run()
        graph.add_packet("in", 5, timestamp=0)
    assert seen == [5]


def test_profile_and_trace(tmp_path):
    trace_path = tmp_path / "trace.json"
    graph = mg.Graph(f"""
        input_stream: "in"
        profiler_config {{ trace_enabled: true trace_log_path: "{trace_path}" }}
        node {{ name: "p1" calculator: "RecordClose" input_stream: "in" output_stream: "a" }}
        node {{ name: "p2" calculator: "RecordClose" input_stream: "a" output_stream: "out" }}
    """)
    graph.run({"in": [(i, i) for i in range(25)]}, timeout=10)
    profile = graph.profile()
    assert profile.node("p1").calls == 25 and profile.node("p2").calls == 25
    assert profile.node("p1").queue_peak >= 1
    assert "p1" in profile.table() and "calls" in profile.table()
    import json

    trace = json.loads(trace_path.read_text())
    slices = [e for e in trace["traceEvents"] if e.get("ph") == "X" and e["cat"] == "process"
              and e["args"]["node"] in ("p1", "p2")]
    assert len(slices) == 50
    starts = [e for e in trace["traceEvents"] if e.get("ph") == "s"]
    finishes = [e for e in trace["traceEvents"] if e.get("ph") == "f"]
    assert len(starts) >= 25 and len(finishes) >= 25
    assert {e["id"] for e in finishes} <= {e["id"] for e in starts}


def test_function_calculator():
    @mg.calculator
    def add_offset(value: int, *, offset: int = 10) -> int:
        return value + offset

    graph = mg.Graph("""
        input_stream: "in"
        node { calculator: "AddOffset" input_stream: "VALUE:in" output_stream: "OUTPUT:out"
               node_options { [type.googleapis.com/mediagraph.AddOffsetOptions] { offset: 5 } } }
    """)
    assert values(graph.run({"in": [(1, 0), (2, 1)]}, timeout=10)["out"]) == [6, 7]


def test_packets_are_frozen_when_sent():
    import numpy as np

    @mg.calculator(name="MakeArray")
    def make_array(value: int) -> np.ndarray:
        return np.full(3, value)

    graph = mg.Graph('input_stream: "in" node { calculator: "MakeArray" input_stream: "VALUE:in" '
                     'output_stream: "OUTPUT:out" }')
    array = graph.run({"in": [(1, 0)]}, timeout=10)["out"][0].value
    with pytest.raises(ValueError):
        array[0] = 5


def test_stop_from_an_error_drains_downstream_then_fails():
    class FailingSource(mg.Calculator):
        out = mg.Output(int, tag="")

        def open(self, cc: mg.CalculatorContext) -> None:
            self.i = 0

        def process(self, cc: mg.CalculatorContext) -> None:
            if self.i == 20:
                raise mg.Stop from OSError("the disk went away")
            cc.send(self.out, self.i, timestamp=self.i)
            self.i += 1

    graph = mg.Graph("""
        max_queue_size: 3
        node { name: "src" calculator: "FailingSource" output_stream: "n" }
        node { calculator: "SlowDouble" input_stream: "n" output_stream: "out" }
    """)
    seen: list[int] = []
    graph.observe_output_stream("out", lambda p: seen.append(p.value))
    with pytest.raises(mg.CalculatorError, match="disk went away") as excinfo:
        graph.run(timeout=30)
    assert excinfo.value.node == "src" and isinstance(excinfo.value.__cause__, OSError)
    assert seen == [2 * i for i in range(20)]  # nothing already sent was lost


def test_side_packet_of_the_wrong_type_names_the_packet_and_port():
    graph = mg.Graph("""
        input_stream: "in"
        input_side_packet: "factor"
        node { name: "scale" calculator: "Scale" input_stream: "in"
               input_side_packet: "FACTOR:factor" output_stream: "out" }
    """)
    with pytest.raises(mg.GraphRunError) as excinfo:
        graph.start_run({"factor": "seven"})
    message = str(excinfo.value)
    assert "'factor'" in message and "str" in message and "scale" in message and "int" in message
    assert values(graph.run({"in": [(2, 0)]}, {"factor": 3}, timeout=10)["out"]) == [6]


class HoldAtZero(mg.Calculator):
    """Passes packets through, but holds timestamp 0 until its class's `release` is set;
    sets `sent_3` once it has passed timestamp 3 on."""

    value = mg.Input(int, tag="")
    out = mg.Output(int, tag="")
    release = threading.Event()
    sent_3 = threading.Event()

    def process(self, cc):
        if int(cc.input_timestamp) == 0:
            type(self).release.wait(10)
        cc.send(self.out, cc.get(self.value))
        if int(cc.input_timestamp) == 3:
            type(self).sent_3.set()


class HoldAtZeroToo(HoldAtZero):
    release = threading.Event()
    sent_3 = threading.Event()


class CountToTwenty(mg.Calculator):
    """Sends 0..19; sets `sent_4` once timestamp 4 is out (the 4-packet queues are full)."""

    out = mg.Output(int, tag="")
    sent_4 = threading.Event()

    def open(self, cc):
        self.next = 0

    def process(self, cc):
        if self.next == 20:
            return mg.Stop
        cc.send(self.out, self.next, timestamp=self.next)
        if self.next == 4:
            CountToTwenty.sent_4.set()
        self.next += 1
        return None


def test_a_node_stops_while_a_queue_it_feeds_is_full():
    """A full queue holds back its producer, not just the sources: `hold` may not push its
    backlog into the join's queue past max_queue_size while `lag` keeps the join waiting."""
    for event in (HoldAtZero.release, HoldAtZero.sent_3, HoldAtZeroToo.release,
                  CountToTwenty.sent_4):
        event.clear()
    graph = mg.Graph("""
        num_threads: 3
        max_queue_size: 4
        node { calculator: "CountToTwenty" output_stream: "s" }
        node { name: "hold" calculator: "HoldAtZero" input_stream: "s" output_stream: "h" }
        node { name: "lag" calculator: "HoldAtZeroToo" input_stream: "s" output_stream: "l" }
        node { name: "join" calculator: "MakePairCalculator" input_stream: "h" input_stream: "l"
               output_stream: "pairs" }
    """)
    pairs = []
    graph.observe_output_stream("pairs", pairs.append)
    graph.start_run()
    try:
        assert CountToTwenty.sent_4.wait(10)  # both holders have a full backlog
        HoldAtZero.release.set()  # hold's backlog meets the join, which waits on lag
        assert HoldAtZero.sent_3.wait(10)  # the join's queue from hold is now full
    finally:
        HoldAtZero.release.set()
        HoldAtZeroToo.release.set()
    graph.wait_until_done(timeout=10)
    assert len(pairs) == 20
    assert all(row.queue_peak <= 4 for row in graph.profile().nodes if row.inputs)


@pytest.mark.timeout(30)
def test_wait_until_done_from_a_graph_thread_raises_instead_of_deadlocking():
    graph = mg.Graph('input_stream: "a" node { calculator: "PassThroughCalculator" '
                     'input_stream: "a" output_stream: "b" }')
    seen = []

    def callback(packet):
        try:
            graph.wait_until_done(timeout=5)
        except mg.GraphRunError as exc:
            seen.append(str(exc))

    graph.observe_output_stream("b", callback)
    graph.start_run()
    graph.add_packet("a", 1, timestamp=0)
    graph.close_all_inputs()
    graph.wait_until_done(timeout=10)
    assert len(seen) == 1 and "graph's own threads" in seen[0]


COUNT = ('node { calculator: "CountingSourceCalculator" output_stream: "n" '
         'node_options { [type.googleapis.com/mediagraph.CountingSourceCalculatorOptions] '
         '{ count: %d } } }')


@pytest.mark.timeout(30)
def test_a_poller_nobody_reads_holds_the_graphs_bound_and_throttles_it():
    graph = mg.Graph("max_queue_size: 10 " + COUNT % 500)
    poller = graph.poll("n")
    graph.start_run()
    with pytest.raises(TimeoutError):
        graph.wait_until_done(timeout=0.5)  # throttled by the reader, not finished
    assert poller.queue_size() == 10
    values = [p.value for p in poller]
    graph.wait_until_done(timeout=10)
    assert values == list(range(500)) and poller.dropped == 0


@pytest.mark.timeout(30)
def test_a_dropping_poller_keeps_the_newest_and_counts_the_rest():
    graph = mg.Graph(COUNT % 50)
    poller = graph.poll("n", max_queue_size=5, overflow="drop_oldest")
    graph.start_run()
    graph.wait_until_done(timeout=10)
    assert [p.value for p in poller] == [45, 46, 47, 48, 49] and poller.dropped == 45


@pytest.mark.timeout(30)
def test_cancel_lets_go_of_a_full_waiting_poller():
    graph = mg.Graph(COUNT % 1000)
    graph.poll("n", max_queue_size=3)
    graph.start_run()
    with pytest.raises(TimeoutError):
        graph.wait_until_done(timeout=0.3)
    graph.cancel(timeout=5)
    assert graph._run.finished and not graph._run.alive_threads()


@pytest.mark.parametrize("size, overflow", [(0, "wait"), (-5, "wait"), (3, "newest")])
def test_a_poller_needs_a_valid_bound_and_policy(size, overflow):
    graph = mg.Graph(COUNT % 3)
    with pytest.raises(ValueError):
        graph.poll("n", max_queue_size=size, overflow=overflow)


@pytest.mark.timeout(30)
def test_a_blocked_observer_is_stopped_by_the_watchdog_and_the_graph_runs_again():
    import threading

    release = threading.Event()
    graph = mg.Graph("process_timeout: 0.3 " + COUNT % 3)
    graph.observe_output_stream("n", lambda packet: release.wait(20))
    graph.start_run()
    with pytest.raises(mg.CalculatorTimeoutError, match="__observer_0_n"):
        graph.wait_until_done(timeout=10)
    release.set()
    graph._observers.clear()
    graph.start_run()  # not "already running"
    graph.wait_until_done(timeout=10)


@pytest.mark.timeout(30)
def test_a_start_run_that_fails_part_way_leaves_no_thread_and_the_graph_runs_again(monkeypatch):
    import threading

    graph = mg.Graph("num_threads: 8 " + COUNT % 3)
    real_start = threading.Thread.start
    started = []

    def start_until_the_fourth(thread):
        started.append(thread)
        if len(started) == 4:
            raise RuntimeError("can't start new thread")
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start_until_the_fourth)
    with pytest.raises(RuntimeError, match="can't start new thread"):
        graph.start_run()
    monkeypatch.setattr(threading.Thread, "start", real_start)
    assert graph._run.join_threads(5.0) and graph._run.alive_threads() == []
    graph.start_run()
    graph.wait_until_done(timeout=10)


def test_an_observer_sees_a_packet_before_the_nodes_after_it_make_the_next_one():
    """Of a node's ready consumers this thread runs the one nearest the outputs first (as
    the ready queue orders them), so a live client gets a frame's results before the
    image drawn from them, even on one thread."""
    graph = mg.Graph("""
        num_threads: 1
        input_stream: "in"
        output_stream: "results"
        output_stream: "image"
        node { calculator: "PassThroughCalculator" input_stream: "in" output_stream: "results" }
        node { calculator: "PassThroughCalculator" input_stream: "results" output_stream: "b" }
        node { calculator: "PassThroughCalculator" input_stream: "b" output_stream: "image" }
    """)
    seen: list[tuple[str, int]] = []
    graph.observe_output_stream("results", lambda p: seen.append(("results", int(p.timestamp))))
    graph.observe_output_stream("image", lambda p: seen.append(("image", int(p.timestamp))))
    graph.run({"in": [(i, i) for i in range(20)]}, timeout=20)
    for ts in range(20):
        assert seen.index(("results", ts)) < seen.index(("image", ts)), seen


def test_room_made_by_a_starting_call_does_not_push_its_own_bound_past_it():
    """A call that takes the packet of a full queue wakes that queue's producer, whose
    bounds move on and reach this node again; the node, not yet counted as running, passed
    a bound past the timestamp it was starting on, and its packet then failed as too late.
    (Found by the random-DAG property test: one thread, queues of 1.)"""
    lines = ['max_queue_size: 1', 'num_threads: 1', 'input_stream: "in0"', 'input_stream: "in1"']
    for name, sources, drop in (("s0", ["in0"], 2), ("s1", ["in1", "s0"], 0),
                                ("s2", ["in0"], 0), ("s3", ["in1", "s1"], 0),
                                ("s4", ["in0"], 0)):
        ins = " ".join(f'input_stream: "{s}"' for s in sources)
        lines.append(f'node {{ calculator: "RandomNode" {ins} output_stream: "{name}" '
                     f'node_options {{ [type.googleapis.com/mediagraph.RandomNodeOptions] '
                     f'{{ drop_mod: {drop} }} }} }}')
    graph = mg.Graph("\n".join(lines))
    for _ in range(20):
        out = graph.run({"in0": [(3, 1), (6, 2), (9, 3)], "in1": []},
                        outputs=["s0", "s1", "s2", "s3", "s4"], timeout=20)
        assert [(int(p.timestamp), p.value) for p in out["s3"]] == [(1, 3), (3, 9)]
