"""MediaPipe's naming grammar for streams, side packets and tag/index references.

    name   = [a-z_][a-z0-9_]*
    TAG    = [A-Z_][A-Z0-9_]*
    index  = 0 | [1-9][0-9]*
    spec   = (TAG ":" (index ":")?)? name      e.g. "VIDEO:1:frames", "frames", ":1:b"
    tag_index = TAG | TAG ":" index | ":" index | ""   (input_stream_info, sync sets)
"""

from __future__ import annotations

import re
from typing import NamedTuple

from mediagraph.errors import GraphConfigError

_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
_TAG = re.compile(r"[A-Z_][A-Z0-9_]*\Z")
_INDEX = re.compile(r"(0|[1-9][0-9]*)\Z")


class StreamSpec(NamedTuple):
    """One parsed `TAG:index:name`; `index` is None when the config did not give one."""

    tag: str
    index: int | None
    name: str

    def tag_index(self) -> str:
        return f"{self.tag}:{self.index or 0}"


def parse_spec(text: str, *, what: str = "stream", node: str | None = None) -> StreamSpec:
    """Parse a stream or side-packet spec, raising GraphConfigError on bad grammar."""
    parts = text.split(":")
    if len(parts) == 1:
        tag, index, name = "", None, parts[0]
    elif len(parts) == 2:
        tag, index, name = parts[0], None, parts[1]
    elif len(parts) == 3:
        tag, index_text, name = parts
        if not _INDEX.match(index_text):
            raise _bad(text, what, node, f"index '{index_text}' must be 0 or a number "
                       "without leading zeros")
        index = int(index_text)
    else:
        raise _bad(text, what, node, "expected TAG:index:name")
    if len(parts) >= 2 and not tag and index is None:
        raise _bad(text, what, node, "empty tag before ':'")
    if tag and not _TAG.match(tag):
        raise _bad(text, what, node, f"tag '{tag}' must match [A-Z_][A-Z0-9_]*")
    if not _NAME.match(name):
        raise _bad(text, what, node, f"name '{name}' must match [a-z_][a-z0-9_]*")
    return StreamSpec(tag, index, name)


def parse_tag_index(text: str, *, node: str | None = None) -> tuple[str, int]:
    """Parse "TAG", "TAG:2", ":1" or "" into (tag, index)."""
    tag, _, index_text = text.partition(":")
    if tag and not _TAG.match(tag):
        raise GraphConfigError(f"bad tag_index '{text}': tag must match [A-Z_][A-Z0-9_]*",
                               node=node)
    if index_text and not _INDEX.match(index_text):
        raise GraphConfigError(f"bad tag_index '{text}': bad index '{index_text}'", node=node)
    if ":" in text and not index_text:
        raise GraphConfigError(f"bad tag_index '{text}': missing index after ':'", node=node)
    return tag, int(index_text) if index_text else 0


def assign_indexes(specs: list[StreamSpec], *, what: str, node: str | None) -> list[tuple[str, int]]:
    """Give each spec its (tag, index): untagged entries count by position; check gaps.

    A tag's indexes must be unique and cover 0..n-1, as MediaPipe's TagMap requires.
    """
    result: list[tuple[str, int]] = []
    untagged_position = 0
    used: dict[str, set[int]] = {}
    for spec in specs:
        if spec.index is not None:
            index = spec.index
        elif spec.tag:
            index = 0
        else:
            index = untagged_position
        if not spec.tag:
            untagged_position += 1
        seen = used.setdefault(spec.tag, set())
        if index in seen:
            label = f"{spec.tag}:{index}" if spec.tag else f"untagged index {index}"
            raise GraphConfigError(f"{what} {label} is given twice ('{spec.name}')",
                                   node=node, stream=spec.name)
        seen.add(index)
        result.append((spec.tag, index))
    for tag, indexes in used.items():
        if indexes != set(range(len(indexes))):
            label = tag or "untagged"
            raise GraphConfigError(f"{what} indexes of {label} must be 0..{len(indexes) - 1}, "
                                   f"got {sorted(indexes)}", node=node)
    return result


def _bad(text: str, what: str, node: str | None, why: str) -> GraphConfigError:
    return GraphConfigError(f"bad {what} '{text}': {why}", node=node, stream=text)
