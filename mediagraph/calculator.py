"""The calculator API: a small class with typed ports and open/process/close.

Guarantees a calculator can rely on (MediaPipe's `calculator_base.h`):

- one instance per run: it is built when the run starts and dropped after `close`;
- `self.options` is set before `open`;
- `open(cc)` runs once, after every input side packet it declares is available;
- `process(cc)` sees strictly increasing input timestamps (the default and sync-set
  input stream handlers), and never runs on two threads at once unless the node's
  `max_in_flight` is above 1;
- `close(cc)` runs once if `open` returned, even when the run fails or is cancelled;
- outputs go out at the input timestamp unless `cc.send(..., timestamp=)` says otherwise.
  With the default `timestamp_offset = 0`, processing timestamp T also tells consumers
  "nothing more below T+1" on every output, so a node that sends nothing at T never
  stalls its consumers. A calculator that sends below its input timestamp (a delay
  line, a buffer flushed later) sets `timestamp_offset = None` and manages its own bounds.

A source (no input streams) has `process` called again and again until it raises
`Stop` or returns `Stop`; it must pass `timestamp=` to `send`.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping, Sequence

from mediagraph import colour
from mediagraph.formats import ImageFormat, ImageFrame
from mediagraph.options import Options
from mediagraph.packet import Packet, _make
from mediagraph.port import (INPUT, OUTPUT, IndexedPort, Input, Output,
                             Port, PortGroup, runtime_check)
from mediagraph.timestamp import Timestamp


_TS_MIN = Timestamp.MIN
_TS_MAX = Timestamp.MAX


class Stop(Exception):
    """Raised (or returned) by a source's `process` to end its output streams.

    Raised by a non-source node, it asks the graph to close every source and
    graph input, ending the run gracefully (MediaPipe's `StatusStop`).

    `raise Stop from error` ends the same way, lets everything downstream finish with
    the packets already sent (a damaged file's good frames still get encoded), and
    then fails the run with `error`, as a CalculatorError naming this node.
    """


class Calculator:
    """Base class of every calculator; subclasses are registered by class name.

    Class attributes a subclass may set:
      Options                  an `Options` subclass (None: takes no options)
      timestamp_offset         0 (default): outputs are never below the input timestamp;
                               None: the calculator manages its own output bounds
      process_timestamp_bounds True: `process` is also called when only input bounds
                               moved (all inputs absent), MediaPipe's SetProcessTimestampBounds
      input_stream_handler     the handler this calculator needs ("ImmediateInputStreamHandler"),
                               unless the node config names one
      groups                   rules over its ports: `(one_of(image, image_cpu),)`

    Every mistake a node's config alone can show is declared, not raised in `open()`, so
    that `validate` (and so `Graph(...)`) rejects it with the file:line before anything
    runs: required ports by not being `optional`, port rules in `groups`, option values in
    `Options.check()`, and rules that need both ports and options (a count of streams
    matching an option) in the `check_config` classmethod. `open()` keeps only what needs
    the run: files, devices, models, side packet values.
    """

    Options: ClassVar[type[Options] | None] = None
    timestamp_offset: ClassVar[int | None] = 0
    process_timestamp_bounds: ClassVar[bool] = False
    input_stream_handler: ClassVar[str | None] = None
    groups: ClassVar[tuple[PortGroup, ...]] = ()
    ports: ClassVar[dict[str, Port]] = {}
    registered_name: ClassVar[str] = ""

    options: Any

    def __init_subclass__(cls, *, register: bool = True, name: str | None = None,
                          **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        ports: dict[str, Port] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                if isinstance(value, Port):
                    ports[attr] = value
        cls.ports = ports
        _check_ports(cls)
        _check_lifecycle(cls)
        if register:
            from mediagraph import registry

            cls.registered_name = name or cls.__name__
            registry.register_calculator(cls.registered_name, cls)

    def open(self, cc: CalculatorContext) -> None:
        """Prepare for the run: load models, read side packets, set side outputs."""

    def process(self, cc: CalculatorContext) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define process(self, cc)")

    def close(self, cc: CalculatorContext) -> None:
        """Release resources; may still send packets (at timestamps above the bound)."""

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        """Raise `ValueError` when the node's wiring and options do not fit together.

        For rules `groups` and `Options.check()` cannot say alone ("one output per
        range", "num_detection_streams DETECTIONS inputs"); `validate` calls it after
        both passed, with a read-only view of the node.
        """

    # -- hooks the framework reads; a calculator overrides those that apply to it --------

    dropped: int = 0
    """Packets this calculator dropped by its own policy (a FlowLimiter letting frames go,
    a microphone whose queue overflowed). The profile adds it to the node's drops counted
    on its input queues, so every loss shows in one column."""

    profile_info: dict[str, Any] | None = None
    """What the profile shows beside the node's counters, set once the calculator knows
    it: an inference node's {"backend": ..., "device": ...}, which can differ from what
    the options asked for."""

    def has_pending_work(self) -> bool:
        """Whether the calculator still holds input that its back-edge inputs will release.

        Asked only once every forward input has ended while a back edge is still open: a
        node in a loop (FlowLimiter, PreviousLoopback) would otherwise be closed with
        packets waiting for the loop to come round. False, the default, closes it then.
        """
        return False


@dataclass(frozen=True)
class NodeConfig:
    """What `Calculator.check_config` sees of one node: its options and its wiring."""

    name: str
    options: Any
    counts: Mapping[Port, int] = field(default_factory=dict)

    def count(self, port: Port) -> int:
        """How many streams or side packets the config connects to `port`."""
        return self.counts.get(port, 0)

    def connected(self, port: Port) -> bool:
        return self.count(port) > 0


def _check_lifecycle(cls: type[Calculator]) -> None:
    """open/process/close are plain methods the scheduler calls: a generator or coroutine
    would be created and dropped without running a line, so it is refused here."""
    for method in ("open", "process", "close"):
        fn = getattr(cls, method)
        kind = ("async def" if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)
                else "a generator (it yields)" if inspect.isgeneratorfunction(fn) else None)
        if kind is not None:
            raise TypeError(f"{cls.__name__}.{method} is {kind}: the scheduler calls it and "
                            "drops the result, so its body would never run; make it a plain "
                            "method that calls cc.send()")


def _check_ports(cls: type[Calculator]) -> None:
    declared = list(cls.ports.values())
    for group in cls.groups:
        if not isinstance(group, PortGroup) or any(p not in declared for p in group.ports):
            raise TypeError(f"{cls.__name__}.groups: {group!r} names ports this calculator "
                            "does not declare (build groups from its port attributes)")
    by_tag: dict[tuple[str, str | None], list[tuple[str, Port]]] = {}
    for attr, port in cls.ports.items():
        if port.tag and not re.fullmatch(r"[A-Z_][A-Z0-9_]*", port.tag):
            raise TypeError(f"{cls.__name__}.{attr}: tag {port.tag!r} must match [A-Z_][A-Z0-9_]*")
        entries = by_tag.setdefault((port.kind, port.tag), [])
        for other_attr, other in entries:
            if port.multiple or other.multiple or other.index == port.index:
                raise TypeError(f"{cls.__name__}: ports '{other_attr}' and '{attr}' both claim "
                                f"{port.kind} {port.spec()}")
        entries.append((attr, port))


class Produced:
    """What one activation of a calculator produced, in the order it was produced.

    `packets`: (output slot, Packet); `bounds`: (output slot, Timestamp) promises;
    `closed`: output slots ended; `sides`: (side output slot, value); `stop`: the
    calculator asked the graph to stop; `extra`: any of the last four is set (packets
    alone is the common case, which the scheduler tells with this one flag). The
    context fills it during the call and the scheduler delivers and empties it after.
    It belongs to its context and is reused; results held past the context's next
    activation are `detach`ed first.
    """

    __slots__ = ("packets", "bounds", "closed", "sides", "stop", "extra")

    def __init__(self) -> None:
        self.packets: list[tuple[int, Packet]] = []
        self.bounds: list[tuple[int, Timestamp]] = []
        self.closed: list[int] = []
        self.sides: list[tuple[int, Any]] = []
        self.stop = False
        self.extra = False

    def detach(self) -> Produced:
        """Move everything into a new Produced and leave this one empty."""
        moved = Produced()
        moved.packets, self.packets = self.packets, moved.packets
        moved.bounds, self.bounds = self.bounds, moved.bounds
        moved.closed, self.closed = self.closed, moved.closed
        moved.sides, self.sides = self.sides, moved.sides
        moved.stop, self.stop = self.stop, False
        moved.extra, self.extra = self.extra, False
        return moved

    def clear(self) -> None:
        """Drop everything (a failed call's outputs are never delivered)."""
        self.packets.clear()
        self.bounds.clear()
        self.closed.clear()
        self.sides.clear()
        self.stop = False
        self.extra = False


_NO_INPUTS: tuple[None, ...] = ()


class CalculatorContext:
    """What a calculator sees during open/process/close.

    `get(port)` is the value at the current timestamp, or None when the input has no
    packet there; `packet(port)` the Packet itself; `send(port, value, timestamp=None)`
    emits at the input timestamp unless one is given. Multiple ports (`Inputs`) read as a
    list, and `port[i]` names one index.

    The scheduler drives a context through two calls of its own: `begin_activation` before
    each call of the calculator, `take_outputs` after it. One context serves one call at
    a time; a node with `max_in_flight` above 1 has one context per call in flight.
    """

    __slots__ = ("node_name", "calculator", "options", "input_timestamp", "_inputs", "_in_slot",
                 "_out_slot", "_side_in", "_side_out_slot", "_produced", "_queues")

    def __init__(self, node_name: str, calculator: Calculator, in_slot: dict[Any, Any],
                 out_slot: dict[Any, Any], side_in: dict[Any, Any],
                 side_out_slot: dict[Any, Any], queues: Sequence[Any] = ()) -> None:
        self.node_name = node_name
        self.calculator = calculator
        self.options = getattr(calculator, "options", None)
        self.input_timestamp: Timestamp = Timestamp.UNSTARTED
        self._inputs: Sequence[Packet | None] = _NO_INPUTS
        self._in_slot = in_slot
        self._out_slot = out_slot
        self._side_in = side_in
        self._side_out_slot = side_out_slot
        self._produced = Produced()
        self._queues = queues  # the node's InputQueues, for `bound`

    # -- the scheduler's interface ------------------------------------------------------

    def begin_activation(self, timestamp: Timestamp,
                         inputs: Sequence[Packet | None] = _NO_INPUTS) -> Produced:
        """Start a call at `timestamp` with `inputs`, a Packet or None per input slot
        (UNSTARTED for open and a source's process, DONE for close). Returns what
        `take_outputs` will: the Produced this call fills."""
        self.input_timestamp = timestamp
        self._inputs = inputs
        return self._produced

    def take_outputs(self) -> Produced:
        """What the call since `begin_activation` produced. The caller delivers it and
        leaves it empty (or `detach`es it) before the context's next activation."""
        return self._produced

    @property
    def inputs(self) -> Sequence[Packet | None]:
        """This activation's input packets by slot (None: absent), as the tracer records
        them; calculators read inputs by port with `get` and `packet`."""
        return self._inputs

    # -- inputs -------------------------------------------------------------------------

    def get(self, port: Port | IndexedPort, default: Any = None) -> Any:
        """The input's value at this timestamp, `default` when absent (list for multiple).

        An image in a format the port does not take arrives converted (`_adapt`)."""
        try:
            slot = self._in_slot[port]
        except KeyError:
            if isinstance(port, Port) and port.optional and port.kind == INPUT:
                return [] if port.multiple else default  # not connected: always absent
            raise self._unknown(port, "input") from None
        if slot.__class__ is int:
            p = self._inputs[slot]
            if p is None:
                return default
            value = p[0]
            return _adapt(port, value) if value.__class__ is ImageFrame else value
        values = []
        for s in slot:
            p = self._inputs[s]
            value = default if p is None else p[0]
            values.append(_adapt(port, value) if value.__class__ is ImageFrame else value)
        return values

    def packet(self, port: Port | IndexedPort) -> Any:
        """The input's Packet at this timestamp, or None (a list for multiple ports);
        an image the port does not take in its format comes converted, as from `get`."""
        try:
            slot = self._in_slot[port]
        except KeyError:
            slot = None
        if slot.__class__ is int:  # the common case, kept short: one stream, one packet
            value = self._inputs[slot]
            if value is None or value[0].__class__ is not ImageFrame:
                return value
            return _adapt_packet(port, value)
        value = self._packet(port)
        if value.__class__ is list:
            return [p if p is None or p[0].__class__ is not ImageFrame else _adapt_packet(port, p)
                    for p in value]
        if value is None or value[0].__class__ is not ImageFrame:
            return value
        return _adapt_packet(port, value)

    def _packet(self, port: Port | IndexedPort) -> Any:
        """The input's Packet as it was sent, or None (a list for multiple ports)."""
        try:
            slot = self._in_slot[port]
        except KeyError:
            if isinstance(port, Port) and port.optional and port.kind == INPUT:
                return [] if port.multiple else None
            raise self._unknown(port, "input") from None
        if slot.__class__ is int:
            return self._inputs[slot]
        return [self._inputs[s] for s in slot]

    def has(self, port: Port | IndexedPort) -> bool:
        """True when the input has a packet at this timestamp."""
        value = self._packet(port)
        return any(p is not None for p in value) if isinstance(value, list) else value is not None

    def count(self, port: Port) -> int:
        """How many streams the config connected to `port` (0 or 1 for single ports)."""
        for table in (self._in_slot, self._out_slot, self._side_in, self._side_out_slot):
            if port in table:
                slot = table[port]
                if isinstance(port, Port) and port.multiple:
                    return len(slot)
                return 1
        return 0

    def connected(self, port: Port | IndexedPort) -> bool:
        return self.count(port) > 0 if isinstance(port, Port) else (
            port in self._in_slot or port in self._out_slot or port in self._side_in
            or port in self._side_out_slot)

    def bound(self, port: Port | IndexedPort) -> Timestamp:
        """The lowest timestamp this input can still deliver to this calculator.

        Packets already queued but not yet delivered count as not delivered, so a
        calculator that settles on bounds (FlowLimiter, PreviousLoopback) never treats
        a queued packet as absent. Safe to call without the run lock: the bound is read
        before the queue, and producers append before they raise the bound.
        """
        try:
            slot = self._in_slot[port]
        except KeyError:
            raise self._unknown(port, "input") from None
        queue = self._queues[slot if slot.__class__ is int else slot[0]]
        bound = queue.bound
        packets = queue.packets
        if packets:
            try:
                return packets[0][1]
            except IndexError:  # drained between the check and the read
                pass
        return Timestamp(bound)

    def side(self, port: Port | IndexedPort, default: Any = None) -> Any:
        """An input side packet's value (`default` when an optional one is not connected)."""
        try:
            value = self._side_in[port]
        except KeyError:
            if isinstance(port, Port) and port.optional:
                return [] if port.multiple else default
            raise self._unknown(port, "input side packet") from None
        return value

    # -- outputs ------------------------------------------------------------------------

    def send(self, port: Port | IndexedPort, value: Any, timestamp: int | None = None) -> None:
        """Emit `value` on `port` at `timestamp` (default: the input timestamp)."""
        try:
            slot = self._out_slot[port]
        except KeyError:
            if isinstance(port, Port) and port.optional and port.kind == OUTPUT:
                return  # an optional output the config left unconnected
            raise self._unknown(port, "output") from None
        if slot.__class__ is not int:
            raise TypeError(f"node '{self.node_name}': send to one index of multiple port "
                            f"'{port.attr}' (e.g. self.{port.attr}[0])")
        if timestamp is None:
            ts = self.input_timestamp
            if not (_TS_MIN <= ts <= _TS_MAX):
                raise ValueError(f"node '{self.node_name}': send() needs timestamp= here "
                                 f"(the input timestamp is {ts})")
        else:
            ts = timestamp if timestamp.__class__ is Timestamp else Timestamp(timestamp)
        self._produced.packets.append((slot, _make(value, ts)))

    def send_packet(self, port: Port | IndexedPort, packet: Packet) -> None:
        """Emit an existing packet (payload and timestamp) unchanged, without a copy."""
        try:
            slot = self._out_slot[port]
        except KeyError:
            slot = None
        if slot.__class__ is not int:
            self.send(port, packet[0], packet[1])  # the general path raises the right error
            return
        self._produced.packets.append((slot, packet))

    def set_next_timestamp_bound(self, port: Port | IndexedPort, timestamp: int) -> None:
        """Promise consumers that `port` will carry nothing below `timestamp`."""
        slot = self._out_slot.get(port)
        if slot is None:
            return
        ts = Timestamp(timestamp)
        for s in (slot,) if slot.__class__ is int else slot:
            self._produced.bounds.append((s, ts))
        self._produced.extra = True

    def close_output(self, port: Port | IndexedPort) -> None:
        """End `port`'s stream now: consumers see it done."""
        slot = self._out_slot.get(port)
        if slot is not None:
            self._produced.closed.extend((slot,) if slot.__class__ is int else slot)
            self._produced.extra = True

    def set_side(self, port: Port | IndexedPort, value: Any) -> None:
        """Set an output side packet (from open, or later for late consumers)."""
        try:
            slot = self._side_out_slot[port]
        except KeyError:
            if isinstance(port, Port) and port.optional:
                return
            raise self._unknown(port, "output side packet") from None
        self._produced.sides.append((slot, value))
        self._produced.extra = True

    def request_stop(self) -> None:
        """Ask the graph to close all sources and graph inputs (graceful early end)."""
        self._produced.stop = True
        self._produced.extra = True

    def _unknown(self, port: Any, what: str) -> Exception:
        name = repr(port.attr if isinstance(port, Port) else port)
        return KeyError(f"node '{self.node_name}' has no connected {what} port {name}")


def _accepted(port: Port | IndexedPort) -> frozenset[ImageFormat] | None:
    """The image formats `port` takes (None: any), worked out once per port."""
    base = port.port if port.__class__ is IndexedPort else port
    try:
        return _ACCEPTED[base]
    except KeyError:
        pass
    accepted = base.formats
    if accepted is None and _takes_images(base.type):
        accepted = colour.INTERLEAVED
    _ACCEPTED[base] = accepted
    return accepted


_ACCEPTED: dict[Port, frozenset[ImageFormat] | None] = {}


def _takes_images(t: Any) -> bool:
    """Whether a port typed `t` declares ImageFrame (alone or in a union), not Any."""
    checked = runtime_check(t)
    classes = checked if isinstance(checked, tuple) else (checked,)
    return any(isinstance(c, type) and issubclass(c, ImageFrame) for c in classes)


def _adapt(port: Port | IndexedPort, frame: ImageFrame) -> ImageFrame:
    accepted = _accepted(port)
    if accepted is None or frame.format in accepted:
        return frame
    return colour.adapt(frame, accepted)


def _adapt_packet(port: Port | IndexedPort, packet: Packet) -> Packet:
    frame = _adapt(port, packet[0])
    return packet if frame is packet[0] else _make(frame, packet[1])


def calculator(fn: Callable[..., Any] | None = None, *, name: str | None = None,
               output: str = "OUTPUT", outputs: tuple[str, ...] | None = None,
               timestamp_offset: int | None = 0) -> Any:
    """Turn a plain function into a registered calculator.

    Positional parameters become inputs tagged by their upper-cased names; keyword-only
    parameters with defaults become options; the return value is sent on `output`
    (or, with `outputs=("A", "B")`, a returned tuple goes to those tags in order).
    Returning None sends nothing. The class is named `name` or the CamelCase function name.

        @calculator
        def scale(image: np.ndarray, *, factor: float = 2.0) -> np.ndarray:
            return image * factor
        # node { calculator: "Scale" input_stream: "IMAGE:in" output_stream: "OUTPUT:out" }
    """
    if fn is None:
        return lambda f: calculator(f, name=name, output=output, outputs=outputs,
                                    timestamp_offset=timestamp_offset)
    sig = inspect.signature(fn)
    hints = _annotations(fn)
    attrs: dict[str, Any] = {"__doc__": fn.__doc__, "__module__": fn.__module__,
                             "__qualname__": fn.__qualname__, "timestamp_offset": timestamp_offset}
    input_names: list[str] = []
    option_fields: dict[str, Any] = {}
    for param in sig.parameters.values():
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            attrs[f"_in_{param.name}"] = Input(hints.get(param.name, Any), tag=param.name.upper(),
                                              optional=param.default is not param.empty)
            input_names.append(param.name)
        elif param.kind == param.KEYWORD_ONLY:
            if param.default is param.empty:
                raise TypeError(f"@calculator {fn.__name__}: keyword-only parameter "
                                f"'{param.name}' needs a default (it becomes an option)")
            option_fields[param.name] = (hints.get(param.name, type(param.default)), param.default)
        else:
            raise TypeError(f"@calculator {fn.__name__}: *args/**kwargs are not supported")
    out_tags = outputs or (output,)
    out_type = hints.get("return", Any)
    out_ports = [Output(out_type if len(out_tags) == 1 else Any, tag=t) for t in out_tags]
    for tag, port in zip(out_tags, out_ports):
        attrs[f"_out_{tag.lower()}"] = port
    class_name = name or "".join(part.title() for part in fn.__name__.split("_"))
    if option_fields:
        attrs["Options"] = type(f"{class_name}Options", (Options,), {
            "__annotations__": {k: t for k, (t, _) in option_fields.items()},
            "__module__": fn.__module__,
            **{k: d for k, (_, d) in option_fields.items()}})
    in_ports = [attrs[f"_in_{n}"] for n in input_names]
    multi = outputs is not None
    option_names = tuple(option_fields)

    def process(self: Calculator, cc: CalculatorContext) -> None:
        args = [cc.get(p) for p in in_ports]
        kwargs = {k: getattr(self.options, k) for k in option_names}
        result = fn(*args, **kwargs)
        if result is None:
            return
        if multi:
            for port, value in zip(out_ports, result):
                if value is not None:
                    cc.send(port, value)
        else:
            cc.send(out_ports[0], result)

    attrs["process"] = process
    cls = type(class_name, (Calculator,), attrs, name=class_name)
    cls.function = staticmethod(fn)
    return cls


def _annotations(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        import typing

        return typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: treat as Any
        return {}
