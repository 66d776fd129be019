"""`mediagraph.__all__` lists exactly the package's public names, sorted (httpx's check)."""

from __future__ import annotations

import inspect

import mediagraph


def _public_names() -> list[str]:
    return sorted(name for name, value in vars(mediagraph).items()
                  if not name.startswith("_") and not inspect.ismodule(value))


def test_all_is_the_sorted_public_names():
    assert mediagraph.__all__ == _public_names()


def test_all_names_exist():
    missing = [name for name in mediagraph.__all__ if not hasattr(mediagraph, name)]
    assert missing == []
    assert len(set(mediagraph.__all__)) == len(mediagraph.__all__)


def test_star_import_gives_all():
    namespace: dict[str, object] = {}
    exec("from mediagraph import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == mediagraph.__all__


def test_submodules_are_not_exported():
    import mediagraph.testing  # noqa: F401  (a submodule now bound on the package)

    assert "testing" not in mediagraph.__all__
    assert mediagraph.__all__ == _public_names()
