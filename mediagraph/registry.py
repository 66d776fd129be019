"""Where calculator and subgraph names resolve.

Lookup order for a node's `calculator:` name:
1. calculators registered in this process (every `Calculator` subclass registers itself
   by class name; mediagraph's own `calculators` package is imported on first lookup);
2. subgraphs registered from Python or from `.pbtxt` files with a `type:` field, found on
   the search path (`add_search_path`, `$MEDIAGRAPH_GRAPH_PATH`, the project's `graphs/`);
3. calculators that other installed packages expose through the `mediagraph.calculators`
   entry-point group;
4. a dotted path `pkg.mod.Class`, imported only when the caller allows that package
   (`allow_imports=["pkg"]`): loading a config never runs code by default.

A name may carry MediaPipe's namespace (`mediapipe.Foo`, `::mediapipe::Foo`); the
config's `package` is tried as a prefix first.
"""

from __future__ import annotations

import difflib
import importlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Union

from mediagraph.errors import GraphConfigError, UnknownCalculatorError

if TYPE_CHECKING:
    from mediagraph.calculator import Calculator

SubgraphSource = Union[Any, Callable[[Any], Any]]  # a config message, or options -> config

_lock = threading.RLock()
_calculators: dict[str, type[Calculator]] = {}
_subgraphs: dict[str, SubgraphSource] = {}
_subgraph_files: dict[str, Path] = {}
_search_path: list[Path] = []
_scanned: set[Path] = set()
_builtins_loaded = False
_entry_points_loaded = False

ENTRY_POINT_GROUP = "mediagraph.calculators"
_PROJECT_GRAPHS = Path(__file__).resolve().parent.parent / "graphs"


def register_calculator(name: str, cls: type[Calculator]) -> None:
    """Register `cls` under `name`; a different class under a taken name raises."""
    with _lock:
        old = _calculators.get(name)
        if old is not None and _qualified(old) != _qualified(cls):
            raise TypeError(f"calculator name '{name}' is taken by {_qualified(old)}; "
                            f"{_qualified(cls)} needs another name (class keyword name=...)")
        _calculators[name] = cls


def unregister_calculator(name: str) -> None:
    with _lock:
        _calculators.pop(name, None)


def register_subgraph(name_or_config: Any, source: SubgraphSource | None = None) -> str:
    """Register a subgraph: a config with `type:` set, or `(name, config_or_factory)`.

    A factory is called with the node's options (or None) and returns a config.
    """
    if source is None:
        config = name_or_config
        name = getattr(config, "type", "")
        if not name:
            raise GraphConfigError("a subgraph config needs a `type:` name to be registered")
        source = config
    else:
        name = name_or_config
    with _lock:
        _subgraphs[name] = source
    return name


def add_search_path(folder: str | os.PathLike[str]) -> None:
    """Look for subgraph `.pbtxt` files (by their `type:` field) in `folder` too."""
    path = Path(folder).resolve()
    with _lock:
        if path not in _search_path:
            _search_path.append(path)


def calculator_names() -> list[str]:
    _load_builtins()
    with _lock:
        return sorted(_calculators)


def find_calculator(name: str) -> type[Calculator] | None:
    """The registered calculator class called `name`, or None."""
    _load_builtins()
    with _lock:
        return _calculators.get(name)


def resolve(name: str, *, package: str = "", allow_imports: Iterable[str] = (),
            node: str | None = None) -> tuple[str, Any]:
    """Resolve a node's `calculator:` into ("calculator", cls) or ("subgraph", source)."""
    _load_builtins()
    for candidate in _candidates(name, package):
        found = _lookup(candidate)
        if found is not None:
            return found
    _load_entry_points()
    for candidate in _candidates(name, package):
        found = _lookup(candidate)
        if found is not None:
            return found
    if "." in name.strip(".:") and not name.startswith(("mediapipe.", "::")):
        # One package given as a bare string is one prefix, not one per character.
        allow = (allow_imports,) if isinstance(allow_imports, str) else tuple(allow_imports)
        return "calculator", _import_dotted(name, allow, node)
    with _lock:
        known = list(_calculators) + list(_subgraphs) + list(_subgraph_files)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownCalculatorError(f"unknown calculator or subgraph '{name}'{hint}", node=node)


def _candidates(name: str, package: str) -> list[str]:
    bare = name.replace("::", ".").strip(".")
    names = []
    if package:
        names.append(f"{package}.{bare}")
    names.append(bare)
    if bare.startswith("mediapipe."):
        names.append(bare[len("mediapipe."):])
    return names


def _lookup(name: str) -> tuple[str, Any] | None:
    with _lock:
        if name in _calculators:
            return "calculator", _calculators[name]
        if name in _subgraphs:
            return "subgraph", _subgraphs[name]
    _scan_search_path()
    with _lock:
        path = _subgraph_files.get(name)
    if path is not None:
        from mediagraph.config.loader import load_config

        return "subgraph", load_config(path)
    return None


def _scan_search_path() -> None:
    folders = list(_search_path)
    env = os.environ.get("MEDIAGRAPH_GRAPH_PATH", "")
    folders += [Path(p).resolve() for p in env.split(os.pathsep) if p]
    if _PROJECT_GRAPHS.is_dir():
        folders.append(_PROJECT_GRAPHS)
    from mediagraph.config.loader import peek_type

    for folder in folders:
        if folder in _scanned or not folder.is_dir():
            continue
        with _lock:
            _scanned.add(folder)
        for path in sorted(folder.rglob("*.pbtxt")):
            type_name = peek_type(path)
            if type_name:
                with _lock:
                    _subgraph_files.setdefault(type_name, path)


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    importlib.import_module("calculators")


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()  # importing the module registers its calculators
        except Exception as exc:  # a broken plugin must not break every config
            import warnings

            warnings.warn(f"entry point {ep.name} ({ep.value}) failed to load: {exc}",
                          stacklevel=2)


def _import_dotted(name: str, allow: tuple[str, ...], node: str | None) -> Any:
    module_name, _, attr = name.rpartition(".")
    if not all(part.isidentifier() for part in name.split(".")):
        raise UnknownCalculatorError(f"calculator '{name}' is neither a registered name nor a "
                                     "dotted path pkg.module.Class", node=node)
    top = module_name.split(".")[0]
    if not _allowed(module_name, allow):
        raise UnknownCalculatorError(
            f"calculator '{name}' is a dotted path; importing code from a config is off by "
            f"default: pass allow_imports=['{top}'] (CLI: --allow-import {top}) to allow it",
            node=node)
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise UnknownCalculatorError(f"cannot import calculator '{name}': {exc}",
                                     node=node) from None
    except Exception as exc:  # the allowed module itself is broken: keep the cause
        raise UnknownCalculatorError(f"cannot import calculator '{name}': importing "
                                     f"'{module_name}' raised {type(exc).__name__}: {exc}",
                                     node=node) from exc
    from mediagraph.calculator import Calculator

    if not (isinstance(cls, type) and issubclass(cls, Calculator)):
        raise UnknownCalculatorError(f"'{name}' is not a Calculator subclass", node=node)
    return cls


def _allowed(module_name: str, allow: Iterable[str]) -> bool:
    """Whether `module_name` is one of the allowed packages or inside one.

    Matching stops at package boundaries: allowing "pkg" allows "pkg" and "pkg.sub", never
    "pkg_evil". Empty prefixes allow nothing.
    """
    for prefix in allow:
        prefix = prefix.strip().strip(".")
        if prefix and (module_name == prefix or module_name.startswith(prefix + ".")):
            return True
    return False


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
