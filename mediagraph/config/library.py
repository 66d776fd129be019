"""The graph library: `.pbtxt` graphs found by name, bundled or on the search path.

Graphs come from, in this order:
1. folders given to `add_search_path()`;
2. folders in `$MEDIAGRAPH_GRAPH_PATH` (separated by `os.pathsep`);
3. packages of the `mediagraph.graphs` entry-point group, read as package resources
   (`importlib.resources`): mediagraph's bundled graphs are one such package, and a
   plugin ships its own graphs the same way.

A file whose text sets `type:` is a subgraph, found by that name in any config (the
registry asks `find_subgraph`). Every file is also a graph a user can run by its name,
the file's stem (`mediagraph run face_detection_video`). The first place that has a name
wins, so a search-path folder can override a bundled graph.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any, Iterator

from mediagraph import registry
from mediagraph.config.loader import load_config, parse_text, peek_type

ENTRY_POINT_GROUP = "mediagraph.graphs"
SUFFIX = ".pbtxt"

_lock = threading.RLock()
_search_path: list[Path] = []
_scanned: set[str] = set()  # folders and packages already indexed
_types: dict[str, Traversable] = {}  # subgraph type -> its file
_packages: list[str] | None = None


@dataclass(frozen=True)
class GraphEntry:
    """One graph file: its run name, its subgraph `type:` ('' for none), where it is."""

    name: str
    type: str
    resource: Traversable
    origin: str  # the folder or the package it came from

    @property
    def description(self) -> str:
        """The first sentence of the file's leading comment block."""
        return describe(self.resource.read_text(encoding="utf-8", errors="replace"))


def add_search_path(folder: str | os.PathLike[str]) -> None:
    """Look for graph `.pbtxt` files (subgraphs by their `type:`) in `folder` too."""
    path = Path(folder).resolve()
    with _lock:
        if path not in _search_path:
            _search_path.append(path)


def find_subgraph(name: str) -> Any:
    """The config of the subgraph whose `type:` is `name`, or None."""
    _index()
    with _lock:
        resource = _types.get(name)
    return None if resource is None else read(resource)


def subgraph_names() -> list[str]:
    _index()
    with _lock:
        return sorted(_types)


def find_graph(name: str) -> Traversable | None:
    """The graph file called `name` (its stem, `.pbtxt` optional), or None."""
    stem = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else name
    if not stem or "/" in stem or os.sep in stem:
        return None
    for entry in graphs():
        if entry.name == stem:
            return entry.resource
    return None


def graphs() -> list[GraphEntry]:
    """Every graph file, first place first; a name seen earlier hides later ones."""
    seen: set[str] = set()
    found: list[GraphEntry] = []
    for origin, root in _roots():
        for resource in _pbtxt_files(root):
            stem = resource.name[: -len(SUFFIX)]
            if stem in seen:
                continue
            seen.add(stem)
            found.append(GraphEntry(stem, peek_type(resource), resource, origin))
    return found


def read(resource: Traversable) -> Any:
    """Load a graph file, whether on disk or inside an installed package."""
    if isinstance(resource, Path):
        return load_config(resource)
    return parse_text(resource.read_bytes().decode("utf-8"), source=str(resource))


def describe(text: str) -> str:
    """The first sentence of a config's leading `#` comment block ('' without one)."""
    words: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        body = stripped.lstrip("#").strip()
        if not body or line.lstrip("#").startswith("   "):  # a blank or an example line
            if words:
                break
            continue
        words.append(body)
    sentence = " ".join(words)
    end = sentence.find(". ")
    return sentence[: end + 1] if end >= 0 else sentence


def _roots() -> Iterator[tuple[str, Traversable]]:
    with _lock:
        folders = list(_search_path)
    env = os.environ.get("MEDIAGRAPH_GRAPH_PATH", "")
    folders += [Path(p).resolve() for p in env.split(os.pathsep) if p]
    for folder in folders:
        if folder.is_dir():
            yield str(folder), folder
    for package in _graph_packages():
        try:
            yield package, resources.files(package)
        except (ImportError, TypeError):
            continue


def _graph_packages() -> list[str]:
    global _packages
    with _lock:
        if _packages is None:
            from importlib.metadata import entry_points

            _packages = [ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)]
        return list(_packages)


def _pbtxt_files(root: Traversable) -> list[Traversable]:
    files: list[Traversable] = []
    for child in sorted(root.iterdir(), key=lambda c: c.name):
        if child.is_dir():
            if not child.name.startswith((".", "__")):
                files.extend(_pbtxt_files(child))
        elif child.name.endswith(SUFFIX) and child.is_file():  # never a FIFO or a device
            files.append(child)
    return files


def _index() -> None:
    """Index the `type:` of every file in places not indexed yet."""
    for origin, root in _roots():
        with _lock:
            if origin in _scanned:
                continue
            _scanned.add(origin)
        for resource in _pbtxt_files(root):
            type_name = peek_type(resource)
            if type_name:
                with _lock:
                    _types.setdefault(type_name, resource)


registry.add_finder(find_subgraph, names=subgraph_names)
