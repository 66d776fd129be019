"""Build a `CalculatorGraphConfig` from Python; print it back as `.pbtxt`.

    b = GraphBuilder(max_queue_size=10)
    b.input_stream("frames")
    b.node("FlowLimiterCalculator", inputs=["frames", "FINISHED:done"], outputs=["gated"],
           back_edges=["FINISHED"], options={"max_in_flight": 1})
    b.node(MyDetector, inputs={"IMAGE": "gated"}, outputs={"DETECTIONS": "done"})
    b.output_stream("done")
    graph = mediagraph.Graph(b)          # or b.build(), b.to_text()

Streams are written as in configs ("TAG:index:name", or a {"TAG": name} mapping);
options are an `Options` instance, a dict checked against the calculator's declared
options, or any option protobuf message from mediagraph's pool.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Union

from google.protobuf.message import Message

from mediagraph.config import pool
from mediagraph.config.loader import to_binary, to_text
from mediagraph.config.options_access import set_node_options
from mediagraph.errors import OptionsError

Streams = Union[Iterable[str], Mapping[str, str], None]


class GraphBuilder:
    """Accumulates nodes and graph fields into a config message."""

    def __init__(self, *, num_threads: int = 0, max_queue_size: int = 0,
                 report_deadlock: bool = False, type: str = "",
                 input_stream_handler: str = "") -> None:
        self._config = pool.CalculatorGraphConfig()
        self._config.num_threads = num_threads
        self._config.max_queue_size = max_queue_size
        self._config.report_deadlock = report_deadlock
        self._config.type = type
        if input_stream_handler:
            self._config.input_stream_handler.input_stream_handler = input_stream_handler

    def input_stream(self, spec: str) -> str:
        self._config.input_stream.append(spec)
        return spec.rsplit(":", 1)[-1]

    def output_stream(self, spec: str) -> str:
        self._config.output_stream.append(spec)
        return spec.rsplit(":", 1)[-1]

    def input_side_packet(self, spec: str) -> str:
        self._config.input_side_packet.append(spec)
        return spec.rsplit(":", 1)[-1]

    def output_side_packet(self, spec: str) -> str:
        self._config.output_side_packet.append(spec)
        return spec.rsplit(":", 1)[-1]

    def executor(self, name: str, num_threads: int = 0,
                 type: str = "ThreadPoolExecutor") -> None:
        executor = self._config.executor.add(name=name, type=type)
        if num_threads:
            ext = pool.find_extension("mediapipe.ThreadPoolExecutorOptions.ext")
            executor.options.Extensions[ext].num_threads = num_threads

    def graph_options(self, options: Any) -> None:
        """Default options when this config is used as a subgraph (`type` set)."""
        message = options.to_message() if hasattr(options, "to_message") else options
        self._config.graph_options.add().Pack(message)

    def node(self, calculator: Any, *, inputs: Streams = None, outputs: Streams = None,
             side_inputs: Streams = None, side_outputs: Streams = None, name: str = "",
             options: Any = None, executor: str = "", back_edges: Iterable[str] = (),
             input_stream_handler: str = "", handler_options: Message | None = None,
             max_in_flight: int = 0, source_layer: int = 0, buffer_size_hint: int = 0,
             option_values: Iterable[str] = ()) -> Any:
        """Add a node; `calculator` is a registered name or a Calculator class."""
        calc_name = calculator if isinstance(calculator, str) else (
            getattr(calculator, "registered_name", "") or calculator.__name__)
        node = self._config.node.add(calculator=calc_name, name=name, executor=executor,
                                     max_in_flight=max_in_flight, source_layer=source_layer,
                                     buffer_size_hint=buffer_size_hint)
        node.input_stream.extend(_specs(inputs))
        node.output_stream.extend(_specs(outputs))
        node.input_side_packet.extend(_specs(side_inputs))
        node.output_side_packet.extend(_specs(side_outputs))
        node.option_value.extend(option_values)
        for tag_index in back_edges:
            node.input_stream_info.add(tag_index=tag_index, back_edge=True)
        if input_stream_handler:
            node.input_stream_handler.input_stream_handler = input_stream_handler
            if handler_options is not None:
                node.input_stream_handler.options.CopyFrom(handler_options)
        if options is not None:
            set_node_options(node, _options_message(calculator, calc_name, options))
        return node

    def build(self) -> Any:
        config = pool.CalculatorGraphConfig()
        config.CopyFrom(self._config)
        return config

    def to_text(self) -> str:
        return to_text(self._config)

    def to_binary(self) -> bytes:
        return to_binary(self._config)


def _specs(streams: Streams) -> list[str]:
    if streams is None:
        return []
    if isinstance(streams, str):
        return [streams]
    if isinstance(streams, Mapping):
        return [f"{tag}:{name}" if tag else name for tag, name in streams.items()]
    return list(streams)


def _options_message(calculator: Any, calc_name: str, options: Any) -> Message:
    if isinstance(options, Message):
        return options
    if hasattr(options, "to_message"):
        return options.to_message()
    if isinstance(options, Mapping):
        from mediagraph import registry

        cls = calculator if not isinstance(calculator, str) else registry.find_calculator(calc_name)
        declared = getattr(cls, "Options", None)
        if declared is None:
            raise OptionsError(f"calculator '{calc_name}' declares no options; pass an options "
                               "message instead of a dict", node=calc_name)
        return declared.from_dict(dict(options), node=calc_name).to_message()
    raise TypeError(f"options must be an Options instance, a dict or a protobuf message, not "
                    f"{type(options).__name__}")
