"""Where calculator and subgraph names resolve: a leaf module that imports no other part.

Lookup order for a node's `calculator:` name:
1. calculators registered in this process (every `Calculator` subclass registers itself
   by class name). On the first lookup every package of the `mediagraph.calculators`
   entry-point group is imported: mediagraph's own calculators are one such package,
   a third-party plugin another, found the same way;
2. subgraphs registered from Python (`register_subgraph`);
3. finders added with `add_finder` (`mediagraph.config.library` adds one for `.pbtxt`
   files on the graph search path and in the `mediagraph.graphs` entry-point group);
4. a dotted path `pkg.mod.Class`, imported only when the caller allows that package
   (`allow_imports=["pkg"]`): loading a config never runs code by default.

A name may carry MediaPipe's namespace (`mediapipe.Foo`, `::mediapipe::Foo`); the
config's `package` is tried as a prefix first.
"""

from __future__ import annotations

import difflib
import importlib
import threading
import warnings
from typing import Any, Callable, Iterable, Union

from mediagraph.errors import GraphConfigError, UnknownCalculatorError

SubgraphSource = Union[Any, Callable[[Any], Any]]  # a config message, or options -> config
Finder = Callable[[str], Any]  # a name -> a subgraph config, or None

_lock = threading.RLock()
_calculators: dict[str, type] = {}
_subgraphs: dict[str, SubgraphSource] = {}
_rewrites: dict[str, Callable[..., Any]] = {}
_converters: dict[str, Callable[..., Any]] = {}
_finder_entries: list[tuple[Finder, Callable[[], Iterable[str]] | None]] = []
_plugins_loaded = False
_plugins_loading = False

ENTRY_POINT_GROUP = "mediagraph.calculators"


def register_calculator(name: str, cls: type) -> None:
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


def add_finder(finder: Finder, *, names: Callable[[], Iterable[str]] | None = None) -> None:
    """Consult `finder(name)` for names no calculator or registered subgraph has.

    `names()`, when given, lists what the finder knows, for "did you mean" hints.
    """
    with _lock:
        if all(f is not finder for f, _ in _finder_entries):
            _finder_entries.append((finder, names))


def register_rewrite(name: str, rewrite: Callable[..., Any]) -> None:
    """Register a config rewrite that `Graph(config, <name>=value)` applies after expansion.

    `rewrite(expanded_config, value, source=...)` edits the config in place. This is how a
    calculator package offers a whole-graph switch (the inference package registers
    "inference_delegate") without the framework knowing its calculators.
    """
    with _lock:
        _rewrites[name] = rewrite


def find_rewrite(name: str) -> Callable[..., Any] | None:
    """The config rewrite registered under `name`, or None."""
    load_plugins()
    with _lock:
        return _rewrites.get(name)


def register_converter(target: str, convert: Callable[..., Any]) -> None:
    """Register `convert(model_path) -> Path` as `mediagraph models convert X --to <target>`.

    A backend package offers its runtime's model format this way (the inference package
    registers "openvino", "mnn"), so the model cache's command line needs no runtime code.
    """
    with _lock:
        _converters[target] = convert


def find_converter(target: str) -> Callable[..., Any] | None:
    """The model converter registered for `target`, or None."""
    load_plugins()
    with _lock:
        return _converters.get(target)


def converter_targets() -> list[str]:
    load_plugins()
    with _lock:
        return sorted(_converters)


def calculator_names() -> list[str]:
    load_plugins()
    with _lock:
        return sorted(_calculators)


def find_calculator(name: str) -> type | None:
    """The registered calculator class called `name`, or None."""
    load_plugins()
    with _lock:
        return _calculators.get(name)


def resolve(name: str, *, package: str = "", allow_imports: Iterable[str] = (),
            node: str | None = None) -> tuple[str, Any]:
    """Resolve a node's `calculator:` into ("calculator", cls) or ("subgraph", source).

    A dotted path that the caller allowed is imported as it is: the validator checks
    that what it names is a Calculator.
    """
    load_plugins()
    for candidate in _candidates(name, package):
        found = _lookup(candidate)
        if found is not None:
            return found
    if "." in name.strip(".:") and not name.startswith(("mediapipe.", "::")):
        # One package given as a bare string is one prefix, not one per character.
        allow = (allow_imports,) if isinstance(allow_imports, str) else tuple(allow_imports)
        return "calculator", _import_dotted(name, allow, node)
    with _lock:
        known = list(_calculators) + list(_subgraphs)
        listers = [names for _, names in _finder_entries if names is not None]
    for names in listers:
        known += list(names())
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
        finders = [finder for finder, _ in _finder_entries]
    for finder in finders:
        found = finder(name)
        if found is not None:
            return "subgraph", found
    return None


def load_plugins() -> None:
    """Import every package of the `mediagraph.calculators` entry-point group, once.

    Importing a package registers its calculators (and their option messages). A plugin
    that fails to import is reported as a warning: it must not break every config.
    """
    global _plugins_loaded, _plugins_loading
    if _plugins_loaded:
        return
    # Other threads wait on the lock until every plugin is in; the loading thread itself
    # re-enters (a plugin may look names up while it imports) and sees what is there so far.
    with _lock:
        if _plugins_loaded or _plugins_loading:
            return
        _plugins_loading = True
        try:
            from importlib.metadata import entry_points

            for ep in entry_points(group=ENTRY_POINT_GROUP):
                try:
                    ep.load()
                except Exception as exc:
                    warnings.warn(f"entry point {ep.name} ({ep.value}) of {ENTRY_POINT_GROUP} "
                                  f"failed to load: {exc}", stacklevel=2)
        finally:
            _plugins_loading = False
            _plugins_loaded = True


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
