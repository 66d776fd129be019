"""Typed ports: how a calculator declares its streams and side packets.

Ports are class attributes; the tag comes from the attribute name (`image` ->
`IMAGE`) unless given. `tag=""` declares MediaPipe's untagged form (`"a"`,
`":1:b"`), where the index is the position among untagged entries.

    class Blend(Calculator):
        base = Input(ImageFrame)                 # "BASE:stream"
        layers = Inputs(ImageFrame)              # "LAYERS:0:a", "LAYERS:1:b", ...
        out = Output(ImageFrame, tag="IMAGE")    # "IMAGE:blended"
        model = SideInput(str, optional=True)    # input_side_packet "MODEL:path"
        video = Input(ImageFrame, formats=(ImageFormat.SRGB, ImageFormat.YCBCR420P))

`Inputs`/`Outputs`/`SideInputs` match every index of their tag; `port[i]` names one.

Rules over several ports are declared beside them, as `groups`, and `validate` checks
them before anything runs, so a miswired node fails at load with its file:line:

        image = Input(ImageFrame, optional=True)
        image_cpu = Input(ImageFrame, optional=True)
        groups = (one_of(image, image_cpu),)     # "connect exactly one of IMAGE and IMAGE_CPU"

`one_of` (exactly one connected), `at_least_one`, `at_most_one` and `all_or_none`; the
ports of one group may mix kinds (a stream or a side packet, as `ALLOW` on a gate).

`formats=` lists the image formats an input takes; an input typed ImageFrame that lists
none takes the interleaved ones, and the framework converts planar frames (a decoder's
YUV planes) to SRGB before that calculator reads them (`mediagraph.colour`).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from typing import Any

INPUT, OUTPUT, SIDE_INPUT, SIDE_OUTPUT = "input", "output", "side_input", "side_output"


class Port:
    """A declared port. Subclasses fix its kind; `multiple` ports take any count."""

    kind: str = ""
    multiple: bool = False

    def __init__(self, type_: Any = Any, *, tag: str | None = None, index: int = 0,
                 optional: bool = False, doc: str = "",
                 formats: Iterable[Any] | None = None) -> None:
        self.type = type_
        # The ImageFormats an image input takes; None: the interleaved ones for a port
        # typed ImageFrame (mediagraph.colour converts the rest at the read).
        self.formats: frozenset[Any] | None = None if formats is None else frozenset(formats)
        self.tag = tag
        self.index = index
        self.optional = optional or self.multiple
        self.doc = doc
        self.attr: str = ""
        self._indexed: dict[int, IndexedPort] = {}

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr = name
        if self.tag is None:
            self.tag = name.upper()

    def __getitem__(self, index: int) -> IndexedPort:
        if not self.multiple:
            raise TypeError(f"port '{self.attr}' is a single port; only multiple ports index")
        port = self._indexed.get(index)
        if port is None:
            port = self._indexed[index] = IndexedPort(self, index)
        return port

    def spec(self) -> str:
        """The `TAG:index` this port matches, as written in configs."""
        tag = self.tag or ""
        if self.multiple:
            return f"{tag}:*"
        return f"{tag}:{self.index}" if (self.index or not tag) else tag

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type_name(self.type)}, tag={self.tag!r})"


class IndexedPort:
    """One index of a multiple port: `self.layers[1]`."""

    __slots__ = ("port", "index")

    def __init__(self, port: Port, index: int) -> None:
        self.port = port
        self.index = index

    def __repr__(self) -> str:
        return f"{self.port.attr}[{self.index}]"


class Input(Port):
    kind = INPUT


class Inputs(Port):
    kind = INPUT
    multiple = True


class Output(Port):
    kind = OUTPUT


class Outputs(Port):
    kind = OUTPUT
    multiple = True


class SideInput(Port):
    kind = SIDE_INPUT


class SideInputs(Port):
    kind = SIDE_INPUT
    multiple = True


class SideOutput(Port):
    kind = SIDE_OUTPUT


class SideOutputs(Port):
    kind = SIDE_OUTPUT
    multiple = True


_KIND_WORDS = {INPUT: "input stream", OUTPUT: "output stream", SIDE_INPUT: "input side packet",
               SIDE_OUTPUT: "output side packet"}
_RULES = {
    "one_of": ("exactly one of", lambda n, total: n == 1),
    "at_least_one": ("at least one of", lambda n, total: n >= 1),
    "at_most_one": ("at most one of", lambda n, total: n <= 1),
    "all_or_none": ("all or none of", lambda n, total: n in (0, total)),
}


class PortGroup:
    """A rule on which of a calculator's ports a node connects, checked by `validate`.

    Build one with `one_of`, `at_least_one`, `at_most_one` or `all_or_none`. `message`
    replaces the generated one ("connect exactly one of IMAGE and IMAGE_CPU") where the
    calculator has more to say; the validator adds which ports the node connected.
    """

    __slots__ = ("rule", "ports", "message")

    def __init__(self, rule: str, ports: tuple[Port, ...], message: str | None = None) -> None:
        if rule not in _RULES:
            raise ValueError(f"unknown port group rule {rule!r}; use one of {sorted(_RULES)}")
        if not ports or not all(isinstance(p, Port) for p in ports):
            raise TypeError(f"{rule}() takes ports, got {ports!r}")
        self.rule = rule
        self.ports = ports
        self.message = message

    def problem(self, connected: typing.Callable[[Port], bool]) -> str | None:
        """What is wrong with a node whose connected ports are `connected`, or None."""
        names = self.names()
        on = [name for port, name in zip(self.ports, names) if connected(port)]
        phrase, holds = _RULES[self.rule]
        if holds(len(on), len(self.ports)):
            return None
        message = self.message or f"connect {phrase} {_join(names)}"
        return f"{message} (connected: {', '.join(on) or 'none'})"

    def names(self) -> list[str]:
        """How the message names each port: its tag, with its kind when the kinds mix."""
        mixed = len({p.kind for p in self.ports}) > 1
        return [f"{p.tag or 'untagged'}" + (f" ({_KIND_WORDS[p.kind]})" if mixed else "")
                for p in self.ports]

    def __repr__(self) -> str:
        return f"{self.rule}({', '.join(p.attr for p in self.ports)})"


def one_of(*ports: Port, message: str | None = None) -> PortGroup:
    """Exactly one of `ports` must be connected."""
    return PortGroup("one_of", ports, message)


def at_least_one(*ports: Port, message: str | None = None) -> PortGroup:
    """One or more of `ports` must be connected."""
    return PortGroup("at_least_one", ports, message)


def at_most_one(*ports: Port, message: str | None = None) -> PortGroup:
    """No more than one of `ports` may be connected."""
    return PortGroup("at_most_one", ports, message)


def all_or_none(*ports: Port, message: str | None = None) -> PortGroup:
    """`ports` go together: connect every one of them or none."""
    return PortGroup("all_or_none", ports, message)


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def type_name(t: Any) -> str:
    if t is Any:
        return "Any"
    return getattr(t, "__name__", None) or repr(t)


def _alternatives(t: Any) -> tuple[Any, ...]:
    origin = typing.get_origin(t)
    if origin is typing.Union or isinstance(t, types.UnionType):
        return typing.get_args(t)
    return (t,)


def _runtime_class(t: Any) -> Any:
    origin = typing.get_origin(t)
    return origin if origin is not None else t


def compatible(produced: Any, consumed: Any) -> bool:
    """Whether packets of type `produced` may flow into a port that takes `consumed`."""
    if produced in (Any, object) or consumed in (Any, object):
        return True
    for p in _alternatives(produced):
        p = _runtime_class(p)
        ok = False
        for c in _alternatives(consumed):
            c = _runtime_class(c)
            if c in (Any, object) or p in (Any, object):
                ok = True
            elif isinstance(p, type) and isinstance(c, type):
                ok = issubclass(p, c) or (c is float and p is int) or (c is complex and p in (int, float))
            else:
                ok = p == c
            if ok:
                break
        if not ok:
            return False
    return True


def runtime_check(t: Any) -> type | tuple[type, ...] | None:
    """What `isinstance` checks a value sent on a port declared `t` against (None: anything).

    Generics check their container (`list[Detection]` -> list); numbers accept numpy's
    scalars (`float` takes any real, `int` any integral); `Path` takes str too.
    """
    import numbers
    import os

    from mediagraph.timestamp import Timestamp

    classes: list[type] = []
    for alt in _alternatives(t):
        cls = _runtime_class(alt)
        if cls in (Any, object) or not isinstance(cls, type):
            return None  # Any, TypeVars, forward references: nothing to check
        if cls is float:
            classes.append(numbers.Real)
        elif cls is int or cls is Timestamp:
            classes.append(numbers.Integral)
        elif cls is complex:
            classes.append(numbers.Complex)
        elif cls is bool:
            classes.extend((bool, _numpy_bool()))
        elif issubclass(cls, os.PathLike):
            classes.extend((str, os.PathLike))
        else:
            classes.append(cls)
    return classes[0] if len(classes) == 1 else tuple(classes)


def _numpy_bool() -> type:
    import numpy as np

    return np.bool_
