"""Load `CalculatorGraphConfig`s from `.pbtxt` text and `.binarypb` binary.

Errors never leak protobuf internals: a config that does not parse raises
`ConfigSyntaxError` with file:line:column, and a bad option raises `OptionsError`
naming the node. Option messages no registered calculator declares never block
loading: in binary they stay as raw bytes (unknown fields / packed `Any`); in text
their blocks are kept verbatim in `source_info(config).unknown_options`.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import text_format
from google.protobuf.message import DecodeError, Message

from mediagraph.config import pool
from mediagraph.errors import ConfigSyntaxError, GraphConfigError, OptionsError

MAX_CONFIG_BYTES = 64 << 20
MAX_CONFIG_ENV = "MEDIAGRAPH_MAX_CONFIG_BYTES"
TEXT_SUFFIXES = (".pbtxt", ".txt", ".textproto", ".prototxt", ".config")
BINARY_SUFFIXES = (".binarypb", ".pb", ".binpb", ".bin")


@dataclass
class UnknownOptions:
    """An option block whose message type no registered calculator declares."""

    type_name: str
    text: str
    line: int
    node_index: int | None


@dataclass
class SourceInfo:
    """Where a config came from, for error messages: the source, each node's line and the
    lines of the other top-level fields (`field_lines["executor"][i]`)."""

    source: str
    node_lines: list[int] = field(default_factory=list)
    unknown_options: list[UnknownOptions] = field(default_factory=list)
    field_lines: dict[str, list[int]] = field(default_factory=dict)

    def node_line(self, index: int) -> int | None:
        return self.node_lines[index] if 0 <= index < len(self.node_lines) else None

    def field_line(self, name: str, index: int = -1) -> int | None:
        """The line of the `index`-th top-level `name` entry (default: the last one)."""
        lines = self.field_lines.get(name, [])
        return lines[index] if -len(lines) <= index < len(lines) else None


_sources: OrderedDict[int, tuple[Message, SourceInfo]] = OrderedDict()
_sources_lock = threading.Lock()
_MAX_SOURCES = 512
_sweep_at = _MAX_SOURCES
# References to a config that the table and `_forget_unused` hold themselves: the entry's
# tuple, the loop variable and getrefcount's argument.
_TABLE_REFS = 3


def remember_source(config: Message, info: SourceInfo) -> None:
    global _sweep_at
    with _sources_lock:
        _sources[id(config)] = (config, info)
        _sources.move_to_end(id(config))
        if len(_sources) > _sweep_at:
            _forget_unused()
            _sweep_at = max(_MAX_SOURCES, 2 * len(_sources))


def _forget_unused() -> None:
    """Drop the entries of configs that only this table keeps alive.

    Messages take no weak references, so the table holds them; a config still in use (a
    registered subgraph, a live Graph's) keeps its entry however many others are loaded.
    Reference counts are CPython's; where they read low, entries are dropped early, which
    only loses line numbers.
    """
    for key, (config, _) in list(_sources.items()):
        if sys.getrefcount(config) <= _TABLE_REFS:
            del _sources[key]


def source_info(config: Message) -> SourceInfo | None:
    """The SourceInfo recorded when `config` was loaded, if it was loaded from text or a file."""
    with _sources_lock:
        entry = _sources.get(id(config))
    if entry is not None and entry[0] is config:
        return entry[1]
    return None


def read_config_bytes(path: str | os.PathLike[str], limit: int | None = None) -> bytes:
    """The bytes of a config file: a regular file of at most `limit` bytes (default
    `MAX_CONFIG_BYTES`, or `$MEDIAGRAPH_MAX_CONFIG_BYTES`).

    A FIFO, a device (`/dev/zero`) or a socket would hang the read or fill memory, so
    anything but a regular file is refused; the file is opened without blocking and
    checked on the open descriptor, so a swapped path cannot slip through.
    """
    limit = limit if limit is not None else int(os.environ.get(MAX_CONFIG_ENV, MAX_CONFIG_BYTES))
    source = os.fspath(path)
    try:
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise GraphConfigError(f"cannot read graph config: {exc.strerror}", source=source) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise GraphConfigError("cannot read graph config: not a regular file (a FIFO, "
                                   "device or socket is never read)", source=source)
        if info.st_size > limit:
            raise GraphConfigError(f"graph config is {info.st_size} bytes, over the limit of "
                                   f"{limit} (${MAX_CONFIG_ENV})", source=source)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise GraphConfigError(f"cannot read graph config: {exc.strerror}", source=source) from None
    finally:
        os.close(fd)
    if size > limit:  # the file grew while being read
        raise GraphConfigError(f"graph config is over the limit of {limit} bytes "
                               f"(${MAX_CONFIG_ENV})", source=source)
    return b"".join(chunks)


def load_config(path: str | Path) -> Any:
    """Load a config file, text or binary by its suffix (text when the suffix is unknown)."""
    path = Path(path)
    data = read_config_bytes(path)
    if path.suffix.lower() in BINARY_SUFFIXES:
        return parse_binary(data, source=str(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigSyntaxError(f"not UTF-8 text (byte {exc.start}); binary configs need a "
                                f"{'/'.join(BINARY_SUFFIXES)} suffix", source=str(path)) from None
    return parse_text(text, source=str(path))


def parse_config(data: str | bytes, *, source: str = "<string>") -> Any:
    """Parse a config from `.pbtxt` text (str) or serialized binary (bytes)."""
    if isinstance(data, str):
        return parse_text(data, source=source)
    if isinstance(data, (bytes, bytearray, memoryview)):
        return parse_binary(bytes(data), source=source)
    raise TypeError(f"parse_config takes str or bytes, not {type(data).__name__}")


def parse_binary(data: bytes, *, source: str = "<bytes>") -> Any:
    _load_option_declarations()
    config = pool.CalculatorGraphConfig()
    try:
        config.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ConfigSyntaxError(f"not a binary CalculatorGraphConfig: {exc}", source=source) from None
    remember_source(config, SourceInfo(source))
    return config


def parse_text(text: str, *, source: str = "<string>") -> Any:
    _load_option_declarations()
    scan = _scan(text)
    info = SourceInfo(source, scan.node_lines, field_lines=scan.field_lines)
    for start, end, name in scan.unknown_blocks:
        line = text.count("\n", 0, start) + 1
        info.unknown_options.append(
            UnknownOptions(name, text[start:end], line, _node_at(scan.node_spans, line)))
    cleaned = _blank(text, [(s, e) for s, e, _ in scan.unknown_blocks])
    config = pool.CalculatorGraphConfig()
    try:
        text_format.Parse(cleaned, config, descriptor_pool=pool.POOL)
    except text_format.ParseError as exc:
        raise _translate(exc, scan, source) from None
    except (ValueError, TypeError, RuntimeError, RecursionError) as exc:
        raise ConfigSyntaxError(f"cannot parse config: {exc}", source=source) from None
    _drop_empty_any(config)
    remember_source(config, info)
    return config


def to_text(config: Message) -> str:
    """Print a config back as `.pbtxt` (options expanded by type name).

    Options packed in options packed in options... as deep as a binary config may nest
    them cannot be printed by recursion: that is a GraphConfigError, not a RecursionError.
    """
    try:
        return text_format.MessageToString(config, descriptor_pool=pool.POOL)
    except RecursionError:
        info = source_info(config)
        raise ConfigSyntaxError("options are nested too deeply to print as text (packed "
                                "`Any` inside `Any`); print it with --format binary",
                                source=info.source if info else None) from None


def to_binary(config: Message) -> bytes:
    return config.SerializeToString(deterministic=True)


def peek_type(path: Any) -> str:
    """The `type:` of a text config (a Path or package resource) without validating it;
    '' for a file that has none or cannot be read as a config."""
    try:
        data = read_config_bytes(path) if isinstance(path, Path) else path.read_bytes()
    except (OSError, GraphConfigError):
        return ""
    return top_level_type(data.decode("utf-8", errors="replace"))


_TYPE_TOKENS = re.compile(r"""#[^\n]*|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|[{}<>]"""
                          r"""|(?<![\w.])type\s*:\s*("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')""")


def top_level_type(text: str) -> str:
    """The top-level `type:` of config text ('' for none), as `_scan` finds it in a config
    that parses, but with one regular expression that skips comments and strings in C and
    stops at the first: the library peeks at every bundled graph the first time a
    subgraph is looked up (80 files; 13 ms with the full scan, which a run's start paid)."""
    if "type" not in text:
        return ""
    depth = 0
    for match in _TYPE_TOKENS.finditer(text):
        value = match.group(1)
        if value is not None:
            if depth == 0:
                return value[1:-1]
            continue
        char = match.group(0)[0]
        if char in "{<":
            depth += 1
        elif char in "}>":
            depth = max(0, depth - 1)
    return ""


def _load_option_declarations() -> None:
    """Import the registered calculators so their option messages are in the pool."""
    from mediagraph import registry

    registry.load_plugins()


# -- translating protobuf parse errors ---------------------------------------------------

_LOCATION = re.compile(r"^(\d+):(\d+)\s*:\s*")
_NO_FIELD = re.compile(r'Message type "([\w.]+)" has no field named "(\w+)"')


def _translate(exc: text_format.ParseError, scan: _Scan, source: str) -> GraphConfigError:
    message = str(exc)
    line, column = exc.GetLine(), exc.GetColumn()
    match = _LOCATION.match(message)
    if match:
        line, column = int(match.group(1)), int(match.group(2))
        message = message[match.end():]
    message = message.rstrip(".")
    no_field = _NO_FIELD.search(message)
    if no_field:
        descriptor = pool.find_message(no_field.group(1))
        if descriptor is not None:
            close = difflib.get_close_matches(no_field.group(2),
                                              [f.name for f in descriptor.fields], n=3)
            if close:
                message += f" (did you mean {', '.join(repr(c) for c in close)}?)"
    node_index = _node_at(scan.node_spans, line) if line else None
    node = f"#{node_index}" if node_index is not None else None
    block = _option_block_at(scan.option_spans, line) if line else None
    if block is not None:
        where = f"node {node}: " if node else ""
        return OptionsError(f"{where}bad options [{block}]: {message}", source=source,
                            line=line, column=column, node=node)
    where = f"in node {node}: " if node else ""
    return ConfigSyntaxError(where + message, source=source, line=line, column=column, node=node)


# -- a light scan of the text: node spans, option blocks, unknown option types -----------


@dataclass
class _Scan:
    node_lines: list[int] = field(default_factory=list)
    node_spans: list[tuple[int, int]] = field(default_factory=list)
    option_spans: list[tuple[int, int, str]] = field(default_factory=list)
    unknown_blocks: list[tuple[int, int, str]] = field(default_factory=list)
    field_lines: dict[str, list[int]] = field(default_factory=dict)
    top_level_type: str = ""


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')


def _scan(text: str) -> _Scan:
    """Walk the text once, tracking braces, strings and comments.

    Records each top-level `node` block's line span, the line of every other top-level
    field, each `[type]` option block, and which of those name a message type the pool
    does not know. Tolerates any input: bad text is reported by the real parser afterwards.
    """
    out = _Scan()
    depth = 0
    line = 1
    i = 0
    n = len(text)
    node_start: int | None = None
    prev_significant = ""
    expect_type_value = False
    field_name = ""
    listed: set[str] = set()  # `field: [a, b]` gives one line for many entries
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
            continue
        if c in " \t\r\f\v,;":
            i += 1
            continue
        if c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if c in "\"'":
            m = _STRING.match(text, i)
            end = m.end() if m else n
            if expect_type_value and depth == 0 and m:
                out.top_level_type = m.group(0)[1:-1]
            expect_type_value = False
            line += text.count("\n", i, end)
            i = end
            prev_significant = '"'
            continue
        if c in "{<":
            depth += 1
            i += 1
            prev_significant = c
            continue
        if c in "}>":
            depth = max(0, depth - 1)
            if depth == 0 and node_start is not None:
                out.node_spans.append((node_start, line))
                node_start = None
            i += 1
            prev_significant = c
            continue
        if c == "[" and prev_significant != ":":
            close = text.find("]", i)
            if close < 0:
                break
            name = re.sub(r"\s+", "", text[i + 1:close])
            end = _value_end(text, close + 1)
            start_line = line
            end_line = line + text.count("\n", i, end)
            out.option_spans.append((start_line, end_line, name))
            if not _known_option_name(name):
                out.unknown_blocks.append((i, end, name))
            line = end_line
            i = end
            prev_significant = "}"
            continue
        m = _IDENT.match(text, i)
        if m:
            word = m.group(0)
            if depth == 0 and word == "node":
                out.node_lines.append(line)
                node_start = line
            elif depth == 0 and prev_significant != ":":
                out.field_lines.setdefault(word, []).append(line)
                field_name = word
            expect_type_value = depth == 0 and word == "type"
            i = m.end()
            prev_significant = "a"
            continue
        if c == ":":
            prev_significant = ":"
        elif c != ":" and not expect_type_value:
            if c == "[" and depth == 0 and prev_significant == ":":
                listed.add(field_name)
            prev_significant = c
        i += 1
    if node_start is not None:
        out.node_spans.append((node_start, line))
    for name in listed:
        out.field_lines.pop(name, None)
    return out


def _value_end(text: str, i: int) -> int:
    """Index just past the value that follows an extension name at `i`."""
    n = len(text)
    while i < n and text[i] in " \t\r\n:":
        i += 1
    if i < n and text[i] in "{<":
        depth = 0
        while i < n:
            c = text[i]
            if c in "\"'":
                m = _STRING.match(text, i)
                i = m.end() if m else n
                continue
            if c == "#":
                end = text.find("\n", i)
                i = n if end < 0 else end
                continue
            if c in "{<":
                depth += 1
            elif c in "}>":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return n
    m = _STRING.match(text, i) or re.compile(r"[^\s}>]+").match(text, i)
    return m.end() if m else i


def _known_option_name(name: str) -> bool:
    if "/" in name:
        return pool.find_message(name.rsplit("/", 1)[1]) is not None
    return pool.find_extension(name) is not None


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """Replace each span with spaces, keeping newlines so positions stay put."""
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        for k in range(start, end):
            if chars[k] != "\n":
                chars[k] = " "
    return "".join(chars)


def _node_at(spans: list[tuple[int, int]], line: int) -> int | None:
    for index, (start, end) in enumerate(spans):
        if start <= line <= end:
            return index
    return None


def _option_block_at(spans: list[tuple[int, int, str]], line: int) -> str | None:
    for start, end, name in spans:
        if start <= line <= end:
            return name
    return None


def _drop_empty_any(config: Message) -> None:
    """Remove `node_options {}` and `options {}` left behind by an unknown option block."""
    for node in config.node:
        if node.HasField("options") and node.options.ByteSize() == 0:
            node.ClearField("options")
        _keep_typed(node.node_options)
    _keep_typed(config.graph_options)


def _keep_typed(packed_list: Any) -> None:
    """Drop the `Any`s without a type URL from a repeated field, in place."""
    keep = [a for a in packed_list if a.type_url]
    if len(keep) == len(packed_list):
        return
    copies = [type(a)() for a in keep]
    for copy, original in zip(copies, keep):
        copy.CopyFrom(original)
    del packed_list[:]
    packed_list.extend(copies)
