"""Validation's plan: what the scheduler learns about each node, computed in linear time."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mediagraph as mg

GRAPHS = sorted((Path(__file__).resolve().parents[2] / "graphs").glob("*.pbtxt"))


@st.composite
def dags(draw: st.DrawFn) -> str:
    """A random DAG of graph inputs, sources and merge nodes, as a config."""
    inputs = draw(st.integers(0, 3))
    sources = draw(st.integers(0 if inputs else 1, 3))
    streams = [f"in{i}" for i in range(inputs)] + [f"src{i}" for i in range(sources)]
    text = "".join(f'input_stream: "in{i}"\n' for i in range(inputs))
    text += "".join(f'node {{ name: "source{i}" calculator: "CountingSourceCalculator" '
                    f'output_stream: "src{i}" }}\n' for i in range(sources))
    for n in range(draw(st.integers(1, 12))):
        fed = draw(st.lists(st.sampled_from(streams), min_size=1, max_size=3, unique=True))
        text += (f'node {{ name: "merge{n}" calculator: "MergeCalculator" '
                 + "".join(f'input_stream: "{s}" ' for s in fed) + f'output_stream: "m{n}" }}\n')
        streams.append(f"m{n}")
    return text


@settings(max_examples=60, deadline=None)
@given(config=dags())
def test_upstream_sources_and_inputs_match_the_dags_ancestors(config):
    graph = mg.Graph(config)
    forward = nx.DiGraph((u, v) for u, v, back in graph.dag.edges(data="back_edge") if not back)
    forward.add_nodes_from(graph.dag.nodes)
    for node in graph.spec.nodes:
        ancestors = nx.ancestors(forward, node.name)
        by_name = {n.name: n for n in graph.spec.nodes}
        assert node.ancestor_sources == {by_name[a].index for a in ancestors
                                         if a in by_name and by_name[a].is_source}
        assert node.ancestor_inputs == {a[len("@input:"):] for a in ancestors
                                        if a.startswith("@input:")}
    order = sorted(graph.spec.nodes, key=lambda n: n.priority)
    position = {n.name: i for i, n in enumerate(order)}
    assert all(position[u] < position[v] for u, v in forward.edges
               if u in position and v in position)


def test_a_reused_node_name_is_reported_with_its_line():
    text = ('input_stream: "a"\n'
            'node { name: "x" calculator: "PassThroughCalculator" input_stream: "a" '
            'output_stream: "b" }\n'
            'node { name: "x" calculator: "PassThroughCalculator" input_stream: "b" '
            'output_stream: "c" }\n')
    try:
        mg.Graph(text)
    except mg.GraphConfigError as exc:
        assert "node name 'x' is used twice" in str(exc) and exc.line == 3
    else:
        raise AssertionError("a reused node name must fail validation")


def test_nodes_on_a_loop_rank_above_every_other_node():
    # A tracking loop: the previous output comes back over a back edge. Its turn bounds
    # the throughput, so its nodes run before what hangs off it (here: "draw").
    graph = mg.Graph("""
        input_stream: "frames"
        node { name: "loopback" calculator: "PreviousLoopbackCalculator"
               input_stream: "MAIN:frames" input_stream: "LOOP:tracked"
               input_stream_info { tag_index: "LOOP" back_edge: true }
               output_stream: "PREV_LOOP:previous" }
        node { name: "track" calculator: "MergeCalculator"
               input_stream: "previous" input_stream: "frames" output_stream: "tracked" }
        node { name: "draw" calculator: "PassThroughCalculator"
               input_stream: "tracked" output_stream: "drawn" }
        node { name: "other" calculator: "PassThroughCalculator"
               input_stream: "frames" output_stream: "other_out" }
    """)
    rank = {n.name: n.priority for n in graph.spec.nodes}
    assert min(rank["loopback"], rank["track"]) > max(rank["draw"], rank["other"])
    assert rank["track"] > rank["loopback"]  # inside the loop: still sinks first


def networkx_priorities(graph: mg.Graph) -> dict[str, int]:
    """Each node's priority as validation chose it with networkx: its rank in
    `nx.topological_sort` of the forward edges, plus the node count for nodes on a loop."""
    forward = nx.DiGraph()
    forward.add_nodes_from(graph.dag.nodes)
    forward.add_edges_from((u, v) for u, v, back in graph.dag.edges(data="back_edge")
                           if not back)
    order = list(nx.topological_sort(forward))
    priority = {name: rank for rank, name in enumerate(order)}
    for component in nx.strongly_connected_components(nx.DiGraph(graph.dag)):
        if len(component) > 1:
            for name in component:
                priority[name] += len(order)
    return {n.name: priority[n.name] for n in graph.spec.nodes}


@pytest.mark.parametrize("path", [p for p in GRAPHS if p.name != "face_detection.pbtxt"],
                         ids=lambda p: p.name)
def test_priorities_are_networkx_topological_ranks_with_loops_first(path):
    # Validation orders nodes without networkx; the scheduler's priorities must stay
    # those networkx gave (tracking graphs carry loops, so the boost is covered too).
    graph = mg.Graph(path)
    assert {n.name: n.priority for n in graph.spec.nodes} == networkx_priorities(graph)


@settings(max_examples=60, deadline=None)
@given(config=dags())
def test_random_dag_priorities_are_networkx_topological_ranks(config):
    graph = mg.Graph(config)
    assert {n.name: n.priority for n in graph.spec.nodes} == networkx_priorities(graph)


def test_the_dag_holds_every_node_stream_and_side_packet():
    graph = mg.Graph('''
      input_stream: "a"
      node { name: "side" calculator: "ConstantSidePacketCalculator"
             output_side_packet: "PACKET:path"
             options { [mediapipe.ConstantSidePacketCalculatorOptions.ext] {
               packet { string_value: "in.mp4" } } } }
      node { name: "decode" calculator: "VideoDecoderCalculator"
             input_side_packet: "INPUT_FILE_PATH:path" output_stream: "VIDEO:v" }
      node { name: "pass" calculator: "PassThroughCalculator" input_stream: "a"
             output_stream: "b" }
    ''')
    dag = graph.dag
    assert isinstance(dag, nx.MultiDiGraph) and graph.dag is dag
    assert dict(dag.nodes(data="calculator")) == {
        "side": "ConstantSidePacketCalculator", "decode": "VideoDecoderCalculator",
        "pass": "PassThroughCalculator", "@input:a": None}
    assert sorted((u, v, d["stream"], d["kind"]) for u, v, d in dag.edges(data=True)) == [
        ("@input:a", "pass", "a", "stream"), ("side", "decode", "path", "side")]
