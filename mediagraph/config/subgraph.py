"""Subgraph expansion and `option_value` copying, done once at load time.

A node whose `calculator` names a subgraph is replaced by the subgraph's nodes:
interface streams and side packets are renamed to the node's (matched by TAG:index),
internal ones get a unique prefix (`<node>__<name>`), the subgraph's graph options are
merged with the node's options, and inner nodes' `option_value: "dst:src"` copy fields
from those merged options (`options/` and `OPTIONS` prefixes are optional, as in
MediaPipe's own graphs). Expansion recurses; a cycle of subgraphs is an error.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from google.protobuf.message import Message

from mediagraph.config import library, pool
from mediagraph.config.loader import source_info
from mediagraph.config.names import assign_indexes, parse_spec
from mediagraph.config.options_access import (find_node_options, graph_option_messages,
                                              node_option_messages, set_node_options)
from mediagraph.errors import GraphConfigError, SubgraphError

log = logging.getLogger("mediagraph.config")
MAX_DEPTH = 32
MAX_EXPANDED_NODES = 100_000
EXPAND_TIMEOUT_S = 30.0
_ = library  # importing the library adds its finder: subgraph files resolve by `type:`


@dataclass(frozen=True)
class NodeOrigin:
    """Where an expanded node was written: its file and line, and the subgraph path."""

    source: str | None
    line: int | None
    path: tuple[str, ...] = ()

    def describe(self) -> str:
        where = self.source or ""
        if self.line is not None:
            where += f":{self.line}"
        if self.path:
            where += f" (in subgraph {' > '.join(self.path)})"
        return where


Resolver = Callable[[str, int], tuple[str, Any]]


class _Budget:
    """What one expansion may cost: nodes (subgraphs multiply them) and wall time.

    Limits: `MAX_EXPANDED_NODES` nodes (`$MEDIAGRAPH_MAX_EXPANDED_NODES`) and
    `EXPAND_TIMEOUT_S` seconds (`$MEDIAGRAPH_EXPAND_TIMEOUT_S`). A config over either is
    an error naming the limit, not a process that eats memory for minutes.
    """

    def __init__(self) -> None:
        self.max_nodes = int(os.environ.get("MEDIAGRAPH_MAX_EXPANDED_NODES", MAX_EXPANDED_NODES))
        timeout = float(os.environ.get("MEDIAGRAPH_EXPAND_TIMEOUT_S", EXPAND_TIMEOUT_S))
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.nodes = 0

    def spend(self, count: int, origin: NodeOrigin, name: str) -> None:
        self.nodes += count
        if self.nodes > self.max_nodes:
            raise SubgraphError(f"expanding subgraphs makes more than {self.max_nodes} nodes "
                                "($MEDIAGRAPH_MAX_EXPANDED_NODES raises the limit)",
                                source=origin.source, line=origin.line, node=name)
        if time.monotonic() > self.deadline:
            raise SubgraphError(f"expanding subgraphs took longer than {self.timeout:g} s "
                                "($MEDIAGRAPH_EXPAND_TIMEOUT_S raises the limit)",
                                source=origin.source, line=origin.line, node=name)


def expand(config: Any, resolve: Resolver) -> tuple[Any, list[NodeOrigin]]:
    """Return a copy of `config` with every subgraph node expanded, and each node's origin.

    `resolve(name, node_index)` returns ("calculator", cls) or ("subgraph", source); each
    name is resolved once per expansion, so a subgraph file used many times is read once.
    """
    resolve = _once_per_name(resolve)
    result = pool.CalculatorGraphConfig()
    result.CopyFrom(config)
    info = source_info(config)
    source = info.source if info else None
    origins = [NodeOrigin(source, info.node_line(i) if info else None)
               for i in range(len(config.node))]
    apply_option_values(result, list(graph_option_messages(result)), origins)
    nodes, origins = _expand_nodes(result, origins, resolve, stack=(), budget=_Budget())
    del result.node[:]
    result.node.extend(nodes)
    return result, origins


def _once_per_name(resolve: Resolver) -> Resolver:
    found: dict[str, tuple[str, Any]] = {}

    def cached(name: str, index: int) -> tuple[str, Any]:
        if name not in found:
            found[name] = resolve(name, index)
        return found[name]

    return cached


def _expand_nodes(config: Any, origins: list[NodeOrigin], resolve: Resolver,
                  stack: tuple[str, ...], budget: _Budget) -> tuple[list[Any], list[NodeOrigin]]:
    out_nodes: list[Any] = []
    out_origins: list[NodeOrigin] = []
    used_prefixes: set[str] = set()
    for index, node in enumerate(config.node):
        origin = origins[index]
        try:
            kind, found = resolve(node.calculator, index)
        except GraphConfigError as exc:
            if node.name:
                exc.within(f"node '{node.name}'")
            raise exc.located(origin.source, origin.line) from None
        if kind != "subgraph":
            budget.spend(1, origin, node.name or node.calculator)
            out_nodes.append(node)
            out_origins.append(origin)
            continue
        name = node.calculator
        if name in stack:
            raise SubgraphError(f"subgraph recursion: {' -> '.join(stack + (name,))}",
                                source=origin.source, line=origin.line,
                                node=node.name or name)
        if len(stack) >= MAX_DEPTH:
            raise SubgraphError(f"subgraphs nested deeper than {MAX_DEPTH}",
                                source=origin.source, line=origin.line, node=node.name or name)
        sub_info = source_info(found) if not callable(found) else None
        prefix = _unique_prefix(node.name or name, used_prefixes)
        try:
            inner = _inline(node, _instantiate(found, node), prefix)
        except GraphConfigError as exc:
            raise exc.located(origin.source, origin.line) from None
        sub_origins = [NodeOrigin(sub_info.source if sub_info else origin.source,
                                  sub_info.node_line(i) if sub_info else origin.line,
                                  origin.path + (f"{name} '{prefix}'",))
                       for i in range(len(inner.node))]
        budget.spend(0, origin, node.name or name)
        nodes, inner_origins = _expand_nodes(inner, sub_origins, resolve, stack + (name,),
                                             budget)
        out_nodes.extend(nodes)
        out_origins.extend(inner_origins)
        for executor in inner.executor:
            if not any(e.name == executor.name for e in config.executor):
                config.executor.add().CopyFrom(executor)
    return out_nodes, out_origins


def _instantiate(found: Any, node: Any) -> Any:
    """The subgraph's config for `node`: a registered config, or a factory's result.

    A factory is called with the node's first option message, and with the node itself
    too when it takes two parameters (SwitchContainer wires its contained nodes to the
    node's own streams, as MediaPipe's `Subgraph::GetNode` allows).
    """
    if callable(found) and not isinstance(found, Message):
        options = next(iter(node_option_messages(node)), None)
        config = found(options, node) if _takes_node(found) else found(options)
    else:
        config = found
    copy = pool.CalculatorGraphConfig()
    copy.CopyFrom(config)
    return copy


def _takes_node(factory: Callable[..., Any]) -> bool:
    import inspect

    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in positional)


def _inline(node: Any, sub: Any, prefix: str) -> Any:
    """Rename the subgraph's streams for `node`, merge options, apply option_value."""
    what = f"subgraph {node.calculator}"
    stream_map = _interface_map(sub.input_stream, node.input_stream, what, "input stream", node)
    stream_map.update(_interface_map(sub.output_stream, node.output_stream, what,
                                     "output stream", node))
    side_inputs = list(node.input_side_packet) + list(node.external_input)
    side_map = _interface_map(sub.input_side_packet, side_inputs, what,
                              "input side packet", node)
    side_map.update(_interface_map(sub.output_side_packet, node.output_side_packet, what,
                                   "output side packet", node))
    unconnected = {parse_spec(s).name for s in sub.input_stream} - set(stream_map)
    unconnected_sides = {parse_spec(s).name for s in sub.input_side_packet} - set(side_map)
    back_edges = _back_edge_streams(node)

    graph_options = _merged_graph_options(sub, node)
    origins = [NodeOrigin(None, None)] * len(sub.node)
    apply_option_values(sub, graph_options, origins, within=f" in subgraph {node.calculator}")

    for inner in sub.node:
        label = f"node '{inner.name or inner.calculator}' in {what}"
        inner.name = f"{prefix}__{inner.name or _unnamed(inner.calculator, sub, inner)}"
        if node.executor and not inner.executor:
            inner.executor = node.executor
        try:
            _rename_list(inner.input_stream, stream_map, prefix, drop=unconnected)
            _rename_list(inner.output_stream, stream_map, prefix)
            _rename_list(inner.input_side_packet, side_map, prefix, drop=unconnected_sides)
            _rename_list(inner.external_input, side_map, prefix, drop=unconnected_sides)
            _rename_list(inner.output_side_packet, side_map, prefix)
        except GraphConfigError as exc:
            raise exc.within(label) from None
        for spec_text in inner.input_stream:
            spec = parse_spec(spec_text)
            if spec.name in back_edges:
                tag_index = f"{spec.tag}:{spec.index}" if spec.index is not None else spec.tag
                if not any(i.tag_index == tag_index for i in inner.input_stream_info):
                    inner.input_stream_info.add(tag_index=tag_index, back_edge=True)
    return sub


def _interface_map(inner_specs: Iterable[str], outer_specs: Iterable[str], what: str,
                   kind: str, node: Any) -> dict[str, str]:
    node_name = node.name or node.calculator
    try:
        inner = [parse_spec(s, what=f"{what} {kind}", node=node_name) for s in inner_specs]
        outer = [parse_spec(s, what=kind, node=node_name) for s in outer_specs]
        inner_keys = assign_indexes(inner, what=f"{what} {kind}", node=node_name)
        outer_keys = assign_indexes(outer, what=f"{kind}", node=node_name)
    except GraphConfigError as exc:
        raise exc.within(f"node '{node_name}'") from None
    by_key = {key: spec.name for key, spec in zip(inner_keys, inner)}
    mapping: dict[str, str] = {}
    for key, spec in zip(outer_keys, outer):
        if key not in by_key:
            tag, index = key
            offered = ", ".join(sorted(f"{t}:{i}" if t else f":{i}" for t, i in by_key)) or "none"
            label = f"{tag}:{index}" if tag else f"untagged index {index}"
            raise SubgraphError(f"node '{node_name}': {what} has no {kind} {label} "
                                f"(it offers: {offered})", node=node_name, stream=spec.name)
        mapping[by_key[key]] = spec.name
    return mapping


def _back_edge_streams(node: Any) -> set[str]:
    marked = {info.tag_index for info in node.input_stream_info if info.back_edge}
    names: set[str] = set()
    for spec_text in node.input_stream:
        spec = parse_spec(spec_text)
        candidates = {spec.tag, f"{spec.tag}:{spec.index or 0}"}
        if spec.index is None and spec.tag:
            candidates.add(f"{spec.tag}:0")
        if candidates & marked:
            names.add(spec.name)
    return names


def _rename_list(field: Any, mapping: dict[str, str], prefix: str,
                 drop: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    renamed = []
    for spec_text in field:
        spec = parse_spec(spec_text)
        if spec.name in drop:
            continue
        name = mapping.get(spec.name) or f"{prefix}__{spec.name}"
        head = spec_text[: len(spec_text) - len(spec.name)]
        renamed.append(head + name)
    del field[:]
    field.extend(renamed)


def _merged_graph_options(sub: Any, node: Any) -> list[Message]:
    """The subgraph's option defaults with the node's options of the same type on top."""
    merged: list[Message] = []
    for default in graph_option_messages(sub):
        message = type(default)()
        message.CopyFrom(default)
        override = find_node_options(node, default.DESCRIPTOR.full_name)
        if override is not None:
            message.MergeFrom(override)
        merged.append(message)
    known = {m.DESCRIPTOR.full_name for m in merged}
    for message in node_option_messages(node):
        if message.DESCRIPTOR.full_name not in known:
            merged.append(message)
    return merged


def apply_option_values(config: Any, graph_options: list[Message],
                        origins: list[NodeOrigin], *, within: str = "") -> None:
    """Copy graph-option fields into node options for every `option_value` in `config`.

    `within` (" in subgraph X") completes the node's description in error messages.
    """
    for index, node in enumerate(config.node):
        for rule in node.option_value:
            try:
                _apply_rule(node, rule, graph_options)
            except GraphConfigError as exc:
                origin = origins[index] if index < len(origins) else NodeOrigin(None, None)
                exc.within(f"node '{node.name or node.calculator}'{within}")
                raise exc.located(origin.source, origin.line) from None


def _apply_rule(node: Any, rule: str, graph_options: list[Message]) -> None:
    node_name = node.name or node.calculator
    dst_text, sep, src_text = rule.partition(":")
    if not sep:
        raise SubgraphError(f"option_value '{rule}' must look like 'node_field:graph_field'",
                            node=node_name)
    dst = _strip_options_prefix(dst_text)
    src = _strip_options_prefix(src_text)
    if not graph_options:
        log.warning("node %s: option_value '%s' skipped: the graph declares no known "
                    "options type", node_name, rule)
        return
    source_message, value = _find_source(graph_options, src, rule, node_name)
    if value is _UNSET:
        return
    target = _node_options_for(node, dst, source_message if not dst else None, node_name)
    if target is None:
        log.warning("node %s: option_value '%s' skipped: the node's options type is unknown",
                    node_name, rule)
        return
    if not dst:
        if not isinstance(value, Message) or value.DESCRIPTOR is not target.DESCRIPTOR:
            raise SubgraphError(f"option_value '{rule}': the whole {target.DESCRIPTOR.full_name} "
                                f"cannot be set from '{src_text.strip()}'", node=node_name)
        target.MergeFrom(value)
    else:
        _set_path(target, dst, value, rule, node_name)
    set_node_options(node, target)


_UNSET = object()


def _strip_options_prefix(path: str) -> list[str]:
    parts = [p for p in path.strip().split("/") if p]
    if parts and parts[0] in ("options", "OPTIONS"):
        parts = parts[1:]
    return parts


def _find_source(messages: list[Message], path: list[str], rule: str,
                 node_name: str) -> tuple[Message, Any]:
    if not path:
        return messages[0], messages[0]
    for message in messages:
        if path[0] in message.DESCRIPTOR.fields_by_name:
            return message, _get_path(message, path, rule, node_name)
    names = ", ".join(m.DESCRIPTOR.full_name for m in messages)
    raise SubgraphError(f"option_value '{rule}': graph options ({names}) have no field "
                        f"'{path[0]}'", node=node_name)


def _get_path(message: Message, path: list[str], rule: str, node_name: str) -> Any:
    current: Any = message
    repeated = False  # whether `current` is a repeated field, which only an index may follow
    for part in path:
        if repeated:
            if not re.fullmatch(r"\d+", part):
                raise SubgraphError(f"option_value '{rule}': '{part}' follows a repeated field; "
                                    "expected an index", node=node_name)
            index = int(part)
            if index >= len(current):
                return _UNSET
            current = current[index]
            repeated = False
            continue
        if not isinstance(current, Message):
            raise SubgraphError(f"option_value '{rule}': '{part}' follows a field that is not a "
                                "message", node=node_name)
        fields = current.DESCRIPTOR.fields_by_name
        if part not in fields:
            raise SubgraphError(f"option_value '{rule}': {current.DESCRIPTOR.full_name} has no "
                                f"field '{part}'", node=node_name)
        field = fields[part]
        repeated = _is_repeated(field)
        if repeated:
            value = getattr(current, part)
            if not len(value):
                return _UNSET
            current = value
        else:
            if field.has_presence and not current.HasField(part):
                return _UNSET
            current = getattr(current, part)
    return current


def _is_repeated(field: Any) -> bool:
    is_repeated = getattr(field, "is_repeated", None)
    return is_repeated if is_repeated is not None else field.label == field.LABEL_REPEATED


def _node_options_for(node: Any, dst: list[str], whole: Message | None,
                      node_name: str) -> Message | None:
    """The node's options message that `dst` points into (created when absent)."""
    if whole is not None:
        existing = find_node_options(node, whole.DESCRIPTOR.full_name)
        return existing if existing is not None else type(whole)()
    for message in node_option_messages(node):
        if dst[0] in message.DESCRIPTOR.fields_by_name:
            return find_node_options(node, message.DESCRIPTOR.full_name)
    options_type = _declared_options_type(node.calculator)
    if options_type is None:
        return None
    return options_type()


def _declared_options_type(calculator_name: str) -> type[Message] | None:
    from mediagraph import registry

    try:
        kind, found = registry.resolve(calculator_name)
    except GraphConfigError:
        return None
    if kind == "calculator":
        options = getattr(found, "Options", None)
        return options.message_class() if options is not None else None
    if not callable(found) or isinstance(found, Message):
        first = next(iter(graph_option_messages(found)), None)
        return type(first) if first is not None else None
    return None


def _set_path(target: Message, path: list[str], value: Any, rule: str, node_name: str) -> None:
    current: Any = target
    for part in path[:-1]:
        field = current.DESCRIPTOR.fields_by_name.get(part)
        if field is None:
            raise SubgraphError(f"option_value '{rule}': {current.DESCRIPTOR.full_name} has no "
                                f"field '{part}'", node=node_name)
        if field.message_type is None or _is_repeated(field):
            raise SubgraphError(f"option_value '{rule}': {current.DESCRIPTOR.full_name}.{part} "
                                "is not a message field", node=node_name)
        current = getattr(current, part)
    last = path[-1]
    fields = current.DESCRIPTOR.fields_by_name
    if last not in fields:
        raise SubgraphError(f"option_value '{rule}': {current.DESCRIPTOR.full_name} has no "
                            f"field '{last}'", node=node_name)
    try:
        field = fields[last]
        if isinstance(value, Message):
            getattr(current, last).CopyFrom(value)
        elif hasattr(value, "__len__") and not isinstance(value, (str, bytes)):
            target_list = getattr(current, last)
            del target_list[:]
            target_list.extend(value)
        else:
            if field.type == field.TYPE_ENUM and isinstance(value, int):
                pass
            setattr(current, last, value)
    except (TypeError, ValueError, AttributeError) as exc:
        raise SubgraphError(f"option_value '{rule}': cannot copy into "
                            f"{current.DESCRIPTOR.full_name}.{last}: {exc}",
                            node=node_name) from None


def _unnamed(calculator: str, sub: Any, node: Any) -> str:
    """A name for an unnamed node: its calculator, numbered when the subgraph has several
    unnamed nodes of that calculator (MediaPipe's hand graphs have three GateCalculators)."""
    same = [n for n in sub.node if n.calculator == calculator and (n is node or not n.name
                                                                    or "__" in n.name)]
    if len(same) <= 1:
        return calculator
    position = next(i for i, n in enumerate(same) if n is node)
    return calculator if position == 0 else f"{calculator}_{position + 1}"


def _unique_prefix(name: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_]", "_", re.sub(r"(?<![_^])(?=[A-Z])", "_", name).lower())
    base = re.sub(r"_{3,}", "__", base).strip("_") or "subgraph"
    if base[0].isdigit():
        base = "_" + base
    prefix = base
    counter = 1
    while prefix in used:
        prefix = f"{base}_{counter}"
        counter += 1
    used.add(prefix)
    return prefix
