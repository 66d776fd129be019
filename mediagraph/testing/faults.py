"""Fault injection: make any node of a graph fail in a chosen way, and record every
open and close, to test that a run ends cleanly whatever goes wrong.

    graph = mediagraph.Graph(config)
    faults = FaultInjector(graph)                     # records open/close of every node
    faults.inject("decode", Fault("raise", method="process", after_calls=10))
    with pytest.raises(CalculatorError) as info:
        graph.run(...)
    assert info.value.node == "decode"
    assert faults.unclosed() == []                    # close ran on every opened node

Fault kinds (`Fault.kind`):
  raise          raise `InjectedFault` in open/process/close
  wrong_type     replace the payloads of the call's outputs with an `InjectedValue`
                 (caught by the output port's type check: the port must be typed)
  bad_timestamp  send the call's first output packet twice (a non-increasing timestamp)
  hang           block in open/process/close until `release()` or `hang_s` (a node
                 `process_timeout` turns this into a `CalculatorTimeoutError`)

A fault fires once, on the first call of `method` at or after `after_calls` earlier
calls (and `at_timestamp`, when given); output faults wait for a call that sends.
The injector swaps each node's calculator class for a subclass in the validated graph,
so nothing is registered and the config is untouched.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from mediagraph.calculator import CalculatorContext
from mediagraph.packet import Packet
from mediagraph.timestamp import Timestamp

KINDS = ("raise", "wrong_type", "bad_timestamp", "hang")
METHODS = ("open", "process", "close")


class InjectedFault(RuntimeError):
    """The exception a `raise` fault raises."""


class InjectedValue:
    """The payload a `wrong_type` fault sends: no port declares this type."""

    def __repr__(self) -> str:
        return "InjectedValue()"


@dataclass
class Fault:
    kind: str
    method: str = "process"
    after_calls: int = 0
    at_timestamp: int | None = None
    hang_s: float = 60.0
    fired: bool = field(default=False, init=False)
    fired_at: Any = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"fault kind must be one of {KINDS}, not {self.kind!r}")
        if self.method not in METHODS:
            raise ValueError(f"fault method must be one of {METHODS}, not {self.method!r}")
        if self.kind in ("wrong_type", "bad_timestamp") and self.method == "open":
            raise ValueError(f"a {self.kind} fault needs a call that sends: process or close")


class FaultInjector:
    """Wraps every node of `graph` (before `start_run`) to log opens and closes, and
    injects faults into chosen nodes. Thread-safe; one injector per graph."""

    def __init__(self, graph: Any) -> None:
        self.graph = graph
        self._lock = threading.Lock()
        self._release = threading.Event()
        self.opened: list[str] = []
        self.closed: list[str] = []
        self.faults: dict[str, Fault] = {}
        self._calls: dict[tuple[str, str], int] = {}
        for node in graph.spec.nodes:
            node.calculator = self._wrap(node.calculator, node.name)

    def inject(self, node: str, fault: Fault) -> Fault:
        names = [n.name for n in self.graph.spec.nodes]
        if node not in names:
            raise KeyError(f"no node '{node}' in this graph (nodes: {', '.join(names)})")
        if fault.kind == "wrong_type":
            spec = next(n for n in self.graph.spec.nodes if n.name == node)
            from mediagraph.port import runtime_check

            if not any(runtime_check(b.port.type) is not None for b in spec.outputs):
                raise ValueError(f"node '{node}' has no typed output: a wrong_type fault "
                                 "could not be caught there")
        self.faults[node] = fault
        return fault

    def release(self) -> None:
        """Let every hung call return."""
        self._release.set()

    def reset(self) -> None:
        """Forget the logs (fired faults stay fired): for running the same graph again."""
        self._release.clear()
        with self._lock:
            self.opened.clear()
            self.closed.clear()
            self._calls.clear()

    def unclosed(self) -> list[str]:
        """Nodes whose open returned but whose close never ran."""
        with self._lock:
            closed = list(self.closed)
            return [name for name in self.opened if name not in closed]

    # -- wrapping -------------------------------------------------------------------------

    def _wrap(self, cls: type, node: str) -> type:
        injector = self
        base: Any = cls

        class Faulty(base, register=False):  # type: ignore[misc, valid-type]
            def open(self, cc: CalculatorContext) -> None:
                injector._before(node, "open", cc)
                super().open(cc)
                with injector._lock:
                    injector.opened.append(node)

            def process(self, cc: CalculatorContext) -> Any:
                fault = injector._before(node, "process", cc)
                result = super().process(cc)
                if fault is not None:
                    injector._after(fault, cc)
                return result

            def close(self, cc: CalculatorContext) -> None:
                with injector._lock:
                    injector.closed.append(node)
                fault = injector._before(node, "close", cc)
                super().close(cc)
                if fault is not None:
                    injector._after(fault, cc)

        Faulty.__name__ = Faulty.__qualname__ = cls.__name__
        Faulty.registered_name = getattr(cls, "registered_name", cls.__name__)
        return Faulty

    def _before(self, node: str, method: str, cc: CalculatorContext) -> Fault | None:
        """Fire raise/hang faults; return an output fault that is due after the call."""
        fault = self.faults.get(node)
        with self._lock:
            key = (node, method)
            calls = self._calls.get(key, 0)
            self._calls[key] = calls + 1
            if fault is None or fault.fired or fault.method != method or calls < fault.after_calls:
                return None
            ts = cc.input_timestamp
            if fault.at_timestamp is not None and method == "process" and ts < fault.at_timestamp:
                return None
            if fault.kind in ("wrong_type", "bad_timestamp"):
                return fault
            fault.fired = True
            fault.fired_at = Timestamp(ts)
        if fault.kind == "raise":
            raise InjectedFault(f"injected fault in {node}.{method}() at {Timestamp(ts)}")
        self._release.wait(fault.hang_s)  # hang
        return None

    def _after(self, fault: Fault, cc: CalculatorContext) -> None:
        outbuf = cc.take_outputs().packets
        if not outbuf:
            return  # nothing sent this time: stay armed
        with self._lock:
            if fault.fired:
                return
            fault.fired = True
            fault.fired_at = Timestamp(outbuf[0][1][1])
        if fault.kind == "wrong_type":
            outbuf[:] = [(slot, Packet(InjectedValue(), packet[1])) for slot, packet in outbuf]
        else:
            outbuf.append(outbuf[0])


def graph_threads(join_timeout: float = 0.0) -> list[threading.Thread]:
    """Live threads started by mediagraph runs (workers, watchdogs, cleanup helpers),
    after joining each for up to `join_timeout` seconds in all."""
    threads = [t for t in threading.enumerate() if t.name.startswith("mediagraph")]
    deadline = time.monotonic() + join_timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [t for t in threads if t.is_alive()]


__all__ = ["Fault", "FaultInjector", "InjectedFault", "InjectedValue", "KINDS", "METHODS",
           "graph_threads"]
