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
