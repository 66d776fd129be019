"""The `Graph` facade: validate a config once, then run, feed, observe and profile it.

Validation (`mediagraph.validation`) happens in the constructor and raises
`GraphConfigError` for any wiring mistake; running is delegated to
`mediagraph.scheduler`, one `Run` per `start_run`.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from mediagraph.config import pool
from mediagraph.config.loader import BINARY_SUFFIXES, TEXT_SUFFIXES, load_config, parse_config
from mediagraph.errors import GraphRunError
from mediagraph.observers import OutputStreamPoller, PollerSink
from mediagraph.packet import Packet
from mediagraph.profiler import GraphProfile
from mediagraph.validation import NodeSpec, PortBinding, suggest, validate

if TYPE_CHECKING:
    import networkx as nx

    from mediagraph.aio import AsyncRun


CONFIG_SUFFIXES = TEXT_SUFFIXES + BINARY_SUFFIXES


def as_config(config: Any) -> Any:
    """Accept a config message, .pbtxt text, binary bytes, a path, or a GraphBuilder."""
    if isinstance(config, pool.CalculatorGraphConfig):
        return config
    if hasattr(config, "build") and callable(config.build):
        return config.build()
    if isinstance(config, Path):
        return load_config(config)
    if isinstance(config, str):
        stripped = config.strip()
        named_file = stripped.endswith(CONFIG_SUFFIXES) and "\n" not in stripped
        looks_like_path = named_file or ("\n" not in stripped and "{" not in stripped
                                         and ":" not in stripped)
        if looks_like_path and (named_file or os.path.exists(stripped)):
            return load_config(stripped)  # a missing file says so, with its name
        return parse_config(config)
    if isinstance(config, (bytes, bytearray)):
        return parse_config(bytes(config))
    if hasattr(config, "SerializeToString") and hasattr(config, "DESCRIPTOR"):
        if config.DESCRIPTOR.full_name == "mediapipe.CalculatorGraphConfig":
            return parse_config(config.SerializeToString())  # e.g. Google's own class
    raise TypeError(f"cannot make a graph config from {type(config).__name__}")


def _sink_label(node_name: str) -> str:
    """Observers and pollers show as the stream they watch."""
    for kind in ("observer", "poller"):
        prefix = f"__{kind}_"
        if node_name.startswith(prefix):
            return f"{node_name[len(prefix):].partition('_')[2]} ({kind})"
    return node_name


# -- the public Graph -------------------------------------------------------------------------

ADD_MODES = ("wait", "add_if_not_full")


class Graph:
    """A validated graph you can run, embed and observe.

        graph = mediagraph.Graph("graphs/pipeline.pbtxt")
        graph.observe_output_stream("out", lambda packet: print(packet))
        graph.start_run({"video_path": "in.mp4"})
        graph.add_packet("in", value, timestamp=0)
        graph.close_all_inputs()
        graph.wait_until_done()

    or in one call: `graph.run(inputs={"in": [(value, ts), ...]})`. A graph can be run
    again after it finished, failed or was cancelled; each run builds fresh calculators.
    """

    def __init__(self, config: Any, *, allow_imports: Iterable[str] = (),
                 error_callback: Callable[[BaseException], None] | None = None,
                 inference_delegate: str | None = None) -> None:
        self.config = as_config(config)
        self.spec, self._topology = validate(self.config, allow_imports=allow_imports,
                                             inference_delegate=inference_delegate)
        self._dag: Any = None
        self._observers: list[tuple[str, Any, bool]] = []
        self._queue_overrides: dict[str, int] = {}
        self._run: Any = None
        self._error_callback = error_callback
        profiler = self.config.profiler_config
        self._trace_path: str | None = None
        if profiler.trace_enabled and not profiler.trace_log_disabled:
            self._trace_path = profiler.trace_log_path or "mediagraph_trace.json"
        self._trace_forced = False
        self._track_latency = profiler.enable_stream_latency
        self._time_framework = False

    @property
    def dag(self) -> nx.MultiDiGraph:
        """The validated graph as a networkx MultiDiGraph: a node per calculator (index,
        calculator, executor, source) and per graph input (`@input:NAME`), an edge per
        stream a node reads (stream, back_edge, kind "stream") and per side packet (kind
        "side"). Built, and networkx imported, on first use: running needs neither."""
        if self._dag is None:
            self._dag = self._topology.to_networkx()
        return self._dag

    # -- set-up before a run --------------------------------------------------------------

    @property
    def input_streams(self) -> list[str]:
        return list(self.spec.graph_inputs)

    @property
    def output_streams(self) -> list[str]:
        """The config's output_stream list, else every stream no node consumes."""
        if self.spec.graph_outputs:
            return list(self.spec.graph_outputs)
        return [name for name, info in self.spec.streams.items()
                if not info.consumers and info.producer is not None]

    def observe_output_stream(self, name: str, callback: Callable[[Packet], Any],
                              observe_timestamp_bounds: bool = False) -> None:
        """Call `callback(packet)` for every packet on stream `name` (set before start_run).

        With `observe_timestamp_bounds`, bound-only updates arrive as `Packet(None, ts)`.
        """
        self._check_stream(name)
        self._observers.append((name, callback, observe_timestamp_bounds))

    def poll(self, name: str, observe_timestamp_bounds: bool = False, *,
             max_queue_size: int | None = None, overflow: str = "wait") -> OutputStreamPoller:
        """A poller on stream `name` (set before start_run): `poller.next(timeout=...)`.

        It holds at most `max_queue_size` packets (default: the graph's max_queue_size);
        when full, "wait" slows the graph to the reader's pace, "drop_oldest" keeps the
        newest and counts the drops (see `OutputStreamPoller`).
        """
        self._check_stream(name)
        limit = self.spec.max_queue_size if max_queue_size is None else max_queue_size
        poller = OutputStreamPoller(name, limit, overflow)
        self._observers.append((name, poller, observe_timestamp_bounds))
        return poller

    add_output_stream_poller = poll

    def set_max_queue_size(self, stream: str, max_queue_size: int) -> None:
        """Override `max_queue_size` for every queue on `stream` (-1: unbounded)."""
        self._check_stream(stream)
        if max_queue_size.__class__ is not int or not (max_queue_size > 0
                                                       or max_queue_size == -1):
            raise ValueError(f"max_queue_size for '{stream}' must be a positive int or -1 "
                             f"(unbounded), not {max_queue_size!r}")
        self._queue_overrides[stream] = max_queue_size

    set_input_stream_max_queue_size = set_max_queue_size

    def enable_trace(self, path: str | os.PathLike[str] | None = None) -> None:
        """Record a Chrome/Perfetto trace of the next runs (written by `write_trace`)."""
        self._trace_forced = True
        if path is not None:
            self._trace_path = str(path)

    def enable_latency_tracking(self) -> None:
        """Measure end-to-end latency per source -> sink path in the next runs (shown by
        `profile()`; same as profiler_config { enable_stream_latency: true })."""
        self._track_latency = True

    def enable_framework_timing(self) -> None:
        """Time the scheduler's own steps in the next runs, so `profile()` says where the
        framework's time per call goes (`mediagraph run --profile`); costs a little."""
        self._time_framework = True

    def _forget_observers(self, targets: Iterable[Any]) -> None:
        """Drop the observers of `targets` (callbacks or pollers) from later runs."""
        gone = {id(t) for t in targets}
        self._observers = [o for o in self._observers if id(o[1]) not in gone]

    def _check_stream(self, name: str) -> None:
        if name not in self.spec.streams:
            raise KeyError(f"no stream '{name}' in this graph" + suggest(name, self.spec.streams))

    # -- running ----------------------------------------------------------------------------

    def arun(self, side_packets: Mapping[str, Any] | None = None, *,
             streams: Iterable[str] | None = None) -> AsyncRun:
        """A run driven from asyncio: `async with graph.arun(side) as run:`, then
        `await run.add_packet(stream, value, ts)`, `async for p in run.stream(name)`,
        `await run.wait()`. `streams` are the output streams to read (default:
        `output_streams`); read each, as an unread one holds the graph back. Leaving the
        block closes the inputs and awaits the run; an exception or a cancelled task
        cancels it (every opened node is closed). See `mediagraph.aio`."""
        from mediagraph.aio import AsyncRun

        return AsyncRun(self, side_packets, self.output_streams if streams is None else streams)

    def start_run(self, side_packets: Mapping[str, Any] | None = None) -> None:
        """Start a run: open nodes (on worker threads) and accept graph input packets."""
        from mediagraph.profiler import TraceRecorder
        from mediagraph.scheduler import Run

        if self._run is not None and not self._run.finished:
            raise GraphRunError("the graph is already running; wait_until_done() or cancel() "
                                "it first")
        if self._run is not None:
            self._run.join_threads(5.0)
        trace = None
        if self._trace_forced or self._trace_path:
            capacity = self.config.profiler_config.trace_log_capacity or 200_000
            trace = TraceRecorder(capacity)
        sinks = [self._observer_node(i, name, target, bounds)
                 for i, (name, target, bounds) in enumerate(self._observers)]
        for _, target, _ in self._observers:
            if isinstance(target, OutputStreamPoller):
                target._reset()
        run = Run(self.spec, dict(side_packets or {}), extra_sinks=sinks,
                  queue_overrides=self._queue_overrides, trace=trace,
                  error_callback=self._error_callback, track_latency=self._track_latency,
                  time_framework=self._time_framework)
        for _, calc in sinks:
            if isinstance(calc, PollerSink):
                calc.stopping = lambda run=run: run.stopping
        self._run = run
        try:
            run.start()
        except BaseException:  # e.g. Ctrl-C while threads start: leave nothing running
            run.cancel()
            run.wait_done(5.0)
            raise

    def _observer_node(self, i: int, stream: str, target: Any, bounds: bool) -> Any:
        from mediagraph.config.subgraph import NodeOrigin
        from mediagraph.observers import (BoundsCallbackSink, BoundsPollerSink, CallbackSink,
                                          PollerSink)

        if isinstance(target, OutputStreamPoller):
            calc = (BoundsPollerSink if bounds else PollerSink)(target)
        else:
            calc = (BoundsCallbackSink if bounds else CallbackSink)(target)
        calc.options = None
        port = type(calc).stream
        info = self.spec.streams[stream]
        index = len(self.spec.nodes) + i
        if info.producer is None:
            sources: frozenset[int] = frozenset()
            inputs = frozenset({stream})
        else:
            producer = self.spec.nodes[info.producer[0]]
            sources = producer.ancestor_sources | (
                {producer.index} if producer.is_source else frozenset())
            inputs = producer.ancestor_inputs
        kind = "poller" if isinstance(target, OutputStreamPoller) else "observer"
        return (NodeSpec(index=index, name=f"__{kind}_{i}_{stream}", calculator_name=type(calc).__name__,
                         calculator=type(calc), options=None,
                         inputs=[PortBinding(0, port, "", 0, stream)], outputs=[], side_inputs=[],
                         side_outputs=[], handler="DefaultInputStreamHandler",
                         handler_options=None, executor="", max_in_flight=1, source_layer=0,
                         buffer_size_hint=0, origin=NodeOrigin(None, None),
                         priority=len(self.spec.nodes) + len(self._observers),
                         ancestor_sources=frozenset(sources), ancestor_inputs=inputs,
                         process_timeout=self.config.process_timeout), calc)

    def _active_run(self) -> Any:
        if self._run is None:
            raise GraphRunError("the graph is not running; call start_run() first")
        return self._run

    def add_packet(self, stream: str, packet: Any, timestamp: int | None = None, *,
                   mode: str = "wait", timeout: float | None = None) -> bool:
        """Add a packet to a graph input stream (thread-safe).

        `packet` is a Packet, or a value with `timestamp=`. mode "wait" (default) blocks
        while the stream's consumers are full (up to `timeout` s, then QueueFullError);
        "add_if_not_full" returns False instead, and the drop is counted.
        """
        if mode not in ADD_MODES:
            raise ValueError(f"mode must be one of {ADD_MODES}, not {mode!r}")
        if not isinstance(packet, Packet):
            if timestamp is None:
                raise ValueError("add_packet needs a Packet or timestamp=")
            packet = Packet(packet, timestamp)
        elif timestamp is not None:
            packet = packet.at(timestamp)
        return self._active_run().add_packet(stream, packet, wait=mode == "wait", timeout=timeout)

    add_packet_to_input_stream = add_packet

    def set_input_stream_bound(self, stream: str, timestamp: int) -> None:
        """Promise that `stream` will carry nothing below `timestamp`."""
        self._active_run().set_input_bound(stream, int(timestamp))

    set_input_stream_timestamp_bound = set_input_stream_bound

    def close_input_stream(self, stream: str) -> None:
        self._active_run().close_input(stream)

    def close_all_inputs(self) -> None:
        self._active_run().close_all_inputs()

    close_all_input_streams = close_all_inputs

    def close_all_packet_sources(self) -> None:
        """Close graph inputs and end every source node: the run drains and finishes."""
        self._active_run().close_all_sources()

    def wait_until_idle(self, timeout: float | None = None) -> None:
        """Wait until no node can run (source nodes must have finished or be throttled)."""
        run = self._active_run()
        if not run.wait_idle(timeout):
            raise TimeoutError(f"the graph did not become idle within {timeout} s")
        self._raise_errors(run, finished_only=True)

    def wait_until_done(self, timeout: float | None = None) -> None:
        """Wait for the run to end; raise its error (CalculatorError, ExceptionGroup, ...)."""
        run = self._active_run()
        if threading.current_thread() in run.alive_threads():
            raise GraphRunError("wait_until_done() was called from one of the graph's own "
                                "threads (a calculator or an observer callback): the run "
                                "cannot end while that thread waits for it; call cancel() "
                                "or return instead")
        try:
            done = run.wait_done(timeout)
        except KeyboardInterrupt:
            run.cancel()
            run.wait_done(5.0)
            raise
        if not done:
            if not run.finished:
                raise TimeoutError(f"the graph run did not finish within {timeout} s")
            stuck = run.alive_threads()
            raise TimeoutError(f"the run finished but {len(stuck)} thread(s) did not exit: "
                               + "; ".join(t.name for t in stuck))
        self._after_run(run)
        self._raise_errors(run)

    def _after_run(self, run: Any) -> None:
        if run.trace is not None and self._trace_path:
            run.trace.write(self._trace_path)
        for _, target, _ in self._observers:
            if isinstance(target, OutputStreamPoller):
                target._finish(run.outcome() if not run.cancelled else None)

    def _raise_errors(self, run: Any, finished_only: bool = False) -> None:
        if finished_only and not run.finished:
            return
        error = run.outcome()
        if error is not None:
            raise error

    def cancel(self, timeout: float | None = 5.0) -> None:
        """End the run promptly from any thread; wait_until_done then raises GraphCancelled."""
        run = self._run
        if run is None:
            return
        run.cancel()
        if threading.current_thread() not in run.alive_threads():
            run.wait_done(timeout)
            self._after_run(run)

    def has_error(self) -> bool:
        return self._run is not None and bool(self._run.errors)

    def get_output_side_packet(self, name: str) -> Any:
        run = self._active_run()
        if name not in run.side_packets:
            raise KeyError(f"no side packet '{name}' has been set"
                           + suggest(name, run.side_packets))
        return run.side_packets[name]

    def run(self, inputs: Mapping[str, Iterable[Any]] | None = None,
            side_packets: Mapping[str, Any] | None = None, *,
            outputs: Iterable[str] | None = None,
            timeout: float | None = None) -> dict[str, list[Packet]]:
        """Run once over `inputs` ({stream: [(value, ts) or Packet, ...]}) and collect outputs.

        Returns {stream: [Packet, ...]} for `outputs` (default: `output_streams`).
        """
        wanted = list(outputs) if outputs is not None else self.output_streams
        collected: dict[str, list[Packet]] = {name: [] for name in wanted}
        saved = list(self._observers)
        try:
            for name in wanted:
                self.observe_output_stream(name, collected[name].append)
            self.start_run(side_packets)
        finally:
            self._observers = saved
        try:
            feed: list[tuple[int, int, str, Packet]] = []
            for stream, items in (inputs or {}).items():
                if stream not in self.spec.graph_inputs:
                    raise KeyError(f"'{stream}' is not a graph input stream"
                                   + suggest(stream, self.spec.graph_inputs))
                for order, item in enumerate(items):
                    packet = item if isinstance(item, Packet) else Packet(item[0], item[1])
                    feed.append((int(packet.timestamp), order, stream, packet))
            feed.sort(key=lambda entry: (entry[0], entry[1]))
            for _, _, stream, packet in feed:
                self.add_packet(stream, packet, timeout=timeout)
            self.close_all_inputs()
        except GraphRunError:
            if not self._run.errors or self._run.cancelled:
                raise
            # The run failed while we fed it: report the failure itself, not the refusal.
        except BaseException:
            self.cancel()
            raise
        self.wait_until_done(timeout)
        return collected

    def profile(self) -> GraphProfile:
        """Counters of the current or last run (see `mediagraph.profiler`)."""
        return self._active_run().profile(_sink_label)

    def write_trace(self, path: str | os.PathLike[str]) -> Path:
        """Write the current or last run's trace as Chrome/Perfetto trace-event JSON."""
        run = self._active_run()
        if run.trace is None:
            raise GraphRunError("tracing was off for this run: call enable_trace() before "
                                "start_run() or set profiler_config { trace_enabled: true }")
        return run.trace.write(path)

    # -- context manager ------------------------------------------------------------------------

    def __enter__(self) -> Graph:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        run = self._run
        if run is None or run.finished and not run.alive_threads():
            return
        if exc_type is not None:
            self.cancel()
            return
        self.close_all_inputs()
        self.wait_until_done()
