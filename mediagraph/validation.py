"""Validation: a config checked and bound into the plan the scheduler runs.

`validate()` expands subgraphs, binds every node to its calculator class and ports,
checks every rule (wiring, types, options, executors, cycles, and what each calculator
declares: required ports, port `groups`, `Options.check()`, `check_config`) and raises
`GraphConfigError` naming the file:line, node and stream, every broken node at once;
nothing is logged-and-continued. It returns a `GraphSpec` (the dataclasses below, all
the scheduler needs) and the graph's `Topology`, whose `to_networkx()` builds the
networkx DAG (`Graph.dag`) on demand: this is the only module that imports networkx, and
only there. The checks themselves (topological order, cycles, loops) are the few lines
below, so that building and running a graph never loads networkx's hundreds of modules
(the process's memory and start-up time; bench_face_detection.py measures the first).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Iterable

from mediagraph import registry
from mediagraph.calculator import Calculator, NodeConfig
from mediagraph.config import pool
from mediagraph.config.loader import SourceInfo, source_info
from mediagraph.config.names import assign_indexes, parse_spec, parse_tag_index
from mediagraph.config.options_access import node_option_messages
from mediagraph.config.subgraph import NodeOrigin, expand
from mediagraph.errors import GraphConfigError, OptionsError, UnknownCalculatorError
from mediagraph.options import Options
from mediagraph.port import INPUT, OUTPUT, SIDE_INPUT, SIDE_OUTPUT, Port, compatible, type_name

if TYPE_CHECKING:
    import networkx as nx

DEFAULT_MAX_QUEUE_SIZE = 100
MAX_THREADS = 1024  # per executor, and a node's max_in_flight: beyond, a typo, not a plan
MAX_PROCESS_TIMEOUT_S = 86_400.0  # the watchdog's limit x10 for open/close must stay a timeout
_RESERVED_EXECUTORS = ("default", "gpu")
_HANDLER_OPTION_TYPES = {
    "mediapipe.DefaultInputStreamHandlerOptions", "mediapipe.FixedSizeInputStreamHandlerOptions",
    "mediapipe.SyncSetInputStreamHandlerOptions",
    "mediapipe.TimestampAlignInputStreamHandlerOptions", "mediapipe.ThreadPoolExecutorOptions",
}


@dataclass
class PortBinding:
    """One config entry bound to a port: `TAG:index:name` -> slot."""

    slot: int
    port: Port
    tag: str
    index: int
    name: str
    back_edge: bool = False


@dataclass
class NodeSpec:
    index: int
    name: str
    calculator_name: str
    calculator: type
    options: Any
    inputs: list[PortBinding]
    outputs: list[PortBinding]
    side_inputs: list[PortBinding]
    side_outputs: list[PortBinding]
    handler: str
    handler_options: Any
    executor: str
    max_in_flight: int
    source_layer: int
    buffer_size_hint: int
    origin: NodeOrigin
    priority: int = 0
    ancestor_sources: frozenset[int] = frozenset()
    ancestor_inputs: frozenset[str] = frozenset()
    process_timeout: float = 0.0  # seconds; 0: no watchdog

    @property
    def is_source(self) -> bool:
        return not self.inputs

    def describe(self) -> str:
        return f"'{self.name}' ({self.calculator_name})"

    def slot_maps(self) -> tuple[dict[Any, Any], dict[Any, Any], dict[Any, Any]]:
        """Port -> slot maps for inputs, outputs and side outputs (multiple -> tuple)."""
        return (_slot_map(self.inputs), _slot_map(self.outputs), _slot_map(self.side_outputs))


def _slot_map(bindings: list[PortBinding]) -> dict[Any, Any]:
    table: dict[Any, Any] = {}
    grouped: dict[Port, list[tuple[int, int]]] = {}
    for b in bindings:
        if b.port.multiple:
            grouped.setdefault(b.port, []).append((b.index, b.slot))
            table[b.port[b.index]] = b.slot
        else:
            table[b.port] = b.slot
    for port, items in grouped.items():
        table[port] = tuple(slot for _, slot in sorted(items))
    return table


@dataclass
class StreamInfo:
    name: str
    producer: tuple[int, int] | None  # (node index, output slot); None: a graph input
    consumers: list[tuple[int, int]] = field(default_factory=list)  # (node index, input slot)
    type: Any = Any


@dataclass
class ExecutorSpec:
    name: str
    type: str
    num_threads: int
    thread_name_prefix: str = ""
    nice: int = 0  # ThreadPoolExecutorOptions.nice_priority_level: added to the threads' nice


@dataclass
class GraphSpec:
    """Everything the scheduler needs, computed once at validation."""

    config: Any
    nodes: list[NodeSpec]
    streams: dict[str, StreamInfo]
    graph_inputs: list[str]
    graph_outputs: list[str]
    side_packet_producers: dict[str, tuple[int, int]]
    executors: dict[str, ExecutorSpec]
    max_queue_size: int
    report_deadlock: bool
    source: str | None = None


@dataclass(frozen=True)
class Topology:
    """The validated graph's nodes and edges, in the order validation met them.

    `nodes`: (name, attributes) for each calculator (index, calculator, executor, source)
    and each graph input (`@input:NAME`: index None, calculator None, graph_input True).
    `edges`: (producer, consumer, attributes) for each stream a node reads (stream,
    back_edge, kind "stream") and each side packet one node gives another (kind "side").
    """

    nodes: tuple[tuple[str, dict[str, Any]], ...]
    edges: tuple[tuple[str, str, dict[str, Any]], ...]

    def to_networkx(self) -> nx.MultiDiGraph:
        """A networkx MultiDiGraph of these nodes and edges (imports networkx)."""
        import networkx as nx

        dag = nx.MultiDiGraph()
        dag.add_nodes_from(self.nodes)
        for producer, consumer, attributes in self.edges:
            dag.add_edge(producer, consumer, **attributes)
        return dag


def validate(config: Any, *, allow_imports: Iterable[str] = (),
             inference_delegate: str | None = None) -> tuple[GraphSpec, Topology]:
    """Expand subgraphs and check every rule; return the run plan and its topology.

    `inference_delegate` ("cpu", "gpu", "dsp", "auto", ...) is handed, after expansion, to
    the config rewrite registered under that name (mediagraph's inference calculators
    register one that sets the delegate of every InferenceCalculator).
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
        rewrite = registry.find_rewrite("inference_delegate")
        if rewrite is None:
            raise GraphConfigError("inference_delegate needs an installed package that "
                                   "rewrites inference nodes (mediagraph's own calculators "
                                   "register one); none is installed", source=source)
        rewrite(expanded, inference_delegate, source=source)
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

    def run(self) -> tuple[GraphSpec, Topology]:
        config = self.config
        for deprecated, instead in (("packet_generator", "a node that sets output side packets "
                                "in open()"), ("packet_factory", "input side packets given to "
                                "start_run()"), ("status_handler", "the error raised by "
                                "wait_until_done() or Graph(error_callback=...)")):
            if len(getattr(config, deprecated)):
                raise self.error(f"{deprecated} (deprecated in MediaPipe) is not supported; use "
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
                                 + suggest(name, streams), stream=name,
                                 field="output_stream", entry=entry)
        topology = self._topology(streams, sides)
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
        return spec, topology

    # -- executors ----------------------------------------------------------------------

    def _executors(self) -> dict[str, ExecutorSpec]:
        config = self.config
        cpu = os.cpu_count() or 1
        result = {"": ExecutorSpec("", "ThreadPoolExecutor", config.num_threads or cpu)}
        if not 0 <= config.num_threads <= MAX_THREADS:
            raise self.error(f"num_threads {config.num_threads} must be 1..{MAX_THREADS} "
                             "(0 or unset: one per CPU)", field="num_threads")
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
                    if not 0 <= opts.num_threads <= MAX_THREADS:
                        raise self.error(f"executor '{name}': num_threads {opts.num_threads} "
                                         f"must be 1..{MAX_THREADS}", **at)
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
        seen: set[str] = set()
        taken: set[str] = {n.name for n in self.config.node if n.name}
        counts: dict[str, int] = {}
        for index, node in enumerate(self.config.node):
            if node.name:
                if node.name in seen:
                    raise self.error(f"node name '{node.name}' is used twice", index)
                seen.add(node.name)
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
        if not (isinstance(cls, type) and issubclass(cls, Calculator)):
            origin = self.origins[index]
            raise UnknownCalculatorError(f"'{node.calculator}' is not a Calculator subclass",
                                         node=name).located(origin.source, origin.line)
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
            self._rules(index, label, name, cls, options, inputs + outputs + side_in + side_out)
            handler, handler_options = self._handler(index, label, cls, node)
            if node.executor not in executors:
                raise self.error(f"{label} names executor '{node.executor}', which is not "
                                 "declared" + suggest(node.executor, executors), index)
            if not 0 <= node.max_in_flight <= MAX_THREADS:
                raise self.error(f"{label}: max_in_flight {node.max_in_flight} must be "
                                 f"1..{MAX_THREADS}", index)
            if node.buffer_size_hint < 0:
                raise self.error(f"{label}: buffer_size_hint must not be negative", index)
            timeout = node.process_timeout or self.config.process_timeout
            if not 0 <= timeout <= MAX_PROCESS_TIMEOUT_S:  # NaN fails too
                raise self.error(f"{label}: process_timeout must be 0 (off) to "
                                 f"{MAX_PROCESS_TIMEOUT_S:g} seconds, not {timeout:g}", index)
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
                hint = suggest(tag, {p.tag for p in ports if p.tag}) if tag else ""
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
            options = declared() if found is None else declared.from_message(found, node=label)
        except OptionsError as exc:
            raise self.error(f"{label}: {exc.reason}", index, cls=OptionsError) from None
        except (TypeError, ValueError) as exc:
            raise self.error(f"{label}: bad options: {exc}", index, cls=OptionsError) from None
        try:
            options.check()
        except OptionsError as exc:
            raise self.error(f"{label}: {exc.reason}", index, cls=OptionsError) from None
        except ValueError as exc:
            raise self.error(f"{label}: {exc}", index, cls=OptionsError) from None
        return options

    def _rules(self, index: int, label: str, name: str, cls: type[Calculator], options: Any,
               bindings: list[PortBinding]) -> None:
        """The calculator's port groups, then its `check_config` on wiring and options."""
        counts: dict[Port, int] = {}
        for b in bindings:
            counts[b.port] = counts.get(b.port, 0) + 1
        for group in cls.groups:
            problem = group.problem(lambda port: port in counts)
            if problem is not None:
                raise self.error(f"{label}: {problem}", index)
        try:
            cls.check_config(NodeConfig(name, options, MappingProxyType(counts)))
        except GraphConfigError as exc:
            raise self.error(f"{label}: {exc.reason}", index, cls=type(exc)) from None
        except ValueError as exc:
            raise self.error(f"{label}: {exc}", index) from None

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
                             + suggest(name, HANDLERS), index)
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
                        "node and is not a graph input_stream" + suggest(b.name, streams),
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

    def _topology(self, streams: dict[str, StreamInfo],
                  sides: dict[str, tuple[int, int]]) -> Topology:
        nodes: list[tuple[str, dict[str, Any]]] = [
            (node.name, {"index": node.index, "calculator": node.calculator_name,
                         "executor": node.executor, "source": node.is_source})
            for node in self.nodes]
        nodes += [(_input_node(name), {"index": None, "calculator": None, "graph_input": True})
                  for name in streams if streams[name].producer is None]
        edges: list[tuple[str, str, dict[str, Any]]] = []
        # forward[u][v]: the (last) stream from u to v that is not a back edge; every[u]:
        # every node u feeds. Dicts keep insertion order, so the order below is the order
        # in which the edges were met.
        forward: dict[str, dict[str, str]] = {name: {} for name, _ in nodes}
        every: dict[str, dict[str, None]] = {name: {} for name, _ in nodes}
        for info in streams.values():
            producer = (self.nodes[info.producer[0]].name if info.producer
                        else _input_node(info.name))
            for node_index, slot in info.consumers:
                node = self.nodes[node_index]
                back = node.inputs[slot].back_edge
                edges.append((producer, node.name,
                              {"stream": info.name, "back_edge": back, "kind": "stream"}))
                every[producer][node.name] = None
                if not back:
                    forward[producer][node.name] = info.name
        for node in self.nodes:
            for b in node.side_inputs:
                if b.name in sides:
                    producer = self.nodes[sides[b.name][0]].name
                    edges.append((producer, node.name,
                                  {"stream": b.name, "back_edge": False, "kind": "side"}))
                    every[producer][node.name] = None
                    forward[producer][node.name] = b.name
        order = _topological_order(forward)
        if order is None:
            cycle = _find_cycle(forward)
            path = " -> ".join(f"{u} [{forward[u][v]}]" for u, v in cycle)
            index = dict(nodes)[cycle[-1][1]].get("index")
            raise self.error(f"cycle without a back edge: {path} -> {cycle[0][0]}; mark the "
                             "looping input with input_stream_info { tag_index: \"TAG\" "
                             "back_edge: true }", index)
        predecessors: dict[str, list[str]] = {name: [] for name in forward}
        for u, successors in forward.items():
            for v in successors:
                predecessors[v].append(u)
        by_name = {n.name: n for n in self.nodes}
        # The sources and graph inputs upstream of each node, in one pass in topological
        # order (a node's are its predecessors', plus the predecessors themselves), so a
        # long chain validates in linear time; a set that adds nothing is shared.
        sources: dict[str, frozenset[int]] = {}
        inputs: dict[str, frozenset[str]] = {}
        empty_i: frozenset[int] = frozenset()
        empty_s: frozenset[str] = frozenset()
        for rank, name in enumerate(order):
            node = by_name.get(name)
            if node is not None:
                node.priority = rank
            up_sources, up_inputs = empty_i, empty_s
            for pred in predecessors[name]:
                pred_node = by_name.get(pred)
                more_s = sources[pred] | ({pred_node.index} if pred_node is not None
                                          and pred_node.is_source else empty_i)
                more_i = inputs[pred] | ({pred[len("@input:"):]} if pred_node is None
                                         else empty_s)
                up_sources = more_s if not up_sources else up_sources | more_s
                up_inputs = more_i if not up_inputs else up_inputs | more_i
            sources[name], inputs[name] = up_sources, up_inputs
            if node is not None:
                node.ancestor_sources, node.ancestor_inputs = up_sources, up_inputs
        # Nodes on a loop (a cycle closed by a back edge: tracking's previous ROI) rank
        # above every other node. The loop takes one timestamp at a time, so it bounds the
        # graph's throughput; whatever hangs off it (drawing, world landmarks, the mask)
        # overlaps the loop's next turn instead of delaying it.
        boost = len(order)
        for name in _on_cycles(every):
            if name in by_name:
                by_name[name].priority += boost
        return Topology(tuple(nodes), tuple(edges))


def _topological_order(successors: dict[str, dict[str, Any]]) -> list[str] | None:
    """The nodes in topological order, None if there is a cycle.

    Kahn's algorithm by generations, visiting nodes and successors in insertion order:
    the same order as networkx's `topological_sort`, which chose each node's `priority`
    before this replaced it (a test holds the two equal).
    """
    indegree = dict.fromkeys(successors, 0)
    for targets in successors.values():
        for v in targets:
            indegree[v] += 1
    generation = [v for v, d in indegree.items() if d == 0]
    order: list[str] = []
    while generation:
        order += generation
        following = []
        for u in generation:
            for v in successors[u]:
                indegree[v] -= 1
                if indegree[v] == 0:
                    following.append(v)
        generation = following
    return order if len(order) == len(indegree) else None


def _find_cycle(successors: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """The edges of one cycle, from the node it closes on (depth first, in insertion
    order, as networkx's `find_cycle`); [] if there is none."""
    done: set[str] = set()
    for start in successors:
        if start in done:
            continue
        path, on_path = [start], {start}
        stack = [iter(successors[start])]
        while stack:
            v = next(stack[-1], None)
            if v is None:  # every edge out of path[-1] followed: no cycle through it
                done.add(path[-1])
                on_path.remove(path.pop())
                stack.pop()
            elif v in on_path:
                cycle = path[path.index(v):] + [v]
                return list(zip(cycle, cycle[1:]))
            elif v not in done:
                path.append(v)
                on_path.add(v)
                stack.append(iter(successors[v]))
    return []


def _on_cycles(successors: dict[str, dict[str, Any]]) -> set[str]:
    """The nodes in a strongly connected component of more than one node (Tarjan's
    algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[str] = set()
    for root in successors:
        if root in index:
            continue
        work = [(root, iter(successors[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            u, targets = work[-1]
            v = next(targets, None)
            if v is not None:
                if v not in index:
                    index[v] = low[v] = len(index)
                    stack.append(v)
                    on_stack.add(v)
                    work.append((v, iter(successors[v])))
                elif v in on_stack:
                    low[u] = min(low[u], index[v])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[u])
            if low[u] == index[u]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == u:
                        break
                if len(component) > 1:
                    found.update(component)
    return found


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


def _input_node(stream: str) -> str:
    return f"@input:{stream}"


def suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
