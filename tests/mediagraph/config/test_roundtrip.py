"""Configs written in MediaPipe's own syntax load, validate, run and survive round trips.

Text -> message -> text -> message, and message -> `.binarypb` -> message, must give the
same message; option types no calculator declares are tolerated in both forms (binary
keeps their bytes); `GraphBuilder` builds exactly what the equivalent text does.
"""

from __future__ import annotations

import pytest

import mediagraph
from mediagraph import (Calculator, GraphBuilder, Input, Inputs, Options, Output, load_config,
                        option, parse_config, register_subgraph, to_binary, to_text)
from mediagraph.config import pool
from mediagraph.config.loader import source_info

RUN_TIMEOUT = 10.0


class RtScaleOptions(Options, proto_name="mediapipe.RtScaleOptions", extension=390501001):
    factor: int = option(1, default=1)
    label: str = option(2, default="")
    weights: tuple[float, ...] = option(3, default=())


class RtScale(Calculator):
    """Multiplies each int by `factor`."""

    Options = RtScaleOptions
    value = Input(int, tag="IN")
    out = Output(int, tag="OUT")

    def process(self, cc):
        cc.send(self.out, cc.get(self.value) * self.options.factor)


class RtSum(Calculator):
    """Sums the inputs present at a timestamp."""

    values = Inputs(int, tag="IN")
    out = Output(int, tag="OUT")

    def process(self, cc):
        cc.send(self.out, sum(v for v in cc.get(self.values) if v is not None))


SUBGRAPH = """
# A subgraph in MediaPipe's form: registered by its type, options from the parent node.
type: "RtScaleTwiceSubgraph"
input_stream: "IN:sub_in"
output_stream: "OUT:sub_out"
graph_options {
  [type.googleapis.com/mediapipe.RtScaleOptions] { factor: 5 label: "from graph_options" }
}
node {
  name: "first"
  calculator: "RtScale"
  input_stream: "IN:sub_in"
  output_stream: "OUT:between"
  option_value: "factor:options/factor"
}
node {
  name: "second"
  calculator: "RtScale"
  input_stream: "IN:between"
  output_stream: "OUT:sub_out"
  option_value: "OPTIONS:options"
}
"""
register_subgraph(parse_config(SUBGRAPH, source="rt_scale_twice.pbtxt"))

CONFIGS = {
    "extension_options": """
input_stream: "in"
output_stream: "out"
node {
  calculator: "RtScale"
  input_stream: "IN:in"
  output_stream: "OUT:out"
  options {
    [mediapipe.RtScaleOptions.ext] { factor: 3 label: "ext" weights: 0.5 weights: 1.5 }
  }
}
""",
    "any_options": """
input_stream: "in"
output_stream: "out"
node {
  calculator: "RtScale"
  input_stream: "IN:in"
  output_stream: "OUT:out"
  node_options {
    [type.googleapis.com/mediapipe.RtScaleOptions] { factor: 4 label: "any" }
  }
}
""",
    "back_edge": """
input_stream: "in"
output_stream: "total"
node {
  name: "accumulate"
  calculator: "RtSum"
  input_stream: "IN:0:in"
  input_stream: "IN:1:previous"
  output_stream: "OUT:total"
  input_stream_info { tag_index: "IN:1" back_edge: true }
  input_stream_handler { input_stream_handler: "ImmediateInputStreamHandler" }
}
node {
  name: "feedback"
  calculator: "RtScale"
  input_stream: "IN:total"
  output_stream: "OUT:previous"
}
""",
    "executors": """
input_stream: "in"
output_stream: "out"
num_threads: 2
executor {
  name: "pool"
  type: "ThreadPoolExecutor"
  options {
    [mediapipe.ThreadPoolExecutorOptions.ext] { num_threads: 3 thread_name_prefix: "rt-pool" }
  }
}
node {
  calculator: "RtScale"
  input_stream: "IN:in"
  output_stream: "OUT:mid"
  executor: "pool"
}
node {
  calculator: "RtScale"
  input_stream: "IN:mid"
  output_stream: "OUT:out"
}
""",
    "fixed_size_handler": """
input_stream: "in"
output_stream: "out"
max_queue_size: 8
input_stream_handler { input_stream_handler: "DefaultInputStreamHandler" }
node {
  calculator: "RtScale"
  input_stream: "IN:in"
  output_stream: "OUT:out"
  input_stream_handler {
    input_stream_handler: "FixedSizeInputStreamHandler"
    options {
      [mediapipe.FixedSizeInputStreamHandlerOptions.ext] {
        trigger_queue_size: 3
        target_queue_size: 2
        fixed_min_size: true
      }
    }
  }
}
""",
    "subgraph_user": """
input_stream: "frames"
output_stream: "scaled"
node {
  name: "twice"
  calculator: "RtScaleTwiceSubgraph"
  input_stream: "IN:frames"
  output_stream: "OUT:scaled"
  options { [mediapipe.RtScaleOptions.ext] { factor: 2 } }
}
""",
    "subgraph_defaults": """
input_stream: "frames"
output_stream: "scaled"
node {
  calculator: "RtScaleTwiceSubgraph"
  input_stream: "IN:frames"
  output_stream: "OUT:scaled"
}
""",
    "subgraph_definition": SUBGRAPH,
}

# What each config computes on the inputs 1, 2, 3 (None: not run).
EXPECTED_OUTPUTS = {
    "extension_options": ("out", [3, 6, 9]),
    "any_options": ("out", [4, 8, 12]),
    "back_edge": None,  # a loop needs a delay calculator; validation is what is tested
    "executors": ("out", [1, 2, 3]),
    "fixed_size_handler": ("out", [1, 2, 3]),
    "subgraph_user": ("scaled", [4, 8, 12]),
    "subgraph_defaults": ("scaled", [25, 50, 75]),
    "subgraph_definition": ("sub_out", [25, 50, 75]),
}


def _stream(config_name: str) -> str:
    return "sub_in" if config_name == "subgraph_definition" else (
        "frames" if config_name.startswith("subgraph") else "in")


@pytest.fixture(params=sorted(CONFIGS))
def named_config(request):
    return request.param, CONFIGS[request.param]


def test_text_roundtrip_is_identical(named_config):
    _, text = named_config
    config = parse_config(text)
    printed = to_text(config)
    again = parse_config(printed)
    assert again == config
    assert to_text(again) == printed


def test_mediapipe_config_validates(named_config):
    _, text = named_config
    graph = mediagraph.Graph(parse_config(text))
    assert graph.spec.nodes


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED_OUTPUTS.items() if e))
def test_mediapipe_config_runs(name):
    stream, expected = EXPECTED_OUTPUTS[name]
    graph = mediagraph.Graph(CONFIGS[name])
    out = graph.run({_stream(name): [(v, t) for t, v in enumerate([1, 2, 3])]},
                    timeout=RUN_TIMEOUT)
    assert [p.value for p in out[stream]] == expected
    assert [int(p.timestamp) for p in out[stream]] == [0, 1, 2]


@pytest.mark.parametrize("suffix", [".binarypb", ".pb"])
def test_binary_file_roundtrip_is_identical(named_config, tmp_path, suffix):
    _, text = named_config
    config = parse_config(text)
    path = tmp_path / f"graph{suffix}"
    path.write_bytes(to_binary(config))
    loaded = load_config(path)
    assert loaded == config
    assert to_binary(loaded) == path.read_bytes()
    mediagraph.Graph(loaded)


def test_text_file_roundtrip_is_identical(named_config, tmp_path):
    _, text = named_config
    path = tmp_path / "graph.pbtxt"
    path.write_text(text)
    loaded = load_config(path)
    assert loaded == parse_config(text)
    assert source_info(loaded).source == str(path)


# -- what the configs mean once validated -------------------------------------------------


def _spec(name: str):
    return mediagraph.Graph(parse_config(CONFIGS[name])).spec


def test_both_option_syntaxes_reach_the_calculator():
    ext = _spec("extension_options").nodes[0].options
    assert ext == RtScaleOptions(factor=3, label="ext", weights=(0.5, 1.5))
    assert _spec("any_options").nodes[0].options == RtScaleOptions(factor=4, label="any")


def test_options_win_over_node_options_of_the_same_type():
    text = CONFIGS["extension_options"].replace(
        "  options {", "  node_options { [type.googleapis.com/mediapipe.RtScaleOptions] "
        "{ factor: 99 } }\n  options {")
    assert mediagraph.Graph(text).spec.nodes[0].options.factor == 3


def test_back_edge_is_marked_and_breaks_the_cycle():
    graph = mediagraph.Graph(CONFIGS["back_edge"])
    accumulate = graph.spec.nodes[0]
    assert [(b.name, b.back_edge) for b in accumulate.inputs] == [("in", False),
                                                                  ("previous", True)]
    back = [d for _, _, d in graph.dag.edges(data=True) if d["back_edge"]]
    assert [d["stream"] for d in back] == ["previous"]
    assert accumulate.handler == "ImmediateInputStreamHandler"


def test_executor_options_are_read():
    spec = _spec("executors")
    assert spec.executors["pool"].num_threads == 3
    assert spec.executors["pool"].thread_name_prefix == "rt-pool"
    assert spec.executors[""].num_threads == 2
    assert [n.executor for n in spec.nodes] == ["pool", ""]


def test_fixed_size_handler_options_are_read():
    node = _spec("fixed_size_handler").nodes[0]
    assert node.handler == "FixedSizeInputStreamHandler"
    ext = pool.find_extension("mediapipe.FixedSizeInputStreamHandlerOptions.ext")
    fixed = node.handler_options.Extensions[ext]
    assert (fixed.trigger_queue_size, fixed.target_queue_size, fixed.fixed_min_size) == (3, 2, True)


def test_subgraph_is_expanded_with_renamed_streams_and_copied_options():
    spec = _spec("subgraph_user")
    assert [n.name for n in spec.nodes] == ["twice__first", "twice__second"]
    first, second = spec.nodes
    assert [b.name for b in first.inputs] == ["frames"]
    assert [b.name for b in first.outputs] == [b.name for b in second.inputs] == ["twice__between"]
    assert [b.name for b in second.outputs] == ["scaled"]
    # "factor:options/factor" copies one field; "OPTIONS:options" the whole merged message.
    assert first.options == RtScaleOptions(factor=2)
    assert second.options == RtScaleOptions(factor=2, label="from graph_options")
    assert first.origin.source == "rt_scale_twice.pbtxt"
    assert first.origin.path == ("RtScaleTwiceSubgraph 'twice'",)


def test_subgraph_without_node_options_uses_graph_options_defaults():
    first, second = _spec("subgraph_defaults").nodes
    assert first.options == RtScaleOptions(factor=5)
    assert second.options == RtScaleOptions(factor=5, label="from graph_options")


def test_subgraph_found_on_the_search_path(tmp_path):
    (tmp_path / "rt_search_path_subgraph.pbtxt").write_text(
        SUBGRAPH.replace("RtScaleTwiceSubgraph", "RtSearchPathSubgraph"))
    mediagraph.add_search_path(tmp_path)
    text = CONFIGS["subgraph_user"].replace("RtScaleTwiceSubgraph", "RtSearchPathSubgraph")
    first, _ = mediagraph.Graph(text).spec.nodes
    assert first.options.factor == 2
    assert first.origin.source == str(tmp_path / "rt_search_path_subgraph.pbtxt")


def test_subgraph_back_edge_reaches_the_inner_node():
    register_subgraph(parse_config("""
type: "RtSumSubgraph"
input_stream: "IN:0:a"
input_stream: "IN:1:b"
output_stream: "OUT:sum"
node { calculator: "RtSum" input_stream: "IN:0:a" input_stream: "IN:1:b" output_stream: "OUT:sum" }
"""))
    spec = mediagraph.Graph("""
input_stream: "in"
node {
  calculator: "RtSumSubgraph"
  input_stream: "IN:0:in"
  input_stream: "IN:1:loop"
  output_stream: "OUT:total"
  input_stream_info { tag_index: "IN:1" back_edge: true }
}
node { calculator: "RtScale" input_stream: "IN:total" output_stream: "OUT:loop" }
""").spec
    assert [(b.name, b.back_edge) for b in spec.nodes[0].inputs] == [("in", False),
                                                                    ("loop", True)]


# -- option types nobody declares --------------------------------------------------------

UNKNOWN_TEXT = """
input_stream: "in"
output_stream: "out"
graph_options { [type.googleapis.com/other.GraphWideOptions] { mode: FAST } }
node {
  calculator: "RtScale"
  input_stream: "IN:in"
  output_stream: "OUT:out"
  options {
    [mediapipe.RtScaleOptions.ext] { factor: 2 }
    [mediapipe.NotDeclaredOptions.ext] { threshold: 0.5 nested { name: "x" } }
  }
  node_options { [type.googleapis.com/mediapipe.AlsoNotDeclared] { flag: true } }
}
"""


def test_unknown_option_types_are_tolerated_in_text():
    config = parse_config(UNKNOWN_TEXT)
    info = source_info(config)
    assert [(u.type_name, u.line, u.node_index) for u in info.unknown_options] == [
        ("type.googleapis.com/other.GraphWideOptions", 4, None),
        ("mediapipe.NotDeclaredOptions.ext", 11, 0),
        ("type.googleapis.com/mediapipe.AlsoNotDeclared", 13, 0),
    ]
    assert "nested" in info.unknown_options[1].text
    graph = mediagraph.Graph(config)
    assert graph.spec.nodes[0].options == RtScaleOptions(factor=2)
    printed = to_text(config)
    assert "NotDeclared" not in printed and "RtScaleOptions" in printed
    assert parse_config(printed) == config


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _binary_with_unknown_options() -> bytes:
    config = parse_config(CONFIGS["extension_options"])
    node = config.node[0]
    # An extension number no declared options use, holding the message {1: 7}.
    node.options.MergeFromString(_varint(390599999 << 3 | 2) + b"\x02\x08\x07")
    node.node_options.add(type_url="type.googleapis.com/mediapipe.NotDeclaredOptions",
                          value=b"\x08\x07\x12\x01x")
    config.graph_options.add(type_url="type.googleapis.com/other.GraphWideOptions",
                             value=b"\x08\x01")
    return config.SerializeToString(deterministic=True)


def test_unknown_option_types_are_tolerated_in_binary(tmp_path):
    data = _binary_with_unknown_options()
    path = tmp_path / "unknown.binarypb"
    path.write_bytes(data)
    config = load_config(path)
    graph = mediagraph.Graph(config)
    assert graph.spec.nodes[0].options.factor == 3
    assert to_binary(config) == data  # the raw bytes survive re-serialization
    assert config.node[0].node_options[0].value == b"\x08\x07\x12\x01x"
    assert parse_config(to_binary(config)) == config
    # Validation works on an expanded copy and leaves the loaded message as it was.
    assert to_binary(graph.config) == data


# -- GraphBuilder ----------------------------------------------------------------------------

BUILDER_TEXT = """
input_stream: "in"
output_stream: "out"
max_queue_size: 10
executor {
  name: "pool"
  type: "ThreadPoolExecutor"
  options { [mediapipe.ThreadPoolExecutorOptions.ext] { num_threads: 2 } }
}
node {
  name: "scale"
  calculator: "RtScale"
  input_stream: "IN:in"
  output_stream: "OUT:scaled"
  options { [mediapipe.RtScaleOptions.ext] { factor: 3 weights: 0.25 } }
  executor: "pool"
}
node {
  calculator: "RtSum"
  input_stream: "IN:0:scaled"
  input_stream: "IN:1:loop"
  output_stream: "OUT:out"
  input_stream_info { tag_index: "IN:1" back_edge: true }
  input_stream_handler {
    input_stream_handler: "FixedSizeInputStreamHandler"
    options { [mediapipe.FixedSizeInputStreamHandlerOptions.ext] { trigger_queue_size: 4 } }
  }
}
node {
  calculator: "RtScale"
  input_stream: "IN:out"
  output_stream: "OUT:loop"
  option_value: "factor:options/factor"
}
"""


def _builder() -> GraphBuilder:
    handler_options = pool.MediaPipeOptions()
    ext = pool.find_extension("mediapipe.FixedSizeInputStreamHandlerOptions.ext")
    handler_options.Extensions[ext].trigger_queue_size = 4
    b = GraphBuilder(max_queue_size=10)
    b.input_stream("in")
    b.executor("pool", num_threads=2)
    b.node(RtScale, name="scale", inputs={"IN": "in"}, outputs={"OUT": "scaled"},
           options={"factor": 3, "weights": [0.25]}, executor="pool")
    b.node("RtSum", inputs=["IN:0:scaled", "IN:1:loop"], outputs=["OUT:out"],
           back_edges=["IN:1"], input_stream_handler="FixedSizeInputStreamHandler",
           handler_options=handler_options)
    b.node(RtScale, inputs={"IN": "out"}, outputs={"OUT": "loop"},
           option_values=["factor:options/factor"])
    b.output_stream("out")
    return b


def test_builder_builds_the_same_message_as_text():
    built = _builder().build()
    assert built == parse_config(BUILDER_TEXT)
    assert to_binary(built) == to_binary(parse_config(BUILDER_TEXT))


def test_builder_text_reparses_identically():
    b = _builder()
    assert parse_config(b.to_text()) == b.build()
    assert parse_config(b.to_binary()) == b.build()


def test_builder_options_instance_equals_dict():
    a, b = GraphBuilder(), GraphBuilder()
    a.node(RtScale, inputs={"IN": "x"}, outputs={"OUT": "y"}, options=RtScaleOptions(factor=7))
    b.node("RtScale", inputs={"IN": "x"}, outputs={"OUT": "y"}, options={"factor": 7})
    assert a.build() == b.build()


def test_builder_graph_validates_and_runs():
    b = GraphBuilder()
    b.input_stream("in")
    b.node(RtScale, inputs={"IN": "in"}, outputs={"OUT": "out"}, options={"factor": 10})
    b.output_stream("out")
    out = mediagraph.Graph(b).run({"in": [(1, 0), (2, 1)]}, timeout=RUN_TIMEOUT)
    assert [p.value for p in out["out"]] == [10, 20]


def test_source_info_outlives_many_other_loads():
    kept = parse_config(CONFIGS["any_options"], source="kept.pbtxt")
    for _ in range(1500):
        parse_config('input_stream: "x"')
    assert source_info(kept).source == "kept.pbtxt"
    assert source_info(kept).node_lines == [4]


def test_unnamed_nodes_of_one_calculator_in_a_subgraph_get_distinct_names():
    mediagraph.register_subgraph(mediagraph.parse_config("""
        type: "TwoUnnamedPassThroughs"
        input_stream: "IN:a"
        output_stream: "OUT:c"
        node { calculator: "PassThroughCalculator" input_stream: "a" output_stream: "b" }
        node { calculator: "PassThroughCalculator" input_stream: "b" output_stream: "c" }
    """))
    graph = mediagraph.Graph('input_stream: "x" node { calculator: "TwoUnnamedPassThroughs" '
                             'input_stream: "IN:x" output_stream: "OUT:y" }')
    names = [n.name for n in graph.spec.nodes]
    assert len(set(names)) == 2 and names[0].endswith("PassThroughCalculator")
    assert names[1].endswith("PassThroughCalculator_2")
    assert [p.value for p in graph.run({"x": [(1, 0)]}, timeout=10)["y"]] == [1]
