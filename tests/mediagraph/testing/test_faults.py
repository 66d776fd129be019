"""The fault injector, the process_timeout watchdog, output type checks and latency tracking."""

from __future__ import annotations

import threading
import time

import pytest

import mediagraph as mg
from mediagraph import Calculator, Input, Output, Stop
from mediagraph.testing import Fault, FaultInjector, InjectedFault, graph_threads

pytestmark = pytest.mark.timeout(60)


class FtSource(Calculator):
    """Emits 0..count-1 (side packet COUNT, default 20)."""

    out = Output(int, tag="")

    def open(self, cc):
        self.i = 0

    def process(self, cc):
        if self.i >= 20:
            return Stop
        cc.send(self.out, self.i, timestamp=self.i)
        self.i += 1
        return None


class FtDouble(Calculator):
    value = Input(int, tag="")
    out = Output(int, tag="")

    def process(self, cc):
        cc.send(self.out, cc.get(self.value) * 2)


class FtSleepy(Calculator):
    """Sleeps 20 ms per packet: a stand-in for slow inference."""

    value = Input(int, tag="")
    out = Output(int, tag="")

    def process(self, cc):
        time.sleep(0.02)
        cc.send(self.out, cc.get(self.value))


class FtUntyped(Calculator):
    value = Input(tag="")
    out = Output(tag="")

    def process(self, cc):
        cc.send(self.out, "anything")


CHAIN = """
node { name: "src" calculator: "FtSource" output_stream: "a" }
node { name: "mid" calculator: "FtDouble" input_stream: "a" output_stream: "b" }
node { name: "end" calculator: "FtDouble" input_stream: "b" output_stream: "c" }
"""


def run_chain(config: str = CHAIN, **faults: Fault):
    graph = mg.Graph(config)
    injector = FaultInjector(graph)
    for node, fault in faults.items():
        injector.inject(node, fault)
    got: list[int] = []
    graph.observe_output_stream("c", lambda p: got.append(p.value))
    return graph, injector, got


def test_a_clean_run_opens_and_closes_every_node():
    graph, injector, got = run_chain()
    graph.start_run()
    graph.wait_until_done(timeout=10)
    assert got == [4 * i for i in range(20)]
    assert sorted(injector.opened) == ["end", "mid", "src"]
    assert injector.unclosed() == []


@pytest.mark.parametrize("method", ["open", "process", "close"])
def test_raise_names_the_node_and_closes_the_others(method):
    calls = 3 if method == "process" else 0
    graph, injector, _ = run_chain(mid=Fault("raise", method=method, after_calls=calls))
    graph.start_run()
    with pytest.raises(mg.CalculatorError) as info:
        graph.wait_until_done(timeout=10)
    assert info.value.node == "mid" and info.value.method == method
    assert isinstance(info.value.__cause__, InjectedFault)
    assert injector.unclosed() == []


def test_wrong_type_is_caught_at_the_sending_node():
    graph, injector, _ = run_chain(mid=Fault("wrong_type", after_calls=5))
    graph.start_run()
    with pytest.raises(mg.PacketTypeError) as info:
        graph.wait_until_done(timeout=10)
    message = str(info.value)
    assert "'mid'" in message and "InjectedValue" in message and "timestamp 5" in message
    assert injector.unclosed() == []


def test_wrong_type_needs_a_typed_output():
    graph = mg.Graph('input_stream: "in" node { name: "u" calculator: "FtUntyped" '
                     'input_stream: "in" output_stream: "out" }')
    with pytest.raises(ValueError, match="no typed output"):
        FaultInjector(graph).inject("u", Fault("wrong_type"))


def test_bad_timestamp_names_the_node_and_stream():
    graph, injector, _ = run_chain(src=Fault("bad_timestamp", after_calls=7))
    graph.start_run()
    with pytest.raises(mg.TimestampError, match="node 'src'.*stream 'a'"):
        graph.wait_until_done(timeout=10)
    assert injector.unclosed() == []


def test_an_untyped_port_takes_any_value_and_typed_ports_take_numpy_scalars():
    import numpy as np

    class FtNumpyScalars(Calculator):
        value = Input(int, tag="")
        out = Output(float, tag="")
        count = Output(int, tag="COUNT")

        def process(self, cc):
            cc.send(self.out, np.float32(1.5))
            cc.send(self.count, np.int64(cc.get(self.value)))

    graph = mg.Graph('input_stream: "in" node { calculator: "FtNumpyScalars" '
                     'input_stream: "in" output_stream: "out" output_stream: "COUNT:n" }')
    out = graph.run({"in": [(3, 0)]}, outputs=["out", "n"], timeout=10)
    assert out["n"][0].value == 3


@pytest.mark.parametrize("method", ["process", "close"])
def test_the_watchdog_reports_a_hung_call_with_its_stack(method):
    timeout = 0.2 if method == "process" else 0.1  # close gets max(10x, 1 s)
    config = CHAIN.replace('calculator: "FtDouble" input_stream: "a"',
                           f'calculator: "FtDouble" process_timeout: {timeout} input_stream: "a"')
    calls = 2 if method == "process" else 0
    graph, injector, _ = run_chain(config, mid=Fault("hang", method=method, after_calls=calls))
    graph.start_run()
    start = time.monotonic()
    with pytest.raises(mg.CalculatorTimeoutError) as info:
        graph.wait_until_done(timeout=20)
    took = time.monotonic() - start
    error = info.value
    assert error.node == "mid" and error.method == method
    assert "_before" in error.stack and "wait" in error.stack  # where it hung
    assert error.thread.startswith("mediagraph")
    assert took < (1.0 if method == "process" else 3.0)
    assert [n for n in injector.unclosed() if n != "mid"] == []
    injector.release()  # the hung call returns; its close runs on that thread
    assert graph_threads(join_timeout=5) == []
    assert injector.unclosed() == []


def test_after_a_watchdog_timeout_the_graph_runs_again():
    config = "process_timeout: 0.2\n" + CHAIN
    graph, injector, got = run_chain(config, mid=Fault("hang", after_calls=4))
    graph.start_run()
    with pytest.raises(mg.CalculatorTimeoutError):
        graph.wait_until_done(timeout=20)
    injector.release()
    got.clear()
    graph.start_run()  # the fault fired once; this run is clean
    graph.wait_until_done(timeout=20)
    assert got == [4 * i for i in range(20)]


def test_a_hung_close_during_cleanup_does_not_stop_the_other_closes():
    config = CHAIN.replace('name: "end" calculator: "FtDouble"',
                          'name: "end" calculator: "FtDouble" process_timeout: 0.05')
    graph, injector, _ = run_chain(config, mid=Fault("raise", after_calls=3),
                                   end=Fault("hang", method="close"))
    graph.start_run()
    with pytest.raises(ExceptionGroup) as info:  # noqa: F821 - builtin on 3.11+
        graph.wait_until_done(timeout=20)
    kinds = {type(e).__name__: e for e in info.value.exceptions}
    assert kinds["CalculatorError"].node == "mid"
    assert kinds["CalculatorTimeoutError"].node == "end"
    assert "src" in injector.closed and "mid" in injector.closed
    injector.release()


def test_cancel_does_not_wait_for_a_hung_close_beyond_the_watchdog():
    config = CHAIN.replace('name: "src" calculator: "FtSource"',
                           'name: "src" calculator: "FtSource" process_timeout: 0.05')
    graph, injector, _ = run_chain(config, src=Fault("hang", method="close"))
    last = threading.Event()
    graph.observe_output_stream("c", lambda p: p.value == 4 * 19 and last.set())
    graph.start_run()
    assert last.wait(10)  # the source sent everything: its close is hanging now
    start = time.monotonic()
    graph.cancel(timeout=10)
    assert time.monotonic() - start < 3
    injector.release()


def test_process_timeout_must_be_a_number():
    with pytest.raises(mg.GraphConfigError, match="process_timeout"):
        mg.Graph(CHAIN.replace('name: "mid"', 'name: "mid" process_timeout: nan'))


def test_latency_is_tracked_per_path_from_graph_inputs_and_sources():
    graph = mg.Graph("""
        input_stream: "in"
        profiler_config { enable_stream_latency: true }
        node { name: "slow" calculator: "FtSleepy" input_stream: "in" output_stream: "out" }
        node { name: "src" calculator: "FtSource" output_stream: "a" }
        node { name: "sleepy" calculator: "FtSleepy" input_stream: "a" output_stream: "c" }
    """)
    graph.run({"in": [(i, i) for i in range(5)]}, outputs=["out", "c"], timeout=20)
    profile = graph.profile()
    from_input = profile.path("in", "out (observer)")
    assert from_input.count == 5
    assert 20 <= from_input.min_ms <= from_input.p50_ms <= from_input.max_ms
    from_source = profile.path("src", "c (observer)")
    assert from_source.count == 20 and from_source.min_ms >= 20
    assert "latency" in profile.table()


def test_latency_is_off_by_default():
    graph = mg.Graph(CHAIN)
    graph.run(outputs=["c"], timeout=10)
    assert graph.profile().latency == []


def test_fault_arguments_are_checked():
    with pytest.raises(ValueError, match="fault kind must be one of"):
        Fault("explode")
    with pytest.raises(ValueError, match="needs a call that sends"):
        Fault("wrong_type", method="open")
    with pytest.raises(ValueError, match="fault method must be one of"):
        Fault("raise", method="flush")
    graph = mg.Graph(CHAIN)
    with pytest.raises(KeyError, match="no node 'nope'"):
        FaultInjector(graph).inject("nope", Fault("raise"))


def test_threads_are_gone_after_failures():
    before = set(threading.enumerate())
    graph, _, _ = run_chain(end=Fault("raise", after_calls=1))
    graph.start_run()
    with pytest.raises(mg.CalculatorError):
        graph.wait_until_done(timeout=10)
    assert [t for t in set(threading.enumerate()) - before if t.is_alive()] == []


def test_a_failing_source_names_its_last_packet():
    graph, _, _ = run_chain(src=Fault("raise", after_calls=5))
    graph.start_run()
    with pytest.raises(mg.CalculatorError, match=r"a source, failing after its packet at 4\)"):
        graph.wait_until_done(timeout=10)


def test_the_watchdog_works_with_the_application_thread_executor():
    config = ('executor { type: "ApplicationThreadExecutor" }\n'
              + CHAIN.replace('name: "mid" calculator: "FtDouble"',
                              'name: "mid" calculator: "FtDouble" process_timeout: 0.1'))
    graph, injector, _ = run_chain(config, mid=Fault("hang", after_calls=2, hang_s=0.5))
    graph.start_run()
    with pytest.raises(mg.CalculatorTimeoutError) as info:
        graph.wait_until_done(timeout=20)  # the hung call runs here, returns after 0.5 s
    assert info.value.node == "mid"
    assert injector.unclosed() == []
