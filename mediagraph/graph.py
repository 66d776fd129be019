"""A graph: a config validated into a networkx DAG, and the API to run it.

This is the only module that imports networkx. Validation happens once, in the
constructor, and raises `GraphConfigError` (with file:line, node and stream) for any
wiring mistake; nothing is logged-and-continued. Running is delegated to
`mediagraph.scheduler`.
"""

from __future__ import annotations

import difflib
import math
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import networkx as nx

from mediagraph import registry
from mediagraph.config import pool
from mediagraph.config.delegate_override import override_inference_delegate
from mediagraph.config.loader import SourceInfo, load_config, parse_config, source_info
from mediagraph.config.names import assign_indexes, parse_spec, parse_tag_index
from mediagraph.config.options_access import node_option_messages
from mediagraph.config.subgraph import NodeOrigin, expand
from mediagraph.errors import GraphConfigError, GraphRunError, OptionsError, UnknownCalculatorError
from mediagraph.observers import OutputStreamPoller
from mediagraph.packet import Packet
from mediagraph.profiler import GraphProfile
from mediagraph.options import Options
from mediagraph.port import INPUT, OUTPUT, SIDE_INPUT, SIDE_OUTPUT, compatible, type_name
from mediagraph.validation import (ExecutorSpec, GraphSpec, NodeSpec, PortBinding, StreamInfo)

DEFAULT_MAX_QUEUE_SIZE = 100
_RESERVED_EXECUTORS = ("default", "gpu")
_HANDLER_OPTION_TYPES = {
    "mediapipe.DefaultInputStreamHandlerOptions", "mediapipe.FixedSizeInputStreamHandlerOptions",
    "mediapipe.SyncSetInputStreamHandlerOptions",
    "mediapipe.TimestampAlignInputStreamHandlerOptions", "mediapipe.ThreadPoolExecutorOptions",
}


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
        looks_like_path = ("\n" not in stripped and "{" not in stripped and ":" not in stripped
                           or stripped.endswith((".pbtxt", ".binarypb", ".textproto", ".pb")))
        if looks_like_path and os.path.exists(stripped):
            return load_config(stripped)
        return parse_config(config)
    if isinstance(config, (bytes, bytearray)):
        return parse_config(bytes(config))
    if hasattr(config, "SerializeToString") and hasattr(config, "DESCRIPTOR"):
        if config.DESCRIPTOR.full_name == "mediapipe.CalculatorGraphConfig":
            return parse_config(config.SerializeToString())  # e.g. Google's own class
    raise TypeError(f"cannot make a graph config from {type(config).__name__}")


def validate(config: Any, *, allow_imports: Iterable[str] = (),
             inference_delegate: str | None = None) -> tuple[GraphSpec, nx.MultiDiGraph]:
    """Expand subgraphs and check every rule; return the run plan and its DAG.

    `inference_delegate` ("cpu", "gpu", "dsp", "auto", ...) replaces the delegate of every
    InferenceCalculator after expansion (see `config.delegate_override`).
    """
    allow = (allow_imports,) if isinstance(allow_imports, str) else tuple(allow_imports)
    info = source_info(config)
    source = info.source if info else None

    def resolve(name: str, index: int) -> tuple[str, Any]:
        if not name:  # expand() adds the node's file:line
            raise GraphConfigError(f"node #{index} has no calculator")
        try:
            return registry.resolve(name, package=config.package, allow_imports=allow,
                                    node=f"#{index} ({name})")
        except UnknownCalculatorError:
            # Not a subgraph: leave the node in place; the validator reports it together
            # with every other broken node.
            return "calculator", None

    try:
        expanded, origins = expand(config, resolve)
    except GraphConfigError as exc:
        raise exc.located(source) from None
    if inference_delegate is not None:
        override_inference_delegate(expanded, inference_delegate, source=source)
    return _Validator(expanded, origins, source, allow, info).run()


class _Validator:
    def __init__(self, config: Any, origins: list[NodeOrigin], source: str | None,
                 allow: tuple[str, ...], info: SourceInfo | None = None) -> None:
        self.config = config
        self.origins = origins
        self.source = source
        self.allow = allow
        self.info = info
        self.nodes: list[NodeSpec] = []

    def error(self, message: str, index: int | None = None, *, stream: str | None = None,
              cls: type[GraphConfigError] = GraphConfigError,
              field: str | None = None, entry: int = -1) -> GraphConfigError:
        """An error at node `index`, or at the top-level `field` (its `entry`-th line)."""
        origin = self.origins[index] if index is not None and index < len(self.origins) else None
        node = self.nodes[index].name if index is not None and index < len(self.nodes) else None
        if origin is not None and origin.path:
            message += f" (in subgraph {' > '.join(origin.path)})"
        line = origin.line if origin else None
        if origin is None and field is not None and self.info is not None:
            line = self.info.field_line(field, entry)
        return cls(message, source=origin.source if origin else self.source,
                   line=line, node=node, stream=stream)

    def run(self) -> tuple[GraphSpec, nx.MultiDiGraph]:
        config = self.config
        for field, instead in (("packet_generator", "a node that sets output side packets "
                                "in open()"), ("packet_factory", "input side packets given to "
                                "start_run()"), ("status_handler", "the error raised by "
                                "wait_until_done() or Graph(error_callback=...)")):
            if len(getattr(config, field)):
                raise self.error(f"{field} (deprecated in MediaPipe) is not supported; use "
                                 f"{instead}")
        executors = self._executors()
        names = self._node_names()
        problems: list[GraphConfigError] = []
        for index, node in enumerate(config.node):
            try:
                self.nodes.append(self._node(index, node, names[index], executors))
            except GraphConfigError as exc:  # keep going: report every broken node at once
                problems.append(exc)
        _raise_all(problems)
        streams, graph_inputs = self._streams(problems)
        _raise_all(problems)
        sides = self._side_packets()
        outputs = list(config.output_stream)
        for entry, spec_text in enumerate(outputs):
            name = self._graph_level_name(spec_text, "output_stream", entry)
            if name not in streams:
                raise self.error(f"graph output stream '{name}' is produced by no node"
                                 + _suggest(name, streams), stream=name,
                                 field="output_stream", entry=entry)
        dag = self._dag(streams, sides)
        max_queue = config.max_queue_size or DEFAULT_MAX_QUEUE_SIZE
        if max_queue < -1:
            raise self.error(f"max_queue_size {max_queue} must be -1 (unbounded) or positive",
                             field="max_queue_size")
        spec = GraphSpec(config=config, nodes=self.nodes, streams=streams,
                         graph_inputs=graph_inputs,
                         graph_outputs=[parse_spec(s).name for s in outputs],
                         side_packet_producers=sides, executors=executors,
                         max_queue_size=max_queue, report_deadlock=config.report_deadlock,
                         source=self.source)
        return spec, dag

    # -- executors ----------------------------------------------------------------------

    def _executors(self) -> dict[str, ExecutorSpec]:
        config = self.config
        cpu = os.cpu_count() or 1
        result = {"": ExecutorSpec("", "ThreadPoolExecutor", config.num_threads or cpu)}
        if config.num_threads < 0:
            raise self.error(f"num_threads {config.num_threads} must be positive",
                             field="num_threads")
        for entry, executor in enumerate(config.executor):
            name = executor.name
            at = {"field": "executor", "entry": entry}
            if name in _RESERVED_EXECUTORS or name.startswith("__"):
                raise self.error(f"executor name '{name}' is reserved", **at)
            if name in result and name != "":
                raise self.error(f"executor '{name}' is declared twice", **at)
            if name == "" and config.num_threads:
                raise self.error("num_threads cannot be combined with a config for the default "
                                 "executor (executor { name: \"\" ... })", **at)
            kind = executor.type or "ThreadPoolExecutor"
            if kind not in ("ThreadPoolExecutor", "ApplicationThreadExecutor"):
                raise self.error(f"executor '{name}' has unknown type '{kind}' "
                                 "(ThreadPoolExecutor or ApplicationThreadExecutor)", **at)
            if kind == "ApplicationThreadExecutor" and name != "":
                raise self.error("ApplicationThreadExecutor can only be the default executor",
                                 **at)
            threads, prefix, nice = cpu, "", 0
            if executor.HasField("options"):
                ext = pool.POOL.FindExtensionByName("mediapipe.ThreadPoolExecutorOptions.ext")
                if executor.options.HasExtension(ext):
                    opts = executor.options.Extensions[ext]
                    threads = opts.num_threads or cpu
                    prefix = opts.thread_name_prefix
                    nice = opts.nice_priority_level
                    if opts.num_threads < 0:
                        raise self.error(f"executor '{name}': num_threads must be positive",
                                         **at)
                    if not -20 <= nice <= 19:
                        raise self.error(f"executor '{name}': nice_priority_level {nice} is "
                                         "outside -20..19", **at)
            if kind == "ApplicationThreadExecutor":
                if nice:
                    raise self.error("ApplicationThreadExecutor runs on the caller's thread: "
                                     "nice_priority_level cannot apply to it", **at)
                threads = 0
            result[name] = ExecutorSpec(name, kind, threads, prefix, nice)
        return result

    # -- nodes ---------------------------------------------------------------------------

    def _node_names(self) -> list[str]:
        names: list[str] = []
        taken: set[str] = {n.name for n in self.config.node if n.name}
        counts: dict[str, int] = {}
        for index, node in enumerate(self.config.node):
            if node.name:
                if node.name in names:
                    raise self.error(f"node name '{node.name}' is used twice", index)
                names.append(node.name)
                continue
            base = node.calculator
            counts[base] = counts.get(base, 0) + 1
            name = base if counts[base] == 1 else f"{base}_{counts[base]}"
            while name in taken:
                counts[base] += 1
                name = f"{base}_{counts[base]}"
            taken.add(name)
            names.append(name)
        return names

    def _node(self, index: int, node: Any, name: str,
              executors: dict[str, ExecutorSpec]) -> NodeSpec:
        label = f"node '{name}' ({node.calculator})"
        try:
            kind, cls = registry.resolve(node.calculator, package=self.config.package,
                                         allow_imports=self.allow, node=name)
        except UnknownCalculatorError as exc:
            origin = self.origins[index]
            exc.node = name
            raise exc.within(f"node '{name}'").located(origin.source, origin.line) from None
        placeholder = NodeSpec(index, name, node.calculator, cls, None, [], [], [], [], "", None,
                               "", 1, 0, 0, self.origins[index])
        self.nodes.append(placeholder)  # so errors below can name the node
        try:
            inputs = self._bind(index, label, cls, node.input_stream, INPUT, "input stream")
            outputs = self._bind(index, label, cls, node.output_stream, OUTPUT, "output stream")
            side_in = self._bind(index, label, cls,
                                 list(node.input_side_packet) + list(node.external_input),
                                 SIDE_INPUT, "input side packet")
            side_out = self._bind(index, label, cls, node.output_side_packet, SIDE_OUTPUT,
                                  "output side packet")
            self._back_edges(index, label, node, inputs)
            options = self._options(index, label, cls, node)
            handler, handler_options = self._handler(index, label, cls, node)
            if node.executor not in executors:
                raise self.error(f"{label} names executor '{node.executor}', which is not "
                                 "declared" + _suggest(node.executor, executors), index)
            if node.max_in_flight < 0:
                raise self.error(f"{label}: max_in_flight must be positive", index)
            if node.buffer_size_hint < 0:
                raise self.error(f"{label}: buffer_size_hint must not be negative", index)
            timeout = node.process_timeout or self.config.process_timeout
            if math.isnan(timeout) or timeout == math.inf:
                raise self.error(f"{label}: process_timeout must be a number of seconds, "
                                 f"not {timeout}", index)
        finally:
            self.nodes.pop()
        return NodeSpec(index=index, name=name, calculator_name=node.calculator, calculator=cls,
                        options=options, inputs=inputs, outputs=outputs, side_inputs=side_in,
                        side_outputs=side_out, handler=handler, handler_options=handler_options,
                        executor=node.executor, max_in_flight=max(1, node.max_in_flight),
                        source_layer=node.source_layer, buffer_size_hint=node.buffer_size_hint,
                        origin=self.origins[index], process_timeout=max(0.0, timeout))

    def _bind(self, index: int, label: str, cls: type, specs: Iterable[str], kind: str,
              what: str) -> list[PortBinding]:
        parsed = []
        for text in specs:
            try:
                parsed.append(parse_spec(text, what=what))
            except GraphConfigError as exc:
                raise self.error(f"{label}: {exc.reason}", index, stream=text) from None
        try:
            keys = assign_indexes(parsed, what=what, node=label)
        except GraphConfigError as exc:
            raise self.error(f"{label}: {exc.reason}", index, stream=exc.stream) from None
        ports = [p for p in cls.ports.values() if p.kind == kind]
        bindings: list[PortBinding] = []
        matched: set[int] = set()
        for slot, (spec, (tag, idx)) in enumerate(zip(parsed, keys)):
            port = next((p for p in ports if p.tag == tag and (p.multiple or p.index == idx)), None)
            if port is None:
                offered = sorted({p.spec() for p in ports})
                spot = f"{tag}:{idx}" if tag else f"untagged index {idx}"
                hint = _suggest(tag, {p.tag for p in ports if p.tag}) if tag else ""
                raise self.error(f"{label} has no {what} {spot} for '{spec.name}'{hint}; "
                                 f"it takes: {', '.join(offered) or 'none'}", index,
                                 stream=spec.name)
            matched.add(id(port))
            bindings.append(PortBinding(slot, port, tag, idx, spec.name))
        for port in ports:
            if not port.optional and id(port) not in matched:
                raise self.error(f"{label}: required {what} {port.spec()} "
                                 f"('{port.attr}') is not connected", index)
        return bindings

    def _back_edges(self, index: int, label: str, node: Any, inputs: list[PortBinding]) -> None:
        for info in node.input_stream_info:
            try:
                tag, idx = parse_tag_index(info.tag_index, node=label)
            except GraphConfigError as exc:
                raise self.error(f"{label}: input_stream_info {exc.reason}", index) from None
            target = next((b for b in inputs if b.tag == tag and b.index == idx), None)
            if target is None:
                raise self.error(f"{label}: input_stream_info tag_index '{info.tag_index}' "
                                 "names no input stream of this node", index)
            target.back_edge = target.back_edge or info.back_edge

    def _options(self, index: int, label: str, cls: type, node: Any) -> Any:
        declared: type[Options] | None = getattr(cls, "Options", None)
        found = None
        try:
            messages = list(node_option_messages(node))
        except OptionsError as exc:
            raise self.error(exc.reason, index, cls=OptionsError) from None
        for message in messages:
            full = message.DESCRIPTOR.full_name
            if declared is not None and full == declared.proto_name:
                found = message
            elif full not in _HANDLER_OPTION_TYPES and declared is not None:
                raise self.error(f"{label} takes options {declared.proto_name}, not {full}", index,
                                 cls=OptionsError)
        if declared is None:
            return None
        try:
            if found is None:
                return declared()
            return declared.from_message(found, node=label)
        except OptionsError as exc:
            raise self.error(f"{label}: {exc.reason}", index, cls=OptionsError) from None
        except (TypeError, ValueError) as exc:
            raise self.error(f"{label}: bad options: {exc}", index, cls=OptionsError) from None

    def _handler(self, index: int, label: str, cls: type, node: Any) -> tuple[str, Any]:
        from mediagraph.stream_handlers import HANDLERS

        if node.HasField("input_stream_handler"):
            config = node.input_stream_handler
        elif getattr(cls, "input_stream_handler", None):
            return cls.input_stream_handler, None
        elif self.config.HasField("input_stream_handler"):
            config = self.config.input_stream_handler
        else:
            return "DefaultInputStreamHandler", None
        name = config.input_stream_handler
        if name not in HANDLERS:
            raise self.error(f"{label}: unknown input stream handler '{name}'"
                             + _suggest(name, HANDLERS), index)
        options = config.options if config.HasField("options") else None
        if name == "FixedSizeInputStreamHandler" and options is not None:
            ext = pool.find_extension("mediapipe.FixedSizeInputStreamHandlerOptions.ext")
            fixed = options.Extensions[ext]
            if not 1 <= fixed.target_queue_size <= fixed.trigger_queue_size:
                raise self.error(f"{label}: FixedSizeInputStreamHandler needs 1 <= "
                                 f"target_queue_size ({fixed.target_queue_size}) <= "
                                 f"trigger_queue_size ({fixed.trigger_queue_size})", index,
                                 cls=OptionsError)
        return name, options

    # -- streams and side packets ---------------------------------------------------------

    def _streams(self, problems: list[GraphConfigError]) -> tuple[dict[str, StreamInfo], list[str]]:
        streams: dict[str, StreamInfo] = {}
        graph_inputs: list[str] = []
        for entry, text in enumerate(self.config.input_stream):
            name = self._graph_level_name(text, "input_stream", entry)
            if name in streams:
                raise self.error(f"graph input stream '{name}' is declared twice", stream=name,
                                 field="input_stream", entry=entry)
            streams[name] = StreamInfo(name, None)
            graph_inputs.append(name)
        for node in self.nodes:
            for b in node.outputs:
                if b.name in streams:
                    other = streams[b.name].producer
                    who = ("the graph input" if other is None
                           else f"node '{self.nodes[other[0]].name}'")
                    raise self.error(f"stream '{b.name}' has two producers: {who} and node "
                                     f"{node.describe()}", node.index, stream=b.name)
                streams[b.name] = StreamInfo(b.name, (node.index, b.slot), type=b.port.type)
        for node in self.nodes:
            for b in node.inputs:
                info = streams.get(b.name)
                if info is None:
                    problems.append(self.error(
                        f"input stream '{b.name}' of node {node.describe()} is produced by no "
                        "node and is not a graph input_stream" + _suggest(b.name, streams),
                        node.index, stream=b.name))
                    continue
                if not compatible(info.type, b.port.type):
                    producer = self.nodes[info.producer[0]] if info.producer else None
                    problems.append(self.error(
                        f"type mismatch on stream '{b.name}': node "
                        f"{producer.describe() if producer else '?'} produces "
                        f"{type_name(info.type)} but node {node.describe()} port "
                        f"'{b.port.attr}' takes {type_name(b.port.type)}", node.index,
                        stream=b.name))
                    continue
                info.consumers.append((node.index, b.slot))
        return streams, graph_inputs

    def _graph_level_name(self, text: str, field: str, entry: int) -> str:
        """The name in the `entry`-th graph `input_stream` or `output_stream`."""
        what = "graph " + field.replace("_", " ")
        try:
            return parse_spec(text, what=what).name
        except GraphConfigError as exc:
            raise self.error(exc.reason, stream=text, field=field, entry=entry) from None

    def _side_packets(self) -> dict[str, tuple[int, int]]:
        producers: dict[str, tuple[int, int]] = {}
        types: dict[str, Any] = {}
        for node in self.nodes:
            for b in node.side_outputs:
                if b.name in producers:
                    other = self.nodes[producers[b.name][0]]
                    raise self.error(f"side packet '{b.name}' has two producers: node "
                                     f"{other.describe()} and node {node.describe()}",
                                     node.index, stream=b.name)
                producers[b.name] = (node.index, b.slot)
                types[b.name] = b.port.type
        for node in self.nodes:
            for b in node.side_inputs:
                if b.name in types and not compatible(types[b.name], b.port.type):
                    raise self.error(f"type mismatch on side packet '{b.name}': produced as "
                                     f"{type_name(types[b.name])}, node {node.describe()} takes "
                                     f"{type_name(b.port.type)}", node.index, stream=b.name)
        return producers

    # -- the DAG -------------------------------------------------------------------------

    def _dag(self, streams: dict[str, StreamInfo],
             sides: dict[str, tuple[int, int]]) -> nx.MultiDiGraph:
        dag = nx.MultiDiGraph()
        for node in self.nodes:
            dag.add_node(node.name, index=node.index, calculator=node.calculator_name,
                         executor=node.executor, source=node.is_source)
        for name in streams:
            if streams[name].producer is None:
                dag.add_node(_input_node(name), index=None, calculator=None, graph_input=True)
        forward = nx.DiGraph()
        forward.add_nodes_from(dag.nodes)
        for info in streams.values():
            producer = (self.nodes[info.producer[0]].name if info.producer
                        else _input_node(info.name))
            for node_index, slot in info.consumers:
                node = self.nodes[node_index]
                back = node.inputs[slot].back_edge
                dag.add_edge(producer, node.name, stream=info.name, back_edge=back, kind="stream")
                if not back:
                    forward.add_edge(producer, node.name, stream=info.name)
        for node in self.nodes:
            for b in node.side_inputs:
                if b.name in sides:
                    producer = self.nodes[sides[b.name][0]].name
                    dag.add_edge(producer, node.name, stream=b.name, back_edge=False, kind="side")
                    forward.add_edge(producer, node.name, stream=b.name)
        try:
            cycle = nx.find_cycle(forward)
        except nx.NetworkXNoCycle:
            cycle = None
        if cycle:
            path = " -> ".join(f"{u} [{forward.edges[u, v]['stream']}]" for u, v in cycle)
            last_v = cycle[-1][1]
            index = dag.nodes[last_v].get("index")
            raise self.error(f"cycle without a back edge: {path} -> {cycle[0][0]}; mark the "
                             "looping input with input_stream_info { tag_index: \"TAG\" "
                             "back_edge: true }", index)
        order = list(nx.topological_sort(forward))
        rank = {name: i for i, name in enumerate(order)}
        by_name = {n.name: n for n in self.nodes}
        for node in self.nodes:
            node.priority = rank[node.name]
            ancestors = nx.ancestors(forward, node.name)
            node.ancestor_sources = frozenset(
                by_name[a].index for a in ancestors if a in by_name and by_name[a].is_source)
            node.ancestor_inputs = frozenset(
                a[len("@input:"):] for a in ancestors if a.startswith("@input:"))
        return dag


def _raise_all(problems: list[GraphConfigError]) -> None:
    """Raise the first problem; with several, it carries them all in `.errors`."""
    if not problems:
        return
    first = problems[0]
    first.errors = list(problems)
    if len(problems) > 1:
        more = "\n".join(f"  also: {p}" for p in problems[1:])
        first.args = (f"{first.args[0]}\n({len(problems) - 1} more error(s))\n{more}",)
    raise first


def _sink_label(node_name: str) -> str:
    """Observers and pollers show as the stream they watch."""
    for kind in ("observer", "poller"):
        prefix = f"__{kind}_"
        if node_name.startswith(prefix):
            return f"{node_name[len(prefix):].partition('_')[2]} ({kind})"
    return node_name


def _input_node(stream: str) -> str:
    return f"@input:{stream}"


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


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
        self.spec, self.dag = validate(self.config, allow_imports=allow_imports,
                                       inference_delegate=inference_delegate)
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

    def poll(self, name: str, observe_timestamp_bounds: bool = False) -> OutputStreamPoller:
        """A poller on stream `name` (set before start_run): `poller.next(timeout=...)`."""
        self._check_stream(name)
        poller = OutputStreamPoller(name)
        self._observers.append((name, poller, observe_timestamp_bounds))
        return poller

    add_output_stream_poller = poll

    def set_max_queue_size(self, stream: str, max_queue_size: int) -> None:
        """Override `max_queue_size` for every queue on `stream` (-1: unbounded)."""
        self._check_stream(stream)
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

    def _check_stream(self, name: str) -> None:
        if name not in self.spec.streams:
            raise KeyError(f"no stream '{name}' in this graph" + _suggest(name, self.spec.streams))

    # -- running ----------------------------------------------------------------------------

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
                  error_callback=self._error_callback, track_latency=self._track_latency)
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
                         ancestor_sources=frozenset(sources), ancestor_inputs=inputs), calc)

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
        import threading

        if threading.current_thread() not in run.alive_threads():
            run.wait_done(timeout)
            self._after_run(run)

    def has_error(self) -> bool:
        return self._run is not None and bool(self._run.errors)

    def get_output_side_packet(self, name: str) -> Any:
        run = self._active_run()
        if name not in run.side_packets:
            raise KeyError(f"no side packet '{name}' has been set"
                           + _suggest(name, run.side_packets))
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
                                   + _suggest(stream, self.spec.graph_inputs))
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
        from mediagraph.profiler import NodeProfile, latency_rows, percentile
        from mediagraph.scheduler import queue_limit

        run = self._active_run()
        rows = []
        with run.lock:
            for node in run.nodes:
                if node.name.startswith("__"):
                    continue
                stats = node.stats
                recent = list(stats.recent)
                peak = max((q.peak for q in node.queues), default=0)
                limit = max((queue_limit(q) for q in node.queues), default=0)
                own = getattr(node.calc, "dropped", 0)  # calculators that drop by policy
                dropped = (sum(q.dropped for q in node.queues)
                           + (own if isinstance(own, int) else 0))
                info = dict(stats.info)
                reported = getattr(node.calc, "profile_info", None)  # e.g. backend, device
                if isinstance(reported, dict):
                    info.update(reported)
                rows.append(NodeProfile(
                    name=node.name, calculator=node.spec.calculator_name, calls=stats.calls,
                    busy_ms=stats.busy_ns / 1e6,
                    mean_us=(stats.busy_ns / stats.calls / 1e3) if stats.calls else 0.0,
                    p50_us=percentile(recent, 0.5) / 1e3, p95_us=percentile(recent, 0.95) / 1e3,
                    queue_peak=peak, queue_limit=limit, dropped=dropped, info=info,
                    inputs=len(node.queues)))
            streams = {name: {"packets": out.packets_sent,
                              "dropped_at_input": run.input_dropped.get(name, 0)}
                       for name, out in run.streams.items()}
            end = run.ended_at or __import__("time").perf_counter()
            latency = latency_rows(run.latency, _sink_label)
        return GraphProfile(rows, streams, end - run.started_at, latency)

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
