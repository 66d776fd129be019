"""Calculator options declared in Python, settable from `.pbtxt` in protobuf syntax.

A calculator's options are a frozen, keyword-only dataclass. Subclassing `Options`
also builds a protobuf message for it in mediagraph's private pool, with an
extension of `mediapipe.CalculatorOptions`, so configs can set it both ways:

    options { [mediapipe.FlowLimiterCalculatorOptions.ext] { max_in_flight: 2 } }
    node_options { [type.googleapis.com/mediapipe.FlowLimiterCalculatorOptions] { ... } }

    class FlowLimiterCalculatorOptions(Options, proto_name="mediapipe.FlowLimiterCalculatorOptions",
                                       extension=326963320):
        max_in_flight: int = option(1, default=1)
        in_flight_timeout: int = option(3, default=0, proto="int64")
        note: str = ""                      # numbered after the highest given number

Rules between values go in `check(self)`, which `validate` calls on every node's options
before the run starts, so a bad value fails at load with the node's file:line:

        def check(self) -> None:
            if self.max_in_flight < 1:
                raise ValueError(f"max_in_flight must be at least 1, got {self.max_in_flight}")

Field numbers and the extension number default sensibly; give MediaPipe's where the
calculator does MediaPipe's job, so its configs (text and binary) load unchanged.
Supported field types: bool, int, float, str, bytes, IntEnum subclasses, nested
`Options` subclasses, and `tuple[T, ...]` / `list[T]` for repeated fields.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
import zlib
from typing import Any, ClassVar

from google.protobuf import descriptor_pb2
from google.protobuf.message import Message

from mediagraph.config import pool
from mediagraph.errors import OptionsError

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS: dict[str, int] = {
    "bool": _F.TYPE_BOOL, "int32": _F.TYPE_INT32, "int64": _F.TYPE_INT64,
    "uint32": _F.TYPE_UINT32, "uint64": _F.TYPE_UINT64, "sint32": _F.TYPE_SINT32,
    "sint64": _F.TYPE_SINT64, "float": _F.TYPE_FLOAT, "double": _F.TYPE_DOUBLE,
    "string": _F.TYPE_STRING, "bytes": _F.TYPE_BYTES,
}
_DEFAULT_PROTO = {bool: "bool", int: "int32", float: "float", str: "string", bytes: "bytes"}
_EXTENSION_RANGE = (400_000_000, 536_870_000)  # for names without a given number
_by_extension: dict[int, str] = {}


def option(number: int | None = None, *, default: Any = dataclasses.MISSING,
           proto: str | None = None, doc: str = "") -> Any:
    """A field with an explicit protobuf field number and/or scalar type ("int64", "double")."""
    if proto is not None and proto not in _SCALARS:
        raise ValueError(f"unknown proto scalar type {proto!r}; use one of {sorted(_SCALARS)}")
    if isinstance(default, list):
        default = tuple(default)
    return dataclasses.field(default=default,
                             metadata={"number": number, "proto": proto, "doc": doc})


class Options:
    """Base class of declared calculator options (see the module docstring)."""

    proto_name: ClassVar[str]
    extension_number: ClassVar[int]
    _message_class: ClassVar[type[Message]]
    _fields: ClassVar[tuple[_FieldSpec, ...]]

    def __init_subclass__(cls, *, proto_name: str | None = None, extension: int | None = None,
                          **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclasses.dataclass(frozen=True, kw_only=True)(cls)
        cls.proto_name = proto_name or _default_proto_name(cls)
        cls.extension_number = extension or _derived_extension_number(cls.proto_name)
        cls._fields = _field_specs(cls)
        cls._message_class = _register_message(cls)

    def check(self) -> None:
        """Raise `ValueError` (or `OptionsError`), naming the field, when a value is unusable.

        `validate` calls it for each node, so a bad value fails at load, not in `open()`.
        Check nested options from here too: they are values of this message.
        """

    # -- conversions --------------------------------------------------------------------

    @classmethod
    def from_message(cls, message: Message, *, node: str | None = None) -> Options:
        """Build the dataclass from a parsed message; unset fields take their defaults."""
        values: dict[str, Any] = {}
        for spec in cls._fields:
            if spec.repeated:
                items = getattr(message, spec.name)
                if len(items):
                    values[spec.name] = tuple(spec.from_proto(v, node) for v in items)
            elif message.HasField(spec.name):
                values[spec.name] = spec.from_proto(getattr(message, spec.name), node)
        return cls(**values)

    def to_message(self) -> Message:
        """The protobuf message holding every field that differs from its default."""
        message = self._message_class()
        for spec in self._fields:
            value = getattr(self, spec.name)
            if value == spec.default:
                continue
            if spec.repeated:
                target = getattr(message, spec.name)
                for item in value:
                    if spec.nested is not None:
                        target.add().CopyFrom(item.to_message())
                    else:
                        target.append(spec.to_proto(item))
            elif spec.nested is not None:
                getattr(message, spec.name).CopyFrom(value.to_message())
            else:
                setattr(message, spec.name, spec.to_proto(value))
        return message

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, node: str | None = None) -> Options:
        """Build from keyword values, with the same checks a config gets."""
        known = {spec.name: spec for spec in cls._fields}
        for key in values:
            if key not in known:
                raise OptionsError(f"{cls.__name__} has no field '{key}'"
                                   + _suggest(key, known), node=node)
        message = cls._message_class()
        try:
            for key, value in values.items():
                spec = known[key]
                if spec.repeated:
                    getattr(message, key).extend(
                        v.to_message() if isinstance(v, Options) else spec.to_proto(v)
                        for v in value)
                elif isinstance(value, Options):
                    getattr(message, key).CopyFrom(value.to_message())
                else:
                    setattr(message, key, spec.to_proto(value))
        except (TypeError, ValueError) as exc:
            raise OptionsError(f"{cls.__name__}: {exc}", node=node) from None
        return cls.from_message(message, node=node)

    @classmethod
    def message_class(cls) -> type[Message]:
        return cls._message_class

    @classmethod
    def extension(cls) -> Any:
        """The `mediapipe.CalculatorOptions` extension descriptor for this message."""
        return pool.find_extension(f"{cls.proto_name}.ext")


@dataclasses.dataclass(frozen=True)
class _FieldSpec:
    name: str
    number: int
    proto_type: int
    repeated: bool
    default: Any
    enum_type: type[enum.IntEnum] | None = None
    nested: type[Options] | None = None

    def from_proto(self, value: Any, node: str | None) -> Any:
        if self.enum_type is not None:
            try:
                return self.enum_type(value)
            except ValueError:
                raise OptionsError(f"{value} is not a {self.enum_type.__name__}",
                                   node=node) from None
        if self.nested is not None:
            return self.nested.from_message(value, node=node)
        return value

    def to_proto(self, value: Any) -> Any:
        if self.enum_type is not None:
            if isinstance(value, str):
                return self.enum_type[value].value
            return int(self.enum_type(value))
        return value


_declared_by: dict[str, str] = {}


def _default_proto_name(cls: type) -> str:
    """`mediagraph.<Qualified.Name>`; a re-declaration of the same class gets a suffix."""
    qualname = cls.__qualname__.replace("<locals>.", "")
    name = f"mediagraph.{qualname}"
    origin = f"{cls.__module__}.{cls.__qualname__}"
    candidate, counter = name, 1
    while candidate in _declared_by and _declared_by[candidate] == origin:
        counter += 1
        candidate = f"{name}_{counter}"
    return candidate


def _derived_extension_number(name: str) -> int:
    low, high = _EXTENSION_RANGE
    return low + zlib.crc32(name.encode()) % (high - low)


def _resolved_hints(cls: type[Options]) -> dict[str, Any]:
    """Field types; a string annotation naming a class local to a function (not
    resolvable from the module) falls back to the type of the field's default."""
    try:
        return typing.get_type_hints(cls)
    except NameError:
        pass
    hints: dict[str, Any] = {}
    module = vars(__import__(cls.__module__, fromlist=["_"]))
    for f in dataclasses.fields(cls):
        annotation = f.type
        if isinstance(annotation, str):
            try:
                annotation = eval(annotation, module, dict(vars(cls)))  # noqa: S307
            except NameError:
                if f.default is dataclasses.MISSING or f.default is None:
                    raise TypeError(f"{cls.__name__}.{f.name}: cannot resolve the annotation "
                                    f"{f.type!r}; define the type at module level") from None
                annotation = type(f.default)
        hints[f.name] = annotation
    return hints


def _field_specs(cls: type[Options]) -> tuple[_FieldSpec, ...]:
    hints = _resolved_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if not f.name.startswith("_")]
    taken = [f.metadata.get("number") for f in fields if f.metadata.get("number")]
    next_number = max(taken, default=0) + 1
    specs = []
    for f in fields:
        number = f.metadata.get("number")
        if number is None:
            number, next_number = next_number, next_number + 1
        annotation = hints[f.name]
        repeated = typing.get_origin(annotation) in (tuple, list)
        item = typing.get_args(annotation)[0] if repeated else annotation
        default = f.default if f.default is not dataclasses.MISSING else None
        if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = f.default_factory()  # type: ignore[misc]
        if repeated and default is None:
            raise TypeError(f"{cls.__name__}.{f.name}: a repeated field needs a tuple default")
        enum_type = item if isinstance(item, type) and issubclass(item, enum.IntEnum) else None
        nested = item if isinstance(item, type) and issubclass(item, Options) else None
        if enum_type is not None:
            proto_type = _F.TYPE_ENUM
        elif nested is not None:
            proto_type = _F.TYPE_MESSAGE
        else:
            name = f.metadata.get("proto") or _DEFAULT_PROTO.get(item)
            if name is None:
                raise TypeError(f"{cls.__name__}.{f.name}: unsupported option type {item!r}")
            proto_type = _SCALARS[name]
        specs.append(_FieldSpec(f.name, number, proto_type, repeated, default, enum_type, nested))
    return tuple(specs)


def _register_message(cls: type[Options]) -> type[Message]:
    full = cls.proto_name
    package, _, short = full.rpartition(".")
    if pool.find_message(full) is not None:
        raise TypeError(f"options message {full} is declared twice")
    if cls.extension_number in _by_extension:
        raise TypeError(f"extension number {cls.extension_number} of {full} is already used "
                        f"by {_by_extension[cls.extension_number]}")
    file = descriptor_pb2.FileDescriptorProto(
        name=f"mediagraph_options/{full}.proto", package=package, syntax="proto2",
        dependency=["calculator_options.proto"])
    deps = {spec.nested for spec in cls._fields if spec.nested is not None}
    file.dependency.extend(sorted(f"mediagraph_options/{d.proto_name}.proto" for d in deps))
    message = file.message_type.add(name=short)
    # Each enum sits in a wrapper message of its own (as MediaPipe's ScaleMode.Mode does):
    # protobuf scopes enum values with their parent, so two enums with a shared value name
    # (DEFAULT, UNSPECIFIED) could not both live directly in this message.
    for enum_type in {spec.enum_type for spec in cls._fields if spec.enum_type is not None}:
        scope = message.nested_type.add(name=f"{enum_type.__name__}Scope")
        enum_proto = scope.enum_type.add(name=enum_type.__name__)
        for member in enum_type:
            enum_proto.value.add(name=member.name, number=member.value)
    for spec in cls._fields:
        field = message.field.add(
            name=spec.name, number=spec.number, type=spec.proto_type,
            label=_F.LABEL_REPEATED if spec.repeated else _F.LABEL_OPTIONAL)
        if spec.enum_type is not None:
            field.type_name = f".{full}.{spec.enum_type.__name__}Scope.{spec.enum_type.__name__}"
        elif spec.nested is not None:
            field.type_name = f".{spec.nested.proto_name}"
    message.extension.add(name="ext", number=cls.extension_number, type=_F.TYPE_MESSAGE,
                          label=_F.LABEL_OPTIONAL, type_name=f".{full}",
                          extendee=".mediapipe.CalculatorOptions")
    try:
        pool.add_file(file)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cannot declare options {full}: {exc}") from None
    _by_extension[cls.extension_number] = full
    _declared_by[full] = f"{cls.__module__}.{cls.__qualname__}"
    return pool.message_class(full)


def _suggest(name: str, known: Any) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=3)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
