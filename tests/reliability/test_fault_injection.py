"""Random valid graphs with one injected fault: every run ends promptly and cleanly.

Hypothesis draws graphs of sources, a graph input, fan-out, joins, a FlowLimiter loop,
a PreviousLoopback back edge, several executors and sometimes a real video encoder,
then makes one node raise, send a wrong type, send a non-increasing timestamp or hang
(in open, process or close). Each case checks that the run ends within a bound, the
error names the faulty node, `close` ran on every opened node, no graph thread is left
once the hung call returns, the graph runs again, and a video written so far plays.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mediagraph as mg
from mediagraph import Calculator, Input, Inputs, Options, Output, Stop, option
from mediagraph.formats import ImageFrame
from mediagraph.testing import Fault, FaultInjector, graph_threads

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import ExceptionGroup

pytestmark = pytest.mark.timeout(600)

CASES = 320
STOP_BOUND_S = 10.0  # the longest any faulty run may take to end
SUMMARY: dict[str, object] = {"cases": 0, "faults": Counter(), "fired": 0, "longest_s": 0.0,
                              "with_video": 0}


class RlSourceOptions(Options, proto_name="mediagraph.RlSourceOptions"):
    count: int = option(1, default=10)


class RlSource(Calculator):
    """Emits 0..count-1 at timestamps 0..count-1."""

    Options = RlSourceOptions
    out = Output(int, tag="")

    def open(self, cc):
        self.i = 0

    def process(self, cc):
        if self.i >= self.options.count:
            return Stop
        cc.send(self.out, self.i, timestamp=self.i)
        self.i += 1
        return None


class RlMapOptions(Options, proto_name="mediagraph.RlMapOptions"):
    add: int = option(1, default=1)
    jitter_us: int = option(2, default=0)


class RlMap(Calculator):
    """Sums its present inputs plus `add`, after a random delay of up to jitter_us."""

    Options = RlMapOptions
    values = Inputs(int, tag="IN")
    out = Output(int, tag="OUT")

    def open(self, cc):
        self.rng = np.random.default_rng(7)

    def process(self, cc):
        if self.options.jitter_us:
            time.sleep(self.rng.integers(0, self.options.jitter_us) / 1e6)
        total = sum(v for v in cc.get(self.values) if isinstance(v, int))
        cc.send(self.out, total + self.options.add)


class RlFrame(Calculator):
    """A small moving gray frame per input packet, for the video encoder."""

    value = Input(int, tag="")
    image = Output(ImageFrame, tag="IMAGE")

    def process(self, cc):
        level = (cc.get(self.value) * 37) % 256
        cc.send(self.image, ImageFrame(np.full((32, 32, 3), level, np.uint8)))


@st.composite
def cases(draw):
    lines = ["max_queue_size: %d" % draw(st.sampled_from([1, 2, 4, 100]))]
    executors = draw(st.sampled_from([[""], ["", "ex1"], ["", "ex1", "ex2"]]))
    lines.append(f"num_threads: {draw(st.integers(1, 3))}")
    for name in executors[1:]:
        lines.append(f'executor {{ name: "{name}" type: "ThreadPoolExecutor" options {{ '
                     f'[mediapipe.ThreadPoolExecutorOptions.ext] {{ num_threads: '
                     f'{draw(st.integers(1, 2))} }} }} }}')
    streams: list[str] = []
    typed: set[str] = set()  # nodes with typed outputs
    nodes: list[str] = []
    feed = 0
    if draw(st.booleans()):
        lines.append('input_stream: "gin"')
        streams.append("gin")
        feed = draw(st.integers(1, 15))
    for s in range(draw(st.integers(0 if feed else 1, 2))):
        count = draw(st.integers(1, 20))
        lines.append(f'node {{ name: "src{s}" calculator: "RlSource" output_stream: "s{s}" '
                     f'node_options {{ [type.googleapis.com/mediagraph.RlSourceOptions] '
                     f'{{ count: {count} }} }} }}')
        streams.append(f"s{s}")
        nodes.append(f"src{s}")
        typed.add(f"src{s}")

    def executor() -> str:
        name = draw(st.sampled_from(executors))
        return f' executor: "{name}"' if name else ""

    def mapper(name: str, inputs: list[str], output: str, back: list[str] = ()) -> None:
        ins = " ".join(f'input_stream: "IN:{i}:{s}"' for i, s in enumerate(inputs))
        info = " ".join(f'input_stream_info {{ tag_index: "IN:{inputs.index(b)}" '
                        'back_edge: true }' for b in back)
        jitter = draw(st.sampled_from([0, 0, 200]))
        lines.append(f'node {{ name: "{name}" calculator: "RlMap" {ins} output_stream: '
                     f'"OUT:{output}" {info}{executor()} node_options {{ '
                     f'[type.googleapis.com/mediagraph.RlMapOptions] {{ jitter_us: {jitter} }} }} }}')
        nodes.append(name)
        typed.add(name)

    for k in range(draw(st.integers(1, 5))):
        inputs = draw(st.lists(st.sampled_from(streams), min_size=1, max_size=2, unique=True))
        mapper(f"m{k}", inputs, f"o{k}")
        streams.append(f"o{k}")
    if draw(st.booleans()):  # MediaPipe's flow-limited loop
        x = draw(st.sampled_from(streams))
        lines.append(f'node {{ name: "limiter" calculator: "FlowLimiterCalculator" '
                     f'input_stream: "{x}" input_stream: "FINISHED:limited_done" '
                     'input_stream_info { tag_index: "FINISHED" back_edge: true } '
                     'output_stream: "limited" }')
        nodes.append("limiter")
        mapper("limited_work", ["limited"], "limited_done")
    if draw(st.booleans()):  # a back edge through PreviousLoopback
        x = draw(st.sampled_from(streams))
        lines.append(f'node {{ name: "loop" calculator: "PreviousLoopbackCalculator" '
                     f'input_stream: "MAIN:{x}" input_stream: "LOOP:loop_back" '
                     'input_stream_info { tag_index: "LOOP" back_edge: true } '
                     'output_stream: "PREV_LOOP:prev" }')
        nodes.append("loop")
        mapper("loop_join", [x, "prev"], "loop_back")
    video = draw(st.integers(0, 3)) == 0
    if video:
        x = draw(st.sampled_from(streams))
        lines.append('input_side_packet: "out_path"')
        lines.append(f'node {{ name: "frames" calculator: "RlFrame" input_stream: "{x}" '
                     'output_stream: "IMAGE:frames_img" }')
        lines.append('node { name: "enc" calculator: "VideoEncoderCalculator" '
                     'input_stream: "VIDEO:frames_img" input_side_packet: '
                     '"OUTPUT_FILE_PATH:out_path" }')
        nodes += ["frames", "enc"]
        typed.add("frames")
    faulty = draw(st.sampled_from(nodes))
    kinds = ["raise", "hang"] + (["wrong_type"] if faulty in typed else [])
    kinds += ["bad_timestamp"] if faulty != "enc" else []
    kind = draw(st.sampled_from(kinds))
    if kind == "hang":  # open/close hangs cost the 1 s open/close limit: keep them rarer
        method = draw(st.sampled_from(["process"] * 4 + ["open", "close"]))
    elif kind in ("wrong_type", "bad_timestamp"):
        method = "process"
    else:
        method = draw(st.sampled_from(["open", "process", "process", "close"]))
    after = draw(st.integers(0, 8)) if method == "process" else 0
    return "\n".join(lines), feed, faulty, Fault(kind, method=method, after_calls=after), video


def names_node(error: BaseException, node: str) -> bool:
    return getattr(error, "node", None) == node or f"node '{node}'" in str(error)


def run_once(graph: mg.Graph, feed: int, side: dict) -> BaseException | None:
    graph.start_run(side)
    try:
        for i in range(feed):
            graph.add_packet("gin", i, timestamp=i, timeout=10)
        if feed:
            graph.close_all_inputs()
    except mg.GraphRunError:
        pass  # the run failed while we fed it; wait_until_done reports why
    try:
        graph.wait_until_done(timeout=STOP_BOUND_S * 2)
    except mg.MediaGraphError as exc:
        return exc
    except ExceptionGroup as exc:
        return exc
    return None


def playable_frames(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


@settings(max_examples=CASES, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(cases())
def test_one_fault_ends_the_run_cleanly(tmp_path_factory, case):
    config, feed, faulty, fault, video = case
    graph = mg.Graph(config)
    spec = next(n for n in graph.spec.nodes if n.name == faulty)
    # The watchdog for the faulty node (open/close: 10x, at least 1 s): long enough that a
    # garbage-collection pause in this long test process is not taken for a hang.
    spec.process_timeout = 0.5
    injector = FaultInjector(graph)
    injector.inject(faulty, fault)
    side = {}
    out_path = None
    if video:
        out_path = tmp_path_factory.mktemp("video") / "out.mp4"
        side["out_path"] = str(out_path)
    try:
        check_case(graph, injector, feed, faulty, fault, video, side, out_path)
    finally:
        injector.release()  # never leave a hung thread to the next case


def check_case(graph, injector, feed, faulty, fault, video, side, out_path):
    start = time.monotonic()
    error = run_once(graph, feed, side)
    took = time.monotonic() - start
    SUMMARY["cases"] += 1
    SUMMARY["faults"][f"{fault.kind}/{fault.method}"] += 1
    SUMMARY["longest_s"] = max(SUMMARY["longest_s"], took)
    SUMMARY["with_video"] += bool(video)
    assert took < STOP_BOUND_S, f"the run took {took:.1f} s to end"
    if fault.fired:
        SUMMARY["fired"] += 1
        assert error is not None, "the fault fired but the run reported success"
        errors = list(error.exceptions) if isinstance(error, ExceptionGroup) else [error]
        assert all(names_node(e, faulty) for e in errors), [str(e) for e in errors]
        if fault.kind == "hang":
            assert isinstance(errors[0], mg.CalculatorTimeoutError)
    else:
        assert error is None, f"no fault fired, yet the run failed: {error}"
    hung = faulty if fault.kind == "hang" and fault.fired else None
    assert [n for n in injector.unclosed() if n != hung] == []
    if video and "enc" in injector.opened and not (faulty == "enc" and fault.method == "close"
                                                   and fault.fired):
        written = injector._calls.get(("enc", "process"), 0)
        if faulty == "enc" and fault.fired and fault.method == "process":
            written -= 1  # the faulty call raised (or hung) before it encoded its frame
        if written > 0 and not (faulty == "enc" and fault.fired and fault.method == "process"
                                and fault.kind == "hang"):
            assert playable_frames(out_path) >= 1, "the video written so far does not play"
    injector.release()
    assert graph_threads(join_timeout=5) == [], "graph threads left behind"
    assert injector.unclosed() == []
    injector.reset()
    injector.faults.clear()  # disarmed (a fault that did not fire could fire now): a clean run
    again = run_once(graph, feed, side)
    assert again is None, f"the graph did not run again: {again}"


def test_zz_report():
    """Prints what the generated cases covered (pytest -s shows it)."""
    summary = dict(SUMMARY, faults=dict(sorted(SUMMARY["faults"].items())))
    print("\nfault injection:", json.dumps(summary))
    if os.environ.get("MEDIAGRAPH_FAULT_REPORT"):
        Path(os.environ["MEDIAGRAPH_FAULT_REPORT"]).write_text(json.dumps(summary))
    if SUMMARY["cases"]:
        assert SUMMARY["cases"] >= 300 and SUMMARY["fired"] >= 200
