"""Reading and writing the option messages attached to nodes and graphs.

A node carries options two ways (MediaPipe accepts both): proto2 extensions in
`options { [X.ext] {...} }` and packed `Any`s in `node_options`. When a type is in
both, `options` wins. Types the pool does not know stay packed and are skipped.
"""

from __future__ import annotations

from typing import Any, Iterator

from google.protobuf.message import DecodeError, Message

from mediagraph.config import pool
from mediagraph.errors import OptionsError

_TYPE_PREFIX = "type.googleapis.com/"


def node_option_messages(node: Any) -> Iterator[Message]:
    """Every option message on a node whose type is known: `options` first."""
    where = f"node '{node.name or node.calculator}': node_options"
    return _option_messages(node, node.node_options, where)


def graph_option_messages(config: Any) -> Iterator[Message]:
    """Every option message a config declares for itself (its defaults as a subgraph)."""
    return _option_messages(config, config.graph_options, "graph_options")


def _option_messages(holder: Any, packed_list: Any, where: str) -> Iterator[Message]:
    """Extensions of `holder.options`, then the packed Anys of types not seen there."""
    seen: set[str] = set()
    if holder.HasField("options"):
        for field, value in holder.options.ListFields():
            if field.is_extension and field.message_type is not None:
                seen.add(field.message_type.full_name)
                yield value
    for packed in packed_list:
        name = packed.type_url.rsplit("/", 1)[-1]
        if name in seen:
            continue
        message = unpack(packed, where=where)
        if message is not None:
            seen.add(name)
            yield message


def unpack(packed: Any, *, where: str = "options") -> Message | None:
    """The message packed in an `Any`; None when the pool does not know its type."""
    name = packed.type_url.rsplit("/", 1)[-1]
    if pool.find_message(name) is None:
        return None
    message = pool.message_class(name)()
    try:
        message.ParseFromString(packed.value)
    except DecodeError:
        raise OptionsError(f"{where} [{packed.type_url}]: the packed bytes are not a valid "
                           f"{name}") from None
    return message


def find_node_options(node: Any, full_name: str) -> Message | None:
    """The node's option message of type `full_name` (a copy), or None."""
    for message in node_option_messages(node):
        if message.DESCRIPTOR.full_name == full_name:
            copy = type(message)()
            copy.CopyFrom(message)
            return copy
    return None


def set_node_options(node: Any, message: Message) -> None:
    """Store `message` on the node where a message of its type already is (or as Any)."""
    full_name = message.DESCRIPTOR.full_name
    extension = pool.find_extension(f"{full_name}.ext")
    if extension is not None and node.HasField("options") and node.options.HasExtension(extension):
        node.options.Extensions[extension].CopyFrom(message)
        return
    for packed in node.node_options:
        if packed.type_url.rsplit("/", 1)[-1] == full_name:
            packed.Pack(message)
            return
    if extension is not None:
        node.options.Extensions[extension].CopyFrom(message)
    else:
        node.node_options.add().Pack(message)
