"""Test helpers: run one calculator on packets (MediaPipe's `CalculatorRunner`).

    runner = CalculatorRunner("PassThroughCalculator")
    out = runner.run({"": [(1, 0), (2, 1)]})          # {"": [Packet(1, 0), Packet(2, 1)]}

Keys name ports as configs do: "TAG" (index 0), "TAG:2", "" or ":1" for untagged ones.
`FaultInjector` (from `mediagraph.testing.faults`) makes nodes of a graph fail on purpose.

Outputs default to every single output port; a multiple output port gets as many
indexes as the input port with the same tag got (one when no input port has its tag);
pass `outputs=[...]` to choose.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from mediagraph import registry
from mediagraph.config.builder import GraphBuilder
from mediagraph.errors import UnknownCalculatorError
from mediagraph.testing.faults import Fault, FaultInjector, InjectedFault, InjectedValue, graph_threads
from mediagraph.graph import Graph
from mediagraph.packet import Packet
from mediagraph.port import INPUT, OUTPUT, SIDE_OUTPUT


def _key(text: str) -> tuple[str, int]:
    tag, _, index = text.partition(":")
    return tag, int(index) if index else 0


def _label(tag: str, index: int) -> str:
    if not tag:
        return "" if index == 0 else f":{index}"
    return tag if index == 0 else f"{tag}:{index}"


def _stream(prefix: str, tag: str, index: int) -> str:
    return f"{prefix}_{tag.lower() or 'untagged'}_{index}"


def _spec(tag: str, index: int, name: str) -> str:
    return f"{tag}:{index}:{name}" if tag else (f":{index}:{name}" if index else name)


class CalculatorRunner:
    """Wires one calculator between graph inputs and observers, and runs it."""

    def __init__(self, calculator: Any, *, options: Any = None,
                 outputs: Iterable[str] | None = None, side_outputs: Iterable[str] | None = None,
                 input_stream_handler: str = "", handler_options: Any = None,
                 max_in_flight: int = 0, max_queue_size: int = 0,
                 back_edges: Iterable[str] = ()) -> None:
        if isinstance(calculator, str):
            cls = registry.find_calculator(calculator)
            if cls is None:
                raise UnknownCalculatorError(f"unknown calculator '{calculator}'")
        else:
            cls = calculator
        self.calculator = cls
        self.options = options
        self.output_keys = [_key(k) for k in outputs] if outputs is not None else None
        self.side_output_keys = [_key(k) for k in side_outputs] if side_outputs is not None else None
        self.input_stream_handler = input_stream_handler
        self.handler_options = handler_options
        self.max_in_flight = max_in_flight
        self.max_queue_size = max_queue_size
        self.back_edges = list(back_edges)
        self.graph: Graph | None = None
        self.output_side_packets: dict[str, Any] = {}

    def _default_outputs(self, input_keys: list[tuple[str, int]], kind: str) -> list[tuple[str, int]]:
        keys: list[tuple[str, int]] = []
        for port in self.calculator.ports.values():
            if port.kind != kind:
                continue
            if port.multiple:
                paired = any(p.kind == INPUT and p.tag == port.tag
                             for p in self.calculator.ports.values())
                count = sum(1 for tag, _ in input_keys if tag == port.tag)
                keys.extend((port.tag or "", i) for i in range(count if paired else 1))
            else:
                keys.append((port.tag or "", port.index))
        return keys

    def run(self, inputs: Mapping[str, Iterable[Any]] | None = None,
            side_packets: Mapping[str, Any] | None = None, *,
            timeout: float = 30.0) -> dict[str, list[Packet]]:
        """Run once; returns {output key: [Packet, ...]}. Raises what the run raised."""
        inputs = dict(inputs or {})
        side_packets = dict(side_packets or {})
        input_keys = [_key(k) for k in inputs]
        output_keys = self.output_keys or self._default_outputs(input_keys, OUTPUT)
        side_out_keys = (self.side_output_keys if self.side_output_keys is not None
                         else self._default_outputs([], SIDE_OUTPUT))
        b = GraphBuilder(max_queue_size=self.max_queue_size)
        in_specs = []
        for tag, index in input_keys:
            name = _stream("in", tag, index)
            b.input_stream(name)
            in_specs.append(_spec(tag, index, name))
        out_specs = [_spec(t, i, _stream("out", t, i)) for t, i in output_keys]
        side_in_specs = []
        side_values: dict[str, Any] = {}
        for key, value in side_packets.items():
            tag, index = _key(key)
            name = _stream("side", tag, index)
            side_in_specs.append(_spec(tag, index, name))
            side_values[name] = value
        side_out_specs = [_spec(t, i, _stream("side_out", t, i)) for t, i in side_out_keys]
        b.node(self.calculator, inputs=in_specs, outputs=out_specs, side_inputs=side_in_specs,
               side_outputs=side_out_specs, options=self.options,
               input_stream_handler=self.input_stream_handler,
               handler_options=self.handler_options, max_in_flight=self.max_in_flight,
               back_edges=self.back_edges, name="under_test")
        self.graph = Graph(b.build())
        feeds = {_stream("in", t, i): list(v) for (t, i), v in zip(input_keys, inputs.values())}
        names = [_stream("out", t, i) for t, i in output_keys]
        result = self.graph.run(feeds, side_values, outputs=names, timeout=timeout)
        self.output_side_packets = {}
        run = self.graph._run
        for t, i in side_out_keys:
            name = _stream("side_out", t, i)
            if name in run.side_packets:
                self.output_side_packets[_label(t, i)] = run.side_packets[name]
        return {_label(t, i): result[_stream("out", t, i)] for t, i in output_keys}

    def profile(self) -> Any:
        assert self.graph is not None, "run() first"
        return self.graph.profile()


def values(packets: Iterable[Packet]) -> list[Any]:
    """The payloads of `packets`, for compact assertions."""
    return [p.value for p in packets]


def timestamps(packets: Iterable[Packet]) -> list[int]:
    return [int(p.timestamp) for p in packets]


__all__ = ["CalculatorRunner", "Fault", "FaultInjector", "InjectedFault", "InjectedValue",
           "graph_threads", "timestamps", "values"]
