"""The threaded scheduler: one `Run` per `Graph.start_run()`.

Threading rules (the contract every other module relies on):

- One lock per run guards all scheduling state: queues, bounds, node states, ready
  heaps. Calculator code never runs under it. A node activation takes the lock twice:
  once to take its input set, once to deliver its outputs and schedule consumers.
- Each executor has a ready heap ordered by topological rank, sinks first, so work
  drains instead of piling up; sources come last and are throttled by full queues.
  Nodes on a loop (a cycle through a back edge) come before all others: the loop
  carries one timestamp at a time, so its turn is the graph's critical path.
- A node is in its executor's heap at most once; `in_flight` counts running
  activations (at most `max_in_flight`, outputs re-ordered by timestamp when above 1).
- A worker that finishes an activation runs the consumer it just made ready itself
  (depth-first), and goes back to the heap after that. An idle worker is woken when
  there is more ready work than this thread will take, or when the activation was
  long (>= 200 µs: C code that releases the GIL, worth overlapping); short Python
  activations stay on one thread, where a GIL hand-off would cost more than it buys.
- Errors stop the run: no new activations start, running ones finish, then every
  opened node gets `close()` and the run ends with the errors. `cancel()` is the same
  with `GraphCancelled`. Every thread a run starts is joined before the run reports done.
- A node with a `process_timeout` is watched (`mediagraph.watchdog`): a call that
  outlives it fails the run with the node, timestamp and the thread's stack. Python
  cannot interrupt the call, so its thread is abandoned (not joined); the run closes the
  other nodes and ends, and the calculator's `close` runs on that thread once the call
  returns.
- Every packet a calculator sends is checked against its output port's declared type
  (`port.runtime_check`), so a wrong value is blamed on the node that sent it.
- The run talks to a calculator's context through `begin_activation` before a call and
  `take_outputs` after it; packets reach consumers' queues only through
  `OutputStream.add`, from nodes and graph inputs alike.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import signal
import sys
import threading
import time
from typing import Any, Callable, Iterator

from mediagraph.calculator import Calculator, CalculatorContext, Produced, Stop
from mediagraph.errors import (CalculatorError, CalculatorTimeoutError, DeadlockError,
                               GraphCancelled, GraphRunError, MediaGraphError, PacketTypeError,
                               QueueFullError, TimestampError)
from mediagraph.packet import Packet
from mediagraph.port import runtime_check, type_name
from mediagraph.profiler import (GraphProfile, LatencyTracker, NodeStats, TraceRecorder,
                                 WorkProfile, latency_rows)
from mediagraph.stream import DONE, InputQueue, OutputStream
from mediagraph.stream_handlers import HANDLERS, DefaultInputStreamHandler
from mediagraph.timestamp import Timestamp
from mediagraph.validation import GraphSpec, NodeSpec
from mediagraph.watchdog import HungCall, Watchdog

if sys.version_info < (3, 11):  # pragma: no cover - Python 3.10
    from exceptiongroup import ExceptionGroup

log = logging.getLogger("mediagraph.scheduler")

_MIN = int(Timestamp.MIN)
_MAX = int(Timestamp.MAX)
_PRE = int(Timestamp.PRE_STREAM)
_POST = int(Timestamp.POST_STREAM)
_OPEN, _PROCESS, _CLOSE = 0, 1, 2
_EAGER_WAKE_NS = 200_000  # activations this long make waking another worker worthwhile
_METHOD = ("open", "process", "close")
_OPEN_CLOSE_TIMEOUT_FACTOR = 10  # open/close (model loads, encoder flushes) get this much longer
_MIN_OPEN_CLOSE_TIMEOUT_NS = 1_000_000_000


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Start threads with SIGINT/SIGTERM blocked, so they (and the native threads that
    decoders and encoders start from them) never take Ctrl-C: the kernel then delivers
    it to the main thread, whose waits it interrupts at once."""
    if (not hasattr(signal, "pthread_sigmask")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return
    blocked = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _renice_this_thread(ex: _Executor) -> None:
    """Add the executor's nice_priority_level to this worker thread's nice (Linux).

    Native threads a calculator starts from here (an encoder's) inherit it, so a graph
    can lower the priority of the stages that are not its bottleneck. A level the process
    may not take (below 0 without CAP_SYS_NICE) or another OS logs a warning and runs at
    normal priority, as MediaPipe does.
    """
    if not sys.platform.startswith("linux"):
        log.warning("executor '%s': nice_priority_level is applied on Linux only", ex.name)
        return
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + ex.nice)
    except OSError as exc:
        if not ex.nice_refused:
            ex.nice_refused = True
            log.warning("executor '%s': cannot apply nice_priority_level %d (%s); its threads "
                        "run at normal priority", ex.name, ex.nice, exc.strerror or exc)


class _Node:
    """Run-time state of one node (all fields guarded by the run lock)."""

    __slots__ = ("spec", "name", "calc", "contexts", "queues", "forward", "outputs", "handler",
                 "executor", "key", "opened", "opening", "closed", "closing", "scheduled",
                 "in_flight", "max_in_flight", "is_source", "throttle", "source_done",
                 "offset0", "process_bounds", "last_ts", "layer", "side_missing", "single",
                 "stats", "side_out_names", "seq_next", "seq_deliver", "reorder", "seq_of",
                 "waits_back", "index", "n_inputs", "side_values", "timeout_ns",
                 "sink_origins", "out_full", "fuse_next", "fuse_out")

    def __init__(self, spec: NodeSpec, calc: Calculator, executor: _Executor) -> None:
        self.spec = spec
        self.name = spec.name
        self.index = spec.index
        self.calc = calc
        self.contexts: list[CalculatorContext] = []
        self.queues: list[InputQueue] = []
        self.forward: list[InputQueue] = []
        self.outputs: list[OutputStream] = []
        self.handler: Any = None
        self.executor = executor
        self.key = -spec.priority
        self.opened = False
        self.opening = False
        self.closed = False
        self.closing = False
        self.scheduled = False
        self.in_flight = 0
        self.max_in_flight = spec.max_in_flight
        self.is_source = spec.is_source
        self.throttle = 0  # sources: full queues downstream
        self.out_full = 0  # other nodes: full (forward) queues this node feeds directly
        self.source_done = False
        offset = getattr(type(calc), "timestamp_offset", 0)
        self.offset0 = offset is not None and offset >= 0
        self.process_bounds = bool(getattr(type(calc), "process_timestamp_bounds", False))
        self.last_ts = _MIN - 1
        self.layer = spec.source_layer
        self.side_missing: set[str] = set()
        self.single = False
        self.stats = NodeStats(spec.name, spec.calculator_name)
        self.side_out_names = [b.name for b in spec.side_outputs]
        self.seq_next = 0
        self.seq_deliver = 0
        self.reorder: dict[int, tuple[Produced, int]] = {}
        self.seq_of: dict[CalculatorContext, int] = {}  # max_in_flight > 1: call order
        # Only calculators that hold packets for a loop answer has_pending_work.
        self.waits_back = type(calc).has_pending_work is not Calculator.has_pending_work
        self.n_inputs = len(spec.inputs)
        self.side_values: dict[Any, Any] = {}
        self.timeout_ns = int(spec.process_timeout * 1e9)
        self.sink_origins: list[str] | None = None  # latency tracking: sources feeding a sink
        self.fuse_next: _Node | None = None  # the consumer a fused chain hands packets to
        self.fuse_out: tuple[Any, ...] | None = None  # and how: its one output stream,
        # that consumer's queue on it, the stream's type check, its stats, and the
        # consumer's bound process method

    def limit_ns(self, kind: int) -> int:
        """How long one call of `kind` may run before the watchdog fires (0: forever)."""
        if kind == _PROCESS or not self.timeout_ns:
            return self.timeout_ns
        return max(self.timeout_ns * _OPEN_CLOSE_TIMEOUT_FACTOR, _MIN_OPEN_CLOSE_TIMEOUT_NS)

    def __repr__(self) -> str:
        return f"<node {self.name}>"


def _fusable_consumer(node: _Node) -> _Node | None:
    """The node a fused chain may hand `node`'s packets to directly, or None.

    That is the only consumer of `node`'s only output stream, when it reads that one
    stream alone with the default handler, one call at a time, on the same executor,
    with no watchdog limit; and `node` runs one call at a time too, so order holds.
    """
    if node.max_in_flight != 1 or len(node.outputs) != 1:
        return None
    consumers = node.outputs[0].consumers
    if len(consumers) != 1:
        return None
    q = consumers[0]
    nxt: _Node = q.node
    if (q.back_edge or nxt is node or not nxt.single or nxt.is_source or nxt.timeout_ns
            or nxt.executor is not node.executor):
        return None
    return nxt


class _Executor:
    __slots__ = ("name", "heap", "cond", "threads", "idle", "num_threads", "app", "prefix",
                 "nice", "nice_refused")

    def __init__(self, name: str, num_threads: int, lock: threading.Lock, app: bool,
                 prefix: str, nice: int = 0) -> None:
        self.nice = nice
        self.nice_refused = False  # warned once, not once per worker
        self.name = name
        self.heap: list[tuple[int, int, _Node]] = []
        self.cond = threading.Condition(lock)
        self.threads: list[threading.Thread] = []
        self.idle = 0
        self.num_threads = num_threads
        self.app = app
        self.prefix = prefix or f"mediagraph-{name or 'default'}"


class Run:
    """One run of a validated graph. Created and driven by `mediagraph.Graph`."""

    def __init__(self, spec: GraphSpec, side_packets: dict[str, Any], *,
                 extra_sinks: list[tuple[NodeSpec, Calculator]],
                 queue_overrides: dict[str, int], trace: TraceRecorder | None,
                 error_callback: Callable[[BaseException], None] | None = None,
                 track_latency: bool = False, time_framework: bool = False) -> None:
        self.spec = spec
        self.lock = threading.Lock()
        self.done_cond = threading.Condition(self.lock)
        self.input_cond = threading.Condition(self.lock)
        self.idle_cond = threading.Condition(self.lock)
        self.trace = trace
        self.error_callback = error_callback
        self.errors: list[BaseException] = []
        self.cancelled = False
        self.stopping = False
        self.finished = False
        self.cleanup_started = False
        self.running = 0
        self.worker_ns = 0  # time workers spent running nodes, lock waits and all (profile)
        self.fused_calls = 0  # process calls a fused chain ran without the lock
        self.framework_ns: dict[str, int] | None = None
        if time_framework:
            self._time_framework()
        self.closed_nodes = 0
        self.seq = itertools.count()
        self.side_packets: dict[str, Any] = dict(side_packets)
        self.active_layer = 0
        self.started_at = time.perf_counter()
        self.ended_at: float | None = None
        self.graph_inputs: dict[str, OutputStream] = {}
        self.input_throttle: dict[str, int] = {}
        self.input_waiting: dict[str, int] = {}
        self.input_dropped: dict[str, int] = {}
        self.deadlock_resolutions = 0
        self.deferred_errors: list[BaseException] = []
        self.executors: dict[str, _Executor] = {}
        for name, ex in spec.executors.items():
            app = ex.type == "ApplicationThreadExecutor"
            self.executors[name] = _Executor(name, 0 if app else max(1, ex.num_threads),
                                             self.lock, app, ex.thread_name_prefix, ex.nice)
        self.nodes: list[_Node] = []
        for node_spec in spec.nodes:
            self.nodes.append(self._make_node(node_spec, None))
        for node_spec, calc in extra_sinks:
            self.nodes.append(self._make_node(node_spec, calc))
        self._wire(queue_overrides)
        self.layers = sorted({n.layer for n in self.nodes if n.is_source}) or [0]
        self.active_layer = self.layers[0]
        # The watchdog, only when some node has a process_timeout.
        limits = [n.timeout_ns for n in self.nodes if n.timeout_ns]
        self.watchdog = Watchdog(self.lock, min(limits), self._abandon) if limits else None
        self.helper_threads: list[threading.Thread] = []  # watchdog, cleanup continuations
        self.latency = LatencyTracker() if track_latency else None
        self.recording = trace is not None or self.latency is not None
        if self.latency is not None:
            for node in self.nodes:
                if not node.outputs and not node.is_source:
                    node.sink_origins = (
                        [self.nodes[i].name for i in sorted(node.spec.ancestor_sources)]
                        + sorted(node.spec.ancestor_inputs))

    def _time_framework(self) -> None:
        """Time the scheduler's own steps (`run --profile`): each is shadowed on this
        instance by a timing wrapper, so runs that do not ask pay nothing."""
        parts = self.framework_ns = {"begin": 0, "finish": 0, "deliver": 0, "schedule": 0}
        perf = time.perf_counter_ns

        def timed(part: str, method: Callable[..., Any]) -> Callable[..., Any]:
            def call(*args: Any) -> Any:
                began = perf()
                try:
                    return method(*args)
                finally:
                    parts[part] += perf() - began
            return call

        self._begin = timed("begin", self._begin)  # type: ignore[method-assign]
        self._finish = timed("finish", self._finish)  # type: ignore[method-assign]
        self._deliver = timed("deliver", self._deliver)  # type: ignore[method-assign]
        self._schedule = timed("schedule", self._schedule)  # type: ignore[method-assign]

    # -- construction ---------------------------------------------------------------------

    def _make_node(self, spec: NodeSpec, calc: Calculator | None) -> _Node:
        if calc is None:
            try:
                calc = spec.calculator()
            except Exception as exc:
                raise CalculatorError(spec.name, spec.calculator_name, "__init__",
                                      Timestamp.UNSTARTED, exc) from exc
            calc.options = spec.options
        executor = self.executors.get(spec.executor) or self.executors[""]
        return _Node(spec, calc, executor)

    def _wire(self, queue_overrides: dict[str, int]) -> None:
        spec = self.spec
        default_max = spec.max_queue_size
        streams: dict[str, OutputStream] = {}
        for name in spec.graph_inputs:
            out = OutputStream(name, None, 0, self._set_full)
            streams[name] = out
            self.graph_inputs[name] = out
            self.input_throttle[name] = 0
            self.input_waiting[name] = 0
            self.input_dropped[name] = 0
        for node in self.nodes:
            for b in node.spec.outputs:
                out = OutputStream(b.name, node, b.slot, self._set_full,
                                   runtime_check(b.port.type))
                node.outputs.append(out)
                streams[b.name] = out
        for node in self.nodes:
            hint = node.spec.buffer_size_hint
            for b in node.spec.inputs:
                limit = queue_overrides.get(b.name, default_max)
                if limit > 0 and hint > limit:
                    limit = hint
                q = InputQueue(node, b.slot, b.name, limit, b.back_edge)
                q.producer = streams[b.name].producer
                node.queues.append(q)
                if not b.back_edge:
                    node.forward.append(q)
                streams[b.name].consumers.append(q)
            handler_cls = HANDLERS[node.spec.handler]
            node.handler = handler_cls(node.queues, node.spec.handler_options, node.spec.inputs)
            if handler_cls.trims_on_push:  # its policy drops as packets arrive
                for q in node.queues:
                    q.trim = node.handler.trim
            node.single = (handler_cls is DefaultInputStreamHandler and len(node.queues) == 1
                           and not node.process_bounds and node.max_in_flight == 1)
            in_slot, out_slot, side_out_slot = node.spec.slot_maps()
            side_in: dict[Any, Any] = {}
            for _ in range(node.max_in_flight):
                cc = CalculatorContext(node.name, node.calc, in_slot, out_slot, side_in,
                                       side_out_slot, node.queues)
                node.contexts.append(cc)
            node.side_values = side_in
            node.side_missing = {b.name for b in node.spec.side_inputs}
        self.streams = streams
        for node in self.nodes:
            node.fuse_next = _fusable_consumer(node)
            if node.fuse_next is not None:
                out = node.outputs[0]
                node.fuse_out = (out, out.consumers[0], out.check, node.stats,
                                 node.fuse_next.calc.process)

    # -- starting -------------------------------------------------------------------------

    def start(self) -> None:
        """Check side packets, then schedule opens and start the worker threads."""
        self._check_side_packet_types()
        available = set(self.side_packets)
        produced = set(self.spec.side_packet_producers)
        for node in self.nodes:
            for b in node.spec.side_inputs:
                if b.name not in available and b.name not in produced:
                    if b.port.optional:  # reads as absent: cc.side() returns its default
                        node.side_missing.discard(b.name)
                        continue
                    raise GraphRunError(f"node '{node.name}' ({node.spec.calculator_name}) needs "
                                        f"input side packet '{b.name}', which start_run() did "
                                        "not provide and no node produces")
        for ex in self.executors.values():
            for i in range(ex.num_threads):
                ex.threads.append(threading.Thread(target=self._worker, args=(ex,), daemon=True,
                                                   name=f"{ex.prefix}-{i}"))
        try:
            # Start every worker before any work exists: a busy first worker would
            # otherwise hold the GIL while the next thread.start() waits for it.
            with _signals_blocked():
                for ex in self.executors.values():
                    for thread in ex.threads:
                        thread.start()
                if self.watchdog is not None:
                    self._start_helper(self.watchdog.run, "watchdog")
        finally:
            with self.lock:
                for name, value in self.side_packets.items():
                    self._publish_side(name, value, None)
                for node in self.nodes:
                    if not node.side_missing:
                        self._schedule(node, None)

    def _check_side_packet_types(self) -> None:
        """Side packets given to start_run must suit the ports that take them.

        A path-like value for a `str` port is passed as its string (pathlib.Path works).
        """
        for node in self.nodes:
            for b in node.spec.side_inputs:
                if b.name not in self.side_packets:
                    continue
                value = self.side_packets[b.name]
                expected = b.port.type
                if expected is str and isinstance(value, os.PathLike):
                    self.side_packets[b.name] = value = os.fspath(value)
                if not isinstance(expected, type) or expected in (object, Any):
                    continue
                if isinstance(value, expected) or (expected is float and isinstance(value, int)
                                                   and not isinstance(value, bool)):
                    continue
                raise GraphRunError(
                    f"side packet '{b.name}' is {type(value).__name__} {value!r}, but node "
                    f"'{node.name}' ({node.spec.calculator_name}) takes it on "
                    f"{b.port.spec()} as {expected.__name__}")

    def _publish_side(self, name: str, value: Any, producer: _Node | None) -> None:
        self.side_packets[name] = value
        for node in self.nodes:
            if name not in node.side_missing:
                continue
            for b in node.spec.side_inputs:
                if b.name == name:
                    if b.port.multiple:
                        node.side_values[b.port[b.index]] = value
                        items = sorted((bb.index, bb.name) for bb in node.spec.side_inputs
                                       if bb.port is b.port)
                        node.side_values[b.port] = [self.side_packets.get(n) for _, n in items]
                    else:
                        node.side_values[b.port] = value
            node.side_missing.discard(name)
            if not node.side_missing and not node.opened and producer is not None:
                self._schedule(node, producer.executor)

    # -- the worker loop ------------------------------------------------------------------

    def _worker(self, ex: _Executor) -> None:
        if ex.nice:
            _renice_this_thread(ex)
        lock = self.lock
        lock.acquire()
        try:
            while True:
                if self.finished:
                    return
                if not ex.heap:
                    ex.idle += 1
                    self._maybe_idle()
                    if not ex.heap and not self.finished:
                        ex.cond.wait()
                    ex.idle -= 1
                    continue
                began = time.perf_counter_ns()
                self._run_one(ex)
                self.worker_ns += time.perf_counter_ns() - began
        finally:
            lock.release()

    def _run_one(self, ex: _Executor) -> None:
        """Pop one ready node and run it, then keep going down the graph on this thread
        while an activation makes exactly the next consumer ready (depth-first keeps
        packets moving without a heap round trip or a thread hop). Lock held on entry/exit.
        """
        _, _, node = heapq.heappop(ex.heap)
        lock = self.lock
        perf = time.perf_counter_ns
        watchdog = self.watchdog
        tid = threading.get_ident() if watchdog is not None else 0
        kept: list[_Node] | None = None  # a fused chain still claimed for `node`, its head
        while node is not None:
            node.scheduled = False
            job = self._begin(node)
            if job is None:
                if kept is not None:
                    self._unclaim(kept)
                return
            kind, ts, cc, produced = job
            self.running += 1
            if kept is not None:  # only kept for a fused head, so no recording or timeout
                if kind == _PROCESS:
                    chain = kept + (self._claim_chain(kept[-1]) or [])
                else:
                    self._unclaim(kept)
                    chain = None
                kept = None
            else:
                chain = (self._claim_chain(node) if node.fuse_next is not None
                         and kind == _PROCESS and not node.timeout_ns and not self.recording
                         else None)
            if watchdog is not None:
                watchdog.enter(tid, node, kind, ts)
            lock.release()
            error: BaseException | None = None
            result: Any = None
            start = perf()
            try:
                if kind == _PROCESS:
                    result = node.calc.process(cc)
                elif kind == _OPEN:
                    node.calc.open(cc)
                else:
                    node.calc.close(cc)
            except Stop as stop:
                result = stop
            except BaseException as exc:  # noqa: BLE001 - every failure must reach the caller
                error = exc
            end = perf()
            head, head_cc, ran = node, cc, 0
            if chain is not None and error is None and result is None:
                node, cc, produced, ts, result, error, start, end, ran = self._run_fused(
                    node, cc, produced, ts, start, end, chain)
            lock.acquire()
            if watchdog is not None and not watchdog.leave(tid):
                self._late_return(node, kind, cc, error)  # the watchdog gave up on this call
                return
            self.running -= 1
            if chain is not None:
                kept = self._release_chain(head, head_cc, chain, ran)
            try:
                node = self._finish(node, kind, ts, cc, produced, result, error, start, end, ex)
            except MediaGraphError as exc:
                node = None
                self._fail(exc)
            if kept is not None:
                if node is None and not ex.heap and not self.stopping and self._wants_run(head):
                    node = head  # its next packet goes down the chain it still holds: no
                    # heap round trip, and the claims are not checked again (when no other
                    # node waits for this executor: they would wait behind the head's queue)
                else:
                    self._unclaim(kept)
                    kept = None
            if ran and node is not head and not head.scheduled and self._wants_run(head):
                self._schedule(head, ex)  # a fused run's head may have more to do now (the
                # other nodes it ran may not: only the chain feeds them, and it is drained)
            if self.stopping:
                if node is not None:
                    node.scheduled = False
                if self.running == 0 and not self.cleanup_started:
                    self._cleanup()
                return

    # -- fused chains -----------------------------------------------------------------------

    def _claim_chain(self, head: _Node) -> list[_Node] | None:
        """Claim the idle run of fusable consumers after `head` (lock held), so this thread
        may hand `head`'s packet down it without the lock: each claimed node counts as in
        flight, which keeps every other thread off it until `_release_chain`."""
        chain = []
        node = head.fuse_next
        while (node is not None and node.opened and not node.in_flight and not node.scheduled
               and not node.closing and not node.closed and not node.out_full
               and not node.queues[0].packets):
            node.in_flight = 1
            chain.append(node)
            node = node.fuse_next
        return chain or None

    def _run_fused(self, node: _Node, cc: CalculatorContext, produced: Produced, ts: int,
                   start: int, end: int, chain: list[_Node]) -> tuple[Any, ...]:
        """Hand one packet at a time down a claimed chain, without the lock.

        Each step does what `_deliver` and `_begin` would: the output's type and timestamp
        checks, the stream's and queue's bounds and counters, the node's stats. It stops
        (and the run lock's `_finish` takes over, with its errors and wake-ups) at the first
        activation that is not plain: one packet sent and nothing else, no error or return
        value, under `_EAGER_WAKE_NS` (a long call's successors overlap on other workers),
        and the run not stopping. Returns the last activation's (node, cc, produced, ts,
        result, error, start, end) and how many chain nodes ran.
        """
        perf = time.perf_counter_ns
        head = node
        result: Any = None
        error: BaseException | None = None
        for nxt in chain:
            packets = produced.packets
            if (len(packets) != 1 or produced.extra or end - start >= _EAGER_WAKE_NS
                    or self.stopping):
                break
            packet = packets[0][1]
            out, q, check, stats, process = node.fuse_out
            pts = packet[1]
            if (not _MIN <= out.bound <= pts < _MAX  # a stream's first packet goes to `_finish`
                    or (check is not None and not isinstance(packet[0], check))
                    or (pts < ts and node.offset0)):  # `_finish` reports it, or raises the
                break  # bound past the input timestamp for a packet sent below it
            packets.clear()
            out.bound = q.bound = pts + 1
            out.last_timestamp = pts
            out.packets_sent += 1
            if not q.peak:
                q.peak = 1
            took = end - start
            stats.calls += 1
            stats.busy_ns += took
            stats.recent.append(took)
            node = nxt
            cc = node.contexts[-1]  # claimed, so no other call uses it (left in place)
            node.last_ts = ts = pts
            cc.input_timestamp = pts  # cc.begin_activation(pts, (packet,)), inlined
            cc._inputs = (packet,)
            produced = cc._produced
            start = perf()
            try:
                result = process(cc)
            except Stop as stop:
                result = stop
            except BaseException as exc:  # noqa: BLE001 - every failure must reach the caller
                error = exc
            end = perf()
            if result is not None or error is not None:
                break
        ran = chain.index(node) + 1 if node is not head else 0
        return node, cc, produced, ts, result, error, start, end, ran

    def _release_chain(self, head: _Node, head_cc: CalculatorContext, chain: list[_Node],
                       ran: int) -> list[_Node] | None:
        """After a fused run (lock held): the last node run, like an activation `_begin`
        started, goes to `_finish`; the others are out of flight again, unless the packet
        went all the way down: then they stay claimed, and are returned, for the head's
        next packet (nothing else can have reached them: only the chain feeds them)."""
        if not ran:
            self._unclaim(chain)
            return None
        self.fused_calls += ran
        head.contexts.append(head_cc)
        head.in_flight -= 1
        last = chain[ran - 1]
        last.contexts.pop()  # the one `_run_fused` used; `_finish` puts it back
        if ran == len(chain) and ran > 1:
            return chain[:-1]
        for node in chain:
            if node is not last:
                node.in_flight -= 1
        return None

    @staticmethod
    def _unclaim(chain: list[_Node]) -> None:
        for node in chain:
            node.in_flight -= 1

    def _begin(self, node: _Node) -> tuple[int, int, CalculatorContext, Produced] | None:
        """Start `node`'s next call if it can make one: (kind, timestamp, context, the
        Produced the call fills), or None."""
        if self.stopping:
            return None
        if not node.opened:
            if node.opening or node.side_missing:
                return None
            node.opening = True
            cc = node.contexts.pop()
            return _OPEN, _MIN - 2, cc, cc.begin_activation(Timestamp.UNSTARTED)
        if node.closed or node.closing or node.in_flight >= node.max_in_flight:
            return None
        if node.out_full:  # a queue it feeds is full: it may only close
            if node.in_flight == 0 and self._inputs_done(node):
                return self._begin_close(node)
            return None
        if node.single:
            q = node.queues[0]
            packets = q.packets
            if packets:  # the common case, kept short: one input, one packet
                packet = packets.popleft()
                cc = node.contexts.pop()
                node.in_flight += 1  # before the wake-ups below look at this node
                node.last_ts = ts = packet[1]
                if q.full and len(packets) < q.max_size:
                    self._clear_full(q)
                return _PROCESS, ts, cc, cc.begin_activation(ts, (packet,))
        if node.is_source:
            if node.source_done:
                return self._begin_close(node)
            if node.throttle or node.layer != self.active_layer:
                return None
            node.in_flight += 1
            cc = node.contexts.pop()
            if node.max_in_flight > 1:
                node.seq_of[cc] = node.seq_next
                node.seq_next += 1
            return _PROCESS, _MIN - 2, cc, cc.begin_activation(Timestamp.UNSTARTED)
        handler = node.handler
        ts = handler.select()
        if ts is None:
            if self._inputs_done(node):
                return self._begin_close(node) if node.in_flight == 0 else None
            if node.process_bounds and node.in_flight == 0:
                ts = self._bound_timestamp(node)
                if ts is None:
                    return None
                inputs: list[Any] = [None] * node.n_inputs
            else:
                return None
        else:
            inputs = [None] * node.n_inputs
            handler.fill(ts, inputs)
        if node.process_bounds:
            for q in node.queues:
                q.seen_bound = q.bound
        node.last_ts = ts
        cc = node.contexts.pop()
        node.in_flight += 1
        # Room made in a full queue wakes its producer, whose bounds may move and reach
        # this node: counted in flight first, it does not pass on a bound past `ts` now.
        for q in node.queues:
            if q.full and len(q.packets) < q.max_size:
                self._clear_full(q)
        if node.max_in_flight > 1:
            node.seq_of[cc] = node.seq_next
            node.seq_next += 1
        return (_PROCESS, ts, cc,
                cc.begin_activation(ts if ts.__class__ is Timestamp else Timestamp(ts), inputs))

    def _begin_close(self, node: _Node) -> tuple[int, int, CalculatorContext, Produced]:
        node.closing = True
        cc = node.contexts.pop()
        return _CLOSE, DONE, cc, cc.begin_activation(Timestamp.DONE, [None] * node.n_inputs)

    def _bound_timestamp(self, node: _Node) -> int | None:
        """Timestamp for a bound-only `process` call, or None when no bound moved."""
        moved = [q.bound for q in node.queues if q.bound != q.seen_bound]
        if not moved:
            return None
        if isinstance(node.handler, DefaultInputStreamHandler):
            ts = node.handler.settled() - 1
            if ts <= node.last_ts:
                for q in node.queues:
                    q.seen_bound = q.bound
                return None
        else:
            ts = max(moved) - 1
        return min(max(ts, _MIN), _MAX)

    def _inputs_done(self, node: _Node) -> bool:
        for q in node.forward:
            if q.packets or q.bound != DONE:
                return False
        if node.waits_back and len(node.forward) != len(node.queues):
            if any(q.bound != DONE for q in node.queues if q.back_edge):
                try:
                    return not node.calc.has_pending_work()
                except Exception:  # noqa: BLE001 - a broken hook must not wedge the run
                    return True
        return True

    # -- after a calculator call ------------------------------------------------------------

    def _finish(self, node: _Node, kind: int, ts: int, cc: CalculatorContext,
                produced: Produced, result: Any, error: BaseException | None, start: int,
                end: int, ex: _Executor | None) -> _Node | None:
        """Deliver an activation's results; return a node this thread should run next."""
        node.contexts.append(cc)
        if kind == _PROCESS:
            node.in_flight -= 1
            stats = node.stats
            took = end - start
            stats.calls += 1
            stats.busy_ns += took
            stats.recent.append(took)
        elif kind == _OPEN:
            node.stats.opens_ns += end - start
        else:
            node.stats.closes_ns += end - start
        if error is not None:
            produced.clear()
            node.seq_of.pop(cc, None)
            if kind == _CLOSE:
                self._mark_closed(node)
            elif kind == _OPEN:
                node.opened = False
            self._fail(self._calculator_error(node, kind, ts, error), cause=error)
            return None
        if self.recording:
            self._record(node, kind, ts, cc, produced, start, end)
        touched: list[_Node] = []
        stop_requested = produced.stop
        if node.max_in_flight > 1 and kind == _PROCESS:
            self._deliver_in_order(node, node.seq_of.pop(cc), produced.detach(), ts, touched)
        else:
            self._deliver(node, produced, ts if kind == _PROCESS else None, touched)
        if kind == _OPEN:
            node.opened = True
            node.opening = False
        elif kind == _CLOSE:
            self._close_outputs(node, touched)
            self._mark_closed(node)
        else:
            if result is not None and not (result is Stop or isinstance(result, Stop)):
                _warn_ignored_return(node, result)
            elif result is not None:
                cause = result.__cause__ if isinstance(result, Stop) else None
                if cause is not None:  # `raise Stop from exc`: drain, then fail with exc
                    error = self._calculator_error(node, _PROCESS, ts, cause)
                    error.__cause__ = cause
                    self.deferred_errors.append(error)
                if node.is_source:
                    node.source_done = True
                else:
                    self._graceful_stop()
            if stop_requested:
                produced.stop = False
                self._graceful_stop()
        # After a long activation (C work that releases the GIL: decode, resize, encode,
        # inference) wake an idle worker for what is left, so stages overlap; after a
        # short one keep the work on this thread, where a hand-off would cost more.
        # Siblings of the node this thread takes next wake an idle worker too: they must
        # not wait behind its process(), which may be long. (This node itself, ready
        # again, does not: a chain stays on one thread.)
        current = None if end - start >= _EAGER_WAKE_NS else ex
        follow: _Node | None = None
        for other in touched:
            if other is not node and not other.scheduled and self._wants_run(other):
                if other.executor is ex and (follow is None or other.key < follow.key):
                    # The consumer nearest the outputs goes first, as the ready queue
                    # orders them: an observer sees a packet before the nodes after it
                    # can make the next one (a frame's results before its image).
                    if follow is not None:
                        follow.scheduled = False
                        self._schedule(follow, None)
                    other.scheduled = True
                    follow = other
                else:
                    self._schedule(other, None if follow is not None else current)
        if not node.scheduled and self._wants_run(node):
            self._schedule(node, current)
        return follow

    def _calculator_error(self, node: _Node, kind: int, ts: int,
                          error: BaseException) -> CalculatorError:
        """The error for a failed call; a source's names the last packet it had sent."""
        detail = None
        if kind == _PROCESS and node.is_source:  # there is no input timestamp
            sent = [o.last_timestamp for o in node.outputs if o.last_timestamp is not None]
            after = f"after its packet at {Timestamp(max(sent))}" if sent else "before any packet"
            detail = f"{type(error).__name__}: {error} (a source, failing {after})"
        return CalculatorError(node.name, node.spec.calculator_name, _METHOD[kind],
                               _call_timestamp(node, kind, ts), error, detail=detail)

    def _deliver(self, node: _Node, produced: Produced, ts: int | None,
                 touched: list[_Node]) -> None:
        """Send what an activation produced, in order, and empty `produced`; with `ts`
        (a process call) an offset-0 node's outputs also move past `ts`."""
        outputs = node.outputs
        packets = produced.packets
        if packets:
            for slot, packet in packets:
                out = outputs[slot]
                check = out.check
                if check is not None and not isinstance(packet[0], check):
                    packets.clear()
                    raise self._type_error(node, out, packet)
                if not out.add(packet, touched):
                    packets.clear()
                    raise self._timestamp_error(node, out, packet[1])
            packets.clear()
        if produced.bounds:
            for slot, bound in produced.bounds:
                outputs[slot].raise_bound(int(bound), touched)
            produced.bounds.clear()
        if ts is not None and node.offset0 and _MIN <= ts < _MAX:
            nb = ts + 1
            for out in outputs:
                if out.bound < nb:
                    out.raise_bound(nb, touched)
        if produced.closed:
            for slot in produced.closed:
                outputs[slot].raise_bound(DONE, touched)
            produced.closed.clear()
        if produced.sides:
            for slot, value in produced.sides:
                self._publish_side(node.side_out_names[slot], value, node)
            produced.sides.clear()
        produced.extra = False  # `_finish` has taken `stop` already

    def _deliver_in_order(self, node: _Node, seq: int, produced: Produced, ts: int,
                          touched: list[_Node]) -> None:
        """With max_in_flight > 1, hold results until every earlier activation delivered."""
        node.reorder[seq] = (produced, ts)
        while node.seq_deliver in node.reorder:
            held, ts_k = node.reorder.pop(node.seq_deliver)
            node.seq_deliver += 1
            self._deliver(node, held, ts_k, touched)

    def _close_outputs(self, node: _Node, touched: list[_Node]) -> None:
        for out in node.outputs:
            out.closed = True
            out.raise_bound(DONE, touched)
        for name in node.side_out_names:
            if name not in self.side_packets:
                waiting = [n.name for n in self.nodes if name in n.side_missing]
                if waiting:
                    raise GraphRunError(f"node '{node.name}' closed without setting output side "
                                        f"packet '{name}', which node(s) {', '.join(waiting)} "
                                        "need")

    def _mark_closed(self, node: _Node) -> None:
        if node.closed:
            return
        node.closed = True
        node.closing = False
        self.closed_nodes += 1
        for q in node.queues:
            q.packets.clear()
            if q.full:
                self._clear_full(q)
        if node.is_source:
            self._advance_layer()
        if self.closed_nodes == len(self.nodes):
            self._end()

    def _advance_layer(self) -> None:
        while True:
            remaining = [n for n in self.nodes if n.is_source and n.layer == self.active_layer
                         and not n.closed]
            if remaining:
                return
            later = [layer for layer in self.layers if layer > self.active_layer]
            if not later:
                return
            self.active_layer = later[0]
            for n in self.nodes:
                if n.is_source and n.layer == self.active_layer:
                    self._check(n, None)

    # -- readiness --------------------------------------------------------------------------

    def _check(self, node: _Node, current: _Executor | None) -> None:
        """Schedule `node` if it can do something now."""
        if self._wants_run(node):
            self._schedule(node, current)

    def _wants_run(self, node: _Node) -> bool:
        """Whether `node` can do something now; if not, propagate its bounds instead."""
        if (node.scheduled or node.closed or node.closing or self.stopping
                or node.in_flight >= node.max_in_flight or not node.opened):
            return False
        if node.out_full:  # a queue it feeds is full: it waits, unless it can close
            return node.in_flight == 0 and self._inputs_done(node)
        if node.single:
            q = node.queues[0]
            if q.packets:
                return True
            if node.in_flight:
                return False
            if q.bound == DONE:
                if not node.waits_back:
                    return True
            elif node.offset0:
                bound = q.bound
                for out in node.outputs:
                    if out.bound < bound:
                        self._propagate(node, bound)
                        break
                return False
        if node.is_source:
            return node.source_done or (not node.throttle and node.layer == self.active_layer)
        if node.handler.select() is not None:
            return True
        if node.in_flight:
            return False
        if self._inputs_done(node):
            return True
        if node.process_bounds:
            return any(q.bound != q.seen_bound for q in node.queues)
        if node.offset0 and node.outputs:
            self._propagate(node, node.handler.settled())
        return False

    def _propagate(self, node: _Node, settled: int) -> None:
        """Outputs of an offset-0 node inherit its settled input bound."""
        if settled == DONE:
            return  # closing will mark the outputs done
        touched: list[_Node] = []
        for out in node.outputs:
            if out.bound < settled:
                out.raise_bound(settled, touched)
        for other in touched:
            self._check(other, None)

    def _schedule(self, node: _Node, current: _Executor | None) -> None:
        node.scheduled = True
        ex = node.executor
        heap = ex.heap
        heapq.heappush(heap, (node.key, next(self.seq), node))
        if ex.app:
            self.input_cond.notify_all()  # an application thread may be waiting to run it
        elif ex.idle and (ex is not current or len(heap) > 1):
            ex.cond.notify()

    # -- throttling -------------------------------------------------------------------------

    def _set_full(self, q: InputQueue) -> None:
        q.full = True
        producer = q.producer
        if producer is not None and not producer.is_source and not q.back_edge:
            producer.out_full += 1  # it stops until the queue drains (sources: throttle)
        spec = q.node.spec
        for index in spec.ancestor_sources:
            self.nodes[index].throttle += 1
        for name in spec.ancestor_inputs:
            self.input_throttle[name] += 1

    def _clear_full(self, q: InputQueue) -> None:
        q.full = False
        producer = q.producer
        if producer is not None and not producer.is_source and not q.back_edge:
            producer.out_full -= 1
            if producer.out_full == 0:
                self._check(producer, None)
        spec = q.node.spec
        for index in spec.ancestor_sources:
            source = self.nodes[index]
            source.throttle -= 1
            if source.throttle == 0:
                self._check(source, None)
        woke = False
        for name in spec.ancestor_inputs:
            self.input_throttle[name] -= 1
            if self.input_throttle[name] == 0 and self.input_waiting[name]:
                woke = True
        if woke:
            self.input_cond.notify_all()

    def _maybe_idle(self) -> None:
        """Called with the lock held when no activation runs: detect deadlock or idleness."""
        if self.running or self.finished or self.stopping:
            return
        if any(ex.heap for ex in self.executors.values()):
            return
        throttled = [n for n in self.nodes if n.is_source and n.throttle and not n.source_done
                     and not n.closed and n.opened and n.layer == self.active_layer]
        blocked = [name for name, count in self.input_waiting.items()
                   if count and self.input_throttle[name]]
        stalled = [n for n in self.nodes if n.out_full and not n.closed
                   and any(q.packets for q in n.forward)]
        if throttled or blocked or stalled:
            full = [q for n in self.nodes for q in n.queues if q.full]
            names = ", ".join(f"'{q.stream}' (into node '{q.node.name}', "
                              f"{q.node.spec.calculator_name}, {len(q.packets)} queued)"
                              for q in full)
            if self.spec.report_deadlock:
                self._fail(DeadlockError(f"Detected a deadlock due to input throttling for input "
                                         f"stream(s): {names}; raise max_queue_size or fix the "
                                         "graph's synchronization"))
                return
            for q in full:
                q.max_size += 1
                log.warning("Resolved a deadlock by increasing max_queue_size of input stream "
                            "'%s' of node '%s' to %d; consider a larger max_queue_size",
                            q.stream, q.node.name, q.max_size)
                self.deadlock_resolutions += 1
                self._clear_full(q)
            return
        self.idle_cond.notify_all()

    def is_idle(self) -> bool:
        return (not self.running and not any(ex.heap for ex in self.executors.values())
                and not any(n.is_source and not n.closed and not n.throttle for n in self.nodes))

    # -- graph inputs -----------------------------------------------------------------------

    def add_packet(self, stream: str, packet: Packet, *, wait: bool,
                   timeout: float | None) -> bool:
        out = self.graph_inputs.get(stream)
        if out is None:
            raise KeyError(f"'{stream}' is not a graph input stream; declare it with "
                           f"input_stream: \"{stream}\" (inputs: {', '.join(self.graph_inputs)})")
        deadline = None if timeout is None else time.monotonic() + timeout
        entered = time.perf_counter_ns() if self.latency is not None else 0
        with self.lock:
            self._raise_if_over()
            if out.closed:
                raise GraphRunError(f"graph input stream '{stream}' is closed")
            if self.input_throttle[stream]:
                if not wait:
                    self.input_dropped[stream] += 1
                    return False
                self.input_waiting[stream] += 1
                try:
                    while self.input_throttle[stream] and not self.stopping and not self.finished:
                        if self._run_app_task():
                            continue
                        self._maybe_idle()
                        if not self.input_throttle[stream] or self.stopping:
                            break
                        remaining = None if deadline is None else deadline - time.monotonic()
                        if remaining is not None and remaining <= 0:
                            raise QueueFullError(f"graph input stream '{stream}' stayed full for "
                                                 f"{timeout} s")
                        self.input_cond.wait(remaining)
                finally:
                    self.input_waiting[stream] -= 1
                self._raise_if_over()
            touched: list[_Node] = []
            if not out.add(packet, touched):
                raise self._timestamp_error(None, out, packet[1])
            if self.latency is not None:
                self.latency.origin(stream, packet[1], entered)
            for node in touched:
                self._check(node, None)
            return True

    def set_input_bound(self, stream: str, bound: int) -> None:
        out = self.graph_inputs.get(stream)
        if out is None:
            raise KeyError(f"'{stream}' is not a graph input stream")
        with self.lock:
            self._raise_if_over()
            touched: list[_Node] = []
            out.raise_bound(bound, touched)
            for node in touched:
                self._check(node, None)

    def close_input(self, stream: str) -> None:
        out = self.graph_inputs.get(stream)
        if out is None:
            raise KeyError(f"'{stream}' is not a graph input stream")
        with self.lock:
            self._close_input(out)

    def _close_input(self, out: OutputStream) -> None:
        if out.closed:
            return
        out.closed = True
        touched: list[_Node] = []
        out.raise_bound(DONE, touched)
        for node in touched:
            self._check(node, None)
        if self.running == 0:
            self._maybe_idle()

    def close_all_inputs(self) -> None:
        with self.lock:
            for out in self.graph_inputs.values():
                self._close_input(out)

    def close_all_sources(self) -> None:
        """Close graph inputs and end every source (MediaPipe's CloseAllPacketSources)."""
        with self.lock:
            self._graceful_stop()

    def _graceful_stop(self) -> None:
        for out in self.graph_inputs.values():
            self._close_input(out)
        for node in self.nodes:
            if node.is_source and not node.source_done:
                node.source_done = True
                node.throttle = 0
                self._check(node, None)

    # -- errors, cancel, completion ---------------------------------------------------------

    def _timestamp_error(self, node: _Node | None, out: OutputStream, pts: int) -> TimestampError:
        who = f"node '{node.name}' ({node.spec.calculator_name})" if node else "graph input"
        prev = out.last_timestamp
        prev_text = str(Timestamp(prev)) if prev is not None else "none"
        if not (_MIN <= pts <= _MAX or pts == _PRE or pts == _POST):
            why = f"timestamp {Timestamp(pts)} is not allowed in a stream"
        else:
            why = (f"timestamp {Timestamp(pts)} is not above the stream's bound "
                   f"{Timestamp(out.bound)} (previous packet at {prev_text}); timestamps on a "
                   "stream must strictly increase")
        return TimestampError(f"{who}, stream '{out.name}': {why}")

    def _type_error(self, node: _Node, out: OutputStream, packet: Packet) -> PacketTypeError:
        binding = node.spec.outputs[out.slot]
        return PacketTypeError(
            f"node '{node.name}' ({node.spec.calculator_name}) sent a value of type "
            f"{type(packet[0]).__name__} on stream '{out.name}' at timestamp "
            f"{Timestamp(packet[1])}, but its output port {binding.port.spec()} carries "
            f"{type_name(binding.port.type)}")

    def _fail(self, error: BaseException, cause: BaseException | None = None) -> None:
        if cause is not None and error.__cause__ is None:
            error.__cause__ = cause
        self.errors.append(error)
        if self.error_callback is not None:
            try:
                self.error_callback(error)
            except Exception:  # noqa: BLE001 - a failing callback must not hide the error
                log.exception("error callback failed")
        self._stop()

    def _stop(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        for ex in self.executors.values():
            ex.heap.clear()
            ex.cond.notify_all()
        for node in self.nodes:
            node.scheduled = False
        self.input_cond.notify_all()
        self.idle_cond.notify_all()
        if self.running == 0 and not self.cleanup_started:
            self._start_cleanup()

    def _start_cleanup(self) -> None:
        """Close the opened nodes: here on a worker (or application-executor) thread;
        elsewhere (the watchdog, an application thread calling cancel) on a helper
        thread, so a hung close cannot hold the caller."""
        me = threading.current_thread()
        here = me not in self.helper_threads and any(
            ex.app or me in ex.threads for ex in self.executors.values())
        if here:
            self._cleanup()
        else:
            self.cleanup_started = True
            self._start_helper(self._locked(self._cleanup), "cleanup")

    def cancel(self) -> None:
        with self.lock:
            if self.finished:
                return
            if not self.cancelled:
                self.cancelled = True
                self.errors.append(GraphCancelled("the run was cancelled"))
            self._stop()

    def _cleanup(self) -> None:
        """Close every opened node after a failure or cancel. Lock held on entry and exit."""
        self.cleanup_started = True
        for node in self.nodes:
            node.closing = False
            if not node.opened:
                node.closed = True
        self._cleanup_closes()

    def _cleanup_closes(self) -> None:
        """Close the opened nodes one by one. When the watchdog abandons a hung close it
        starts another thread here, which goes on with the nodes still open."""
        watchdog = self.watchdog
        tid = threading.get_ident()
        while True:
            node = next((n for n in self.nodes if n.opened and not n.closed and not n.closing),
                        None)
            if node is None:
                break
            node.closing = True
            cc = node.contexts[0]
            cc.begin_activation(Timestamp.DONE, [None] * node.n_inputs)
            if watchdog is not None:
                watchdog.enter(tid, node, _CLOSE, DONE)
            self.lock.release()
            error: CalculatorError | None = None
            try:
                node.calc.close(cc)
            except BaseException as exc:  # noqa: BLE001
                error = CalculatorError(node.name, node.spec.calculator_name, "close",
                                        Timestamp.DONE, exc)
                error.__cause__ = exc
            finally:
                self.lock.acquire()
            if watchdog is not None and not watchdog.leave(tid):
                return  # abandoned by the watchdog, which closes the rest on another thread
            if error is not None:
                self.errors.append(error)
            cc.take_outputs().clear()  # the run has failed: nothing more is delivered
            node.closed = True
            node.closing = False
        if not any(n.closing for n in self.nodes):
            self._end()

    def _end(self) -> None:
        if self.finished:
            return
        self.errors.extend(self.deferred_errors)
        self.finished = True
        self.ended_at = time.perf_counter()
        if self.watchdog is not None:
            self.watchdog.stop()
        for ex in self.executors.values():
            ex.cond.notify_all()
        self.done_cond.notify_all()
        self.input_cond.notify_all()
        self.idle_cond.notify_all()

    def _raise_if_over(self) -> None:
        if self.stopping or self.finished:
            if self.cancelled:
                raise GraphCancelled("the run was cancelled")
            if self.errors:
                raise GraphRunError(f"the run has stopped: {self.errors[0]}") from self.errors[0]
            raise GraphRunError("the run has finished")

    # -- waiting (from application threads) ---------------------------------------------------

    def _run_app_task(self) -> bool:
        """Run one ready activation of the application-thread executor, if any."""
        ex = self.executors.get("")
        if ex is None or not ex.app or not ex.heap or self.finished:
            return False
        began = time.perf_counter_ns()
        self._run_one(ex)
        self.worker_ns += time.perf_counter_ns() - began
        return True

    def wait_done(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.lock:
            while not self.finished:
                if self._run_app_task():
                    continue
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                if self.executors[""].app:
                    self._maybe_idle()
                    if self.finished:
                        break
                    self.input_cond.wait(remaining if remaining is not None else 0.05)
                else:
                    self.done_cond.wait(remaining)
        return self.join_threads(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def wait_idle(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.lock:
            while not self.finished and not self.is_idle():
                if self._run_app_task():
                    continue
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self.idle_cond.wait(min(remaining, 0.05) if remaining is not None else 0.05)
        return True

    def join_threads(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        me = threading.current_thread()
        abandoned = self.watchdog.abandoned if self.watchdog is not None else {}
        threads = [t for ex in self.executors.values() for t in ex.threads]
        for thread in threads + list(self.helper_threads):
            if thread is me or thread.ident is None or thread.ident in abandoned:
                continue  # an abandoned thread is stuck in calculator code; nobody can join it
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining)
            if thread.is_alive():
                return False
        return True

    def alive_threads(self) -> list[threading.Thread]:
        """Threads of this run still alive, those abandoned by the watchdog included."""
        threads = [t for ex in self.executors.values() for t in ex.threads]
        return [t for t in threads + list(self.helper_threads)
                if t.ident is not None and t.is_alive()]

    # -- helper threads and the watchdog's verdicts --------------------------------------------

    def _start_helper(self, target: Callable[[], None], role: str) -> None:
        prefix = self.executors[""].prefix if "" in self.executors else "mediagraph"
        thread = threading.Thread(target=target, daemon=True, name=f"{prefix}-{role}")
        self.helper_threads.append(thread)
        with _signals_blocked():
            thread.start()

    def _locked(self, fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            with self.lock:
                fn()
        return run

    def _abandon(self, hung: HungCall) -> None:
        """The watchdog gave up on a hung call (lock held): fail the run naming it, count
        the node as closed, and let the run stop without it."""
        node: _Node = hung.node
        error = CalculatorTimeoutError(node.name, node.spec.calculator_name, _METHOD[hung.kind],
                                       _call_timestamp(node, hung.kind, hung.timestamp),
                                       hung.limit_ns / 1e9, hung.thread_name, hung.stack)
        log.error("%s", error)
        if self.cleanup_started:  # a close in cleanup hung: close the rest on a new thread
            node.closed = True
            node.closing = False
            self.errors.append(error)
            self._start_helper(self._locked(self._cleanup_closes), "cleanup")
            return
        self.running -= 1
        self._fail(error)
        if self.stopping and self.running == 0 and not self.cleanup_started:
            self._start_cleanup()  # the run was already stopping, waiting for this call
        self._mark_closed(node)  # it gets no close() now; `_late_return` runs it later

    def _late_return(self, node: _Node, kind: int, cc: CalculatorContext,
                     error: BaseException | None) -> None:
        """A call the watchdog abandoned came back (lock held): drop its results and run
        the calculator's `close` here, so it still releases what it holds."""
        assert self.watchdog is not None
        self.watchdog.came_back(threading.get_ident())
        cc.take_outputs().clear()
        if kind == _CLOSE or (kind == _OPEN and error is not None):
            return
        cc.begin_activation(Timestamp.DONE, [None] * node.n_inputs)
        self.lock.release()
        try:
            node.calc.close(cc)
        except Exception:  # noqa: BLE001 - the run already ended with the timeout error
            log.exception("close() of node '%s' after its abandoned call returned", node.name)
        finally:
            self.lock.acquire()

    def outcome(self) -> BaseException | None:
        """The exception `wait_until_done` raises, or None for a clean run."""
        errors = list(self.errors)
        if not errors:
            return None
        if self.cancelled and all(isinstance(e, GraphCancelled) for e in errors):
            return errors[0]
        errors = [e for e in errors if not isinstance(e, GraphCancelled)] or errors
        if len(errors) == 1:
            return errors[0]
        return ExceptionGroup(f"{len(errors)} errors in graph run", errors)


    # -- profile, tracing and latency ----------------------------------------------------------

    def profile(self, label: Callable[[str], str] = str) -> GraphProfile:
        """This run's counters so far: a row per node (internal `__` nodes left out), packets
        and input drops per stream, wall time, and end-to-end latency, whose sink nodes
        `label` names."""
        with self.lock:
            rows = [node.stats.row(node.queues, node.calc.dropped, node.calc.profile_info)
                    for node in self.nodes if not node.name.startswith("__")]
            streams = {name: {"packets": out.packets_sent,
                              "dropped_at_input": self.input_dropped.get(name, 0)}
                       for name, out in self.streams.items()}
            end = self.ended_at or time.perf_counter()
            latency = latency_rows(self.latency, label)
            calculator_ns = sum(n.stats.busy_ns + n.stats.opens_ns + n.stats.closes_ns
                                for n in self.nodes)
            parts = None if self.framework_ns is None else {
                k: v / 1e6 for k, v in self.framework_ns.items()}
            work = WorkProfile(self.worker_ns / 1e6, calculator_ns / 1e6,
                               sum(n.stats.calls for n in self.nodes), self.fused_calls, parts)
        return GraphProfile(rows, streams, end - self.started_at, latency, work)


    def _record(self, node: _Node, kind: int, ts: int, cc: CalculatorContext,
                produced: Produced, start: int, end: int) -> None:
        if self.trace is not None:
            self._trace(node, kind, ts, cc, produced, start, end)
        latency = self.latency
        if latency is not None and kind == _PROCESS:
            if node.is_source:
                for _, packet in produced.packets:
                    latency.origin(node.name, packet[1], end)  # when it was sent
            elif node.sink_origins is not None:
                latency.arrive(node.sink_origins, node.name, ts, end)

    def _trace(self, node: _Node, kind: int, ts: int, cc: CalculatorContext, produced: Produced,
               start: int, end: int) -> None:
        consumed = [(q.stream, p[1]) for q, p in zip(node.queues, cc.inputs) if p is not None] \
            if kind == _PROCESS else []
        sent = [(node.outputs[slot].name, int(p[1])) for slot, p in produced.packets]
        assert self.trace is not None
        self.trace.slice(node.name, _METHOD[kind], start, end,
                         ts if kind == _PROCESS else -1, consumed, sent)


_warned_returns: set[type] = set()


def _warn_ignored_return(node: _Node, result: Any) -> None:
    """A process() that returned a value (not Stop) meant to send it: say so, once per class."""
    cls = node.spec.calculator
    if cls in _warned_returns:
        return
    _warned_returns.add(cls)
    log.warning("%s.process returned %s, which is ignored: send values with cc.send(port, "
                "value) (node '%s'; only Stop means something as a return value)",
                cls.__name__, type(result).__name__, node.name)


def _call_timestamp(node: _Node, kind: int, ts: int) -> Timestamp:
    """The timestamp errors name for a call: process's input timestamp; for a source's
    process (it has none), its last packet's once it has sent one (damage found mid-file
    names a time in the file), else UNSTARTED, as for open; DONE for close."""
    if kind == _PROCESS and not node.is_source:
        return ts if ts.__class__ is Timestamp else Timestamp(ts)
    if kind == _PROCESS:
        sent = [o.last_timestamp for o in node.outputs if o.last_timestamp is not None]
        if sent:
            return Timestamp(max(sent))
    return Timestamp.DONE if kind == _CLOSE else Timestamp.UNSTARTED

