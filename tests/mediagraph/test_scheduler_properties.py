"""Property test: random DAGs under random timing give exactly the synchronous reference."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mediagraph as mg
from tests.mediagraph import sched_calcs  # noqa: F401  (registers RandomNode)

pytestmark = pytest.mark.timeout(300)


@st.composite
def random_graphs(draw):
    n_inputs = draw(st.integers(1, 2))
    n_nodes = draw(st.integers(1, 7))
    streams = [f"in{i}" for i in range(n_inputs)]
    nodes = []
    for k in range(n_nodes):
        sources = draw(st.lists(st.sampled_from(streams), min_size=1, max_size=3, unique=True))
        add = draw(st.integers(0, 5))
        drop_mod = draw(st.sampled_from([0, 0, 2, 3]))
        nodes.append((f"s{k}", sources, add, drop_mod))
        streams.append(f"s{k}")
    length = draw(st.integers(0, 25))
    feeds = {}
    for i in range(n_inputs):
        present = draw(st.lists(st.booleans(), min_size=length, max_size=length))
        feeds[f"in{i}"] = [(t * 3 + i, t) for t in range(length) if present[t]]
    max_queue = draw(st.sampled_from([1, 2, 5, 100, -1]))
    threads = draw(st.integers(1, 4))
    return n_inputs, nodes, feeds, max_queue, threads


def reference(n_inputs, nodes, feeds):
    by_stream = {name: dict((ts, v) for v, ts in items) for name, items in feeds.items()}
    for name, sources, add, drop_mod in nodes:
        out = {}
        stamps = sorted(set().union(*(by_stream[s].keys() for s in sources)))
        for ts in stamps:
            present = [by_stream[s][ts] for s in sources if ts in by_stream[s]]
            total = sum(present) + add
            if drop_mod and total % drop_mod == 0:
                continue
            out[ts] = total
        by_stream[name] = out
    return by_stream


def config_text(n_inputs, nodes, max_queue, threads):
    lines = [f"max_queue_size: {max_queue}", f"num_threads: {threads}"]
    lines += [f'input_stream: "in{i}"' for i in range(n_inputs)]
    for name, sources, add, drop_mod in nodes:
        ins = " ".join(f'input_stream: "{s}"' for s in sources)
        lines.append(f'node {{ calculator: "RandomNode" {ins} output_stream: "{name}" '
                     f'node_options {{ [type.googleapis.com/mediagraph.RandomNodeOptions] '
                     f'{{ add: {add} drop_mod: {drop_mod} jitter_us: 200 }} }} }}')
    return "\n".join(lines)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_graphs())
def test_random_dags_match_the_synchronous_reference(case):
    n_inputs, nodes, feeds, max_queue, threads = case
    graph = mg.Graph(config_text(n_inputs, nodes, max_queue, threads))
    names = [name for name, *_ in nodes]
    out = graph.run(feeds, outputs=names, timeout=60)
    expected = reference(n_inputs, nodes, feeds)
    for name in names:
        got = [(int(p.timestamp), p.value) for p in out[name]]
        assert got == sorted(expected[name].items()), name
