"""Per-node counters, a text table, and Chrome/Perfetto trace-event JSON.

Counters are always on (two `perf_counter_ns` calls per `process`): calls, busy time
(mean/p50/p95 over the most recent calls), input queue depth peaks, packets dropped by
policy (FixedSize handler, FlowLimiter, add-if-not-full), and the backend a node
reports. Tracing records one slice per calculator call and a flow arrow per packet
from the slice that sent it to the slice that consumed it; the JSON opens in
https://ui.perfetto.dev or chrome://tracing.

Latency tracking (`profiler_config { enable_stream_latency: true }` or
`Graph.enable_latency_tracking()`) follows Holoscan's data-flow tracking: the time a
packet enters the graph (a source sends it, or `add_packet` is called with it) is kept
by timestamp, and each sink (a node without outputs, or an observer) that processes the
same timestamp records the end-to-end latency of that path: min/avg/max/p50/p95.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from mediagraph.stream import UNBOUNDED, InputQueue

_RECENT = 4096


class NodeStats:
    """Counters for one node; updated under the run's lock or by the node's own thread."""

    __slots__ = ("name", "calculator", "calls", "busy_ns", "recent", "opens_ns", "closes_ns")

    def __init__(self, name: str, calculator: str) -> None:
        self.name = name
        self.calculator = calculator
        self.calls = 0
        self.busy_ns = 0
        self.recent: deque[int] = deque(maxlen=_RECENT)
        self.opens_ns = 0
        self.closes_ns = 0

    def row(self, queues: Sequence[InputQueue], dropped: int,
            info: dict[str, Any] | None) -> NodeProfile:
        """The node's profile row: these counters, its input queues' peaks and drops, plus
        what the calculator reports (`Calculator.dropped`, `Calculator.profile_info`)."""
        recent = list(self.recent)
        calls = self.calls
        return NodeProfile(
            name=self.name, calculator=self.calculator, calls=calls,
            busy_ms=self.busy_ns / 1e6,
            mean_us=(self.busy_ns / calls / 1e3) if calls else 0.0,
            p50_us=percentile(recent, 0.5) / 1e3, p95_us=percentile(recent, 0.95) / 1e3,
            queue_peak=max((q.peak for q in queues), default=0),
            queue_limit=max((0 if q.max_size >= UNBOUNDED else q.max_size for q in queues),
                            default=0),
            dropped=sum(q.dropped for q in queues) + dropped,
            info=dict(info) if info else {}, inputs=len(queues))


class LatencyTracker:
    """Entry times by (origin, timestamp) and end-to-end latency per origin -> sink path.

    Called under the run's lock. Origins keep their most recent `capacity` timestamps,
    so packets dropped on the way (a FlowLimiter) cost bounded memory.
    """

    def __init__(self, capacity: int = 8192) -> None:
        self.capacity = capacity
        self.entered: dict[str, dict[int, int]] = {}
        self.paths: dict[tuple[str, str], PathStats] = {}

    def origin(self, name: str, ts: int, t_ns: int) -> None:
        times = self.entered.get(name)
        if times is None:
            times = self.entered[name] = {}
        if ts not in times:
            times[ts] = t_ns
            if len(times) > self.capacity:
                del times[next(iter(times))]

    def arrive(self, origins: list[str], sink: str, ts: int, t_ns: int) -> None:
        for name in origins:
            times = self.entered.get(name)
            t0 = times.get(ts) if times is not None else None
            if t0 is not None:
                stats = self.paths.get((name, sink))
                if stats is None:
                    stats = self.paths[(name, sink)] = PathStats()
                stats.add(t_ns - t0)


class PathStats:
    """Latencies of one path, in nanoseconds."""

    __slots__ = ("count", "total", "low", "high", "recent")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0
        self.low = 1 << 62
        self.high = 0
        self.recent: deque[int] = deque(maxlen=_RECENT)

    def add(self, ns: int) -> None:
        self.count += 1
        self.total += ns
        self.low = min(self.low, ns)
        self.high = max(self.high, ns)
        self.recent.append(ns)


@dataclass
class LatencyProfile:
    """End-to-end latency of one origin -> sink path (milliseconds)."""

    origin: str
    sink: str
    count: int
    min_ms: float
    avg_ms: float
    max_ms: float
    p50_ms: float
    p95_ms: float

    @property
    def path(self) -> str:
        return f"{self.origin} -> {self.sink}"


@dataclass
class NodeProfile:
    name: str
    calculator: str
    calls: int
    busy_ms: float
    mean_us: float
    p50_us: float
    p95_us: float
    queue_peak: int
    queue_limit: int
    dropped: int
    info: dict[str, Any] = field(default_factory=dict)
    inputs: int = 1

    def queue_text(self) -> str:
        if not self.inputs:
            return "-"
        return f"{self.queue_peak}/{self.queue_limit if self.queue_limit else '∞'}"


@dataclass
class WorkProfile:
    """Where the worker threads' time went: running calculators (open, process, close)
    or the framework around them (scheduling, checks, queues, waiting for the run's lock).

    Both are wall time on the same threads, so `framework_ms` is what the scheduler cost
    on top of the calculators; `fused_calls` of `calls` ran in fused chains, handed from
    node to node without the lock or a queue."""

    worker_ms: float
    calculator_ms: float
    calls: int
    fused_calls: int
    parts: dict[str, float] | None = None  # ms in the scheduler's steps (`run --profile`)

    @property
    def framework_ms(self) -> float:
        return max(0.0, self.worker_ms - self.calculator_ms)

    @property
    def framework_share(self) -> float:
        """The framework's part of the workers' busy time, 0..1."""
        return self.framework_ms / self.worker_ms if self.worker_ms > 0 else 0.0

    @property
    def framework_us_per_call(self) -> float:
        return self.framework_ms * 1e3 / self.calls if self.calls else 0.0

    def text(self) -> str:
        return (f"worker threads busy {self.worker_ms:.1f} ms: calculators "
                f"{self.calculator_ms:.1f} ms, framework {self.framework_ms:.1f} ms "
                f"({self.framework_share:.1%}, {self.framework_us_per_call:.2f} µs per call; "
                f"{self.fused_calls} of {self.calls} calls fused)"
                + ("\n" + self.parts_text() if self.parts else ""))

    def parts_text(self) -> str:
        """Framework time per call by step. `_finish` holds `_deliver` and most of
        `_schedule` (both also run for graph inputs, on the application's thread)."""
        assert self.parts is not None
        per = 1e3 / self.calls if self.calls else 0.0
        p = {k: v * per for k, v in self.parts.items()}
        rest = max(0.0, self.framework_us_per_call - p["begin"] - p["finish"])
        return (f"framework per call (wall time, so waits for the GIL while other threads run "
                f"Python count too): before a call (queue pop, context) {p['begin']:.2f} µs; "
                f"after it {p['finish']:.2f} µs (type/timestamp checks, queues, bounds "
                f"{p['deliver']:.2f}; wake-ups {p['schedule']:.2f}); the rest (lock waits, "
                f"fused hand-offs, the loop) {rest:.2f} µs")


@dataclass
class GraphProfile:
    """What `Graph.profile()` returns: per-node rows plus per-stream drop counts."""

    nodes: list[NodeProfile]
    streams: dict[str, dict[str, int]]
    wall_s: float
    latency: list[LatencyProfile] = field(default_factory=list)
    work: WorkProfile | None = None

    def path(self, origin: str, sink: str) -> LatencyProfile:
        for row in self.latency:
            if row.origin == origin and row.sink == sink:
                return row
        raise KeyError(f"{origin} -> {sink}")

    def node(self, name: str) -> NodeProfile:
        for row in self.nodes:
            if row.name == name:
                return row
        raise KeyError(name)

    @property
    def total_dropped(self) -> int:
        return sum(row.dropped for row in self.nodes) + sum(
            s.get("dropped_at_input", 0) for s in self.streams.values())

    def table(self) -> str:
        header = ("node", "calculator", "calls", "busy ms", "mean µs", "p50 µs", "p95 µs",
                  "queue peak", "dropped", "backend (device)")
        rows = [header] + [
            (r.name, r.calculator, str(r.calls), f"{r.busy_ms:.1f}", f"{r.mean_us:.1f}",
             f"{r.p50_us:.1f}", f"{r.p95_us:.1f}",
             r.queue_text(), str(r.dropped),
             _backend_text(r.info)) for r in self.nodes]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.append(f"wall time {self.wall_s:.3f} s")
        if self.work is not None:
            lines.append(self.work.text())
        if self.latency:
            lines.append("latency (enter -> sink, ms): path  count  min  avg  p50  p95  max")
            for r in self.latency:
                lines.append(f"  {r.path}  {r.count}  {r.min_ms:.2f}  {r.avg_ms:.2f}  "
                             f"{r.p50_ms:.2f}  {r.p95_ms:.2f}  {r.max_ms:.2f}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _backend_text(info: dict[str, Any]) -> str:
    """What an inference node ran on: "litert (cpu (XNNPACK, 1 threads))", or ""."""
    backend, device = info.get("backend", ""), info.get("device", "")
    return f"{backend} ({device})" if backend and device else str(backend)


def latency_rows(tracker: LatencyTracker | None, label: Any = str) -> list[LatencyProfile]:
    """Profile rows for every path the tracker saw; `label` renames sink nodes."""
    if tracker is None:
        return []
    rows = []
    for (origin, sink), stats in sorted(tracker.paths.items()):
        recent = list(stats.recent)
        rows.append(LatencyProfile(origin, label(sink), stats.count, stats.low / 1e6,
                                   stats.total / stats.count / 1e6, stats.high / 1e6,
                                   percentile(recent, 0.5) / 1e6,
                                   percentile(recent, 0.95) / 1e6))
    return rows


def percentile(values: list[int], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return float(ordered[k])


class TraceRecorder:
    """Collects trace events in memory (bounded) and writes trace-event JSON."""

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self.events: deque[tuple[Any, ...]] = deque(maxlen=capacity)
        self.t0 = time.perf_counter_ns()
        self.pid = os.getpid()
        self._lock = threading.Lock()

    def slice(self, node: str, method: str, start_ns: int, end_ns: int, ts: int,
              consumed: list[tuple[str, int]], produced: list[tuple[str, int]]) -> None:
        self.events.append((threading.get_ident(), threading.current_thread().name, node, method,
                            start_ns, end_ns, ts, consumed, produced))

    def to_json(self) -> dict[str, Any]:
        events: list[dict[str, Any]] = []
        threads: dict[int, str] = {}
        flow_ids: dict[tuple[str, int], int] = {}
        for tid, tname, node, method, start, end, ts, consumed, produced in list(self.events):
            threads[tid] = tname
            start_us = (start - self.t0) / 1000
            dur_us = max((end - start) / 1000, 0.001)
            events.append({"name": f"{node}.{method}", "cat": method, "ph": "X", "pid": self.pid,
                           "tid": tid, "ts": start_us, "dur": dur_us,
                           "args": {"node": node, "timestamp": ts}})
            for key in consumed:
                fid = flow_ids.get(key)
                if fid is not None:
                    events.append({"name": "packet", "cat": "flow", "ph": "f", "bp": "e",
                                   "id": fid, "pid": self.pid, "tid": tid, "ts": start_us,
                                   "args": {"stream": key[0], "timestamp": key[1]}})
            for key in produced:
                fid = flow_ids.setdefault(key, len(flow_ids) + 1)
                events.append({"name": "packet", "cat": "flow", "ph": "s", "id": fid,
                               "pid": self.pid, "tid": tid, "ts": start_us + dur_us,
                               "args": {"stream": key[0], "timestamp": key[1]}})
        for tid, name in threads.items():
            events.append({"name": "thread_name", "ph": "M", "pid": self.pid, "tid": tid,
                           "args": {"name": name}})
        events.append({"name": "process_name", "ph": "M", "pid": self.pid,
                       "args": {"name": "mediagraph"}})
        return {"traceEvents": events, "displayTimeUnit": "ms"}

    def write(self, path: str | os.PathLike[str]) -> Path:
        target = Path(path)
        if target.suffix != ".json":
            target = target.with_name(target.name + "trace.json") if str(path).endswith(("/", "_")) \
                else target.with_suffix(".json")
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            target.write_text(json.dumps(self.to_json()))
        return target
