"""Per-node counters, a text table, and Chrome/Perfetto trace-event JSON.

Counters are always on (two `perf_counter_ns` calls per `process`): calls, busy time
(mean/p50/p95 over the most recent calls), input queue depth peaks, packets dropped by
policy (FixedSize handler, FlowLimiter, add-if-not-full), and the backend a node
reports. Tracing records one slice per calculator call and a flow arrow per packet
from the slice that sent it to the slice that consumed it; the JSON opens in
https://ui.perfetto.dev or chrome://tracing.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_RECENT = 4096


class NodeStats:
    """Counters for one node; updated under the run's lock or by the node's own thread."""

    __slots__ = ("name", "calculator", "calls", "busy_ns", "recent", "opens_ns", "closes_ns",
                 "dropped", "info")

    def __init__(self, name: str, calculator: str) -> None:
        self.name = name
        self.calculator = calculator
        self.calls = 0
        self.busy_ns = 0
        self.recent: deque[int] = deque(maxlen=_RECENT)
        self.opens_ns = 0
        self.closes_ns = 0
        self.dropped = 0
        self.info: dict[str, Any] = {}

    def record(self, duration_ns: int) -> None:
        self.calls += 1
        self.busy_ns += duration_ns
        self.recent.append(duration_ns)


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
class GraphProfile:
    """What `Graph.profile()` returns: per-node rows plus per-stream drop counts."""

    nodes: list[NodeProfile]
    streams: dict[str, dict[str, int]]
    wall_s: float

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
                  "queue peak", "dropped", "backend")
        rows = [header] + [
            (r.name, r.calculator, str(r.calls), f"{r.busy_ms:.1f}", f"{r.mean_us:.1f}",
             f"{r.p50_us:.1f}", f"{r.p95_us:.1f}",
             r.queue_text(), str(r.dropped),
             str(r.info.get("backend", ""))) for r in self.nodes]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.append(f"wall time {self.wall_s:.3f} s")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


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
