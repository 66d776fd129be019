"""The validated form of a config: nodes bound to calculator classes and ports.

`validate()` (in `mediagraph.graph`) produces these; the scheduler runs from them.
Kept free of networkx so the run-time path imports only what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mediagraph.config.subgraph import NodeOrigin
from mediagraph.port import Port


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
