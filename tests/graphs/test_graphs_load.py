"""Every config in graphs/ loads and validates."""

from __future__ import annotations

from pathlib import Path

import pytest

import mediagraph as mg

GRAPHS = sorted((Path(__file__).resolve().parents[2] / "graphs").glob("*.pbtxt"))


def test_there_are_graphs():
    assert len(GRAPHS) >= 5


# Subgraph templates that only their users complete: validated alone they lack what the
# users' options fill in (a model, anchors), and validation says so before any run.
TEMPLATES = {
    "face_detection.pbtxt": ("no model: set model_path or the MODEL side packet",
                             ["face_detection_short_range.pbtxt",
                              "face_detection_full_range.pbtxt"]),
}


@pytest.mark.parametrize("path", [p for p in GRAPHS if p.name not in TEMPLATES],
                         ids=lambda p: p.name)
def test_graph_loads_and_validates(path):
    graph = mg.Graph(path)
    assert graph.spec.nodes
    assert mg.parse_config(mg.to_text(graph.config)) == graph.config


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_a_template_validates_through_its_users_only(name):
    missing, users = TEMPLATES[name]
    with pytest.raises(mg.GraphConfigError, match=missing):
        mg.Graph(GRAPHS[0].parent / name)
    for user in users:
        assert mg.Graph(GRAPHS[0].parent / user).spec.nodes
