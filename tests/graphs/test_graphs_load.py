"""Every config in graphs/ loads and validates."""

from __future__ import annotations

from pathlib import Path

import pytest

import mediagraph as mg

GRAPHS = sorted((Path(__file__).resolve().parents[2] / "graphs").glob("*.pbtxt"))


def test_there_are_graphs():
    assert len(GRAPHS) >= 5


@pytest.mark.parametrize("path", GRAPHS, ids=lambda p: p.name)
def test_graph_loads_and_validates(path):
    graph = mg.Graph(path)
    assert graph.spec.nodes
    assert mg.parse_config(mg.to_text(graph.config)) == graph.config
