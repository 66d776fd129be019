"""Every bad config raises a GraphConfigError that says what is wrong and where.

Each row names the error class, words its message must contain (the node and/or stream
involved among them) and the line the error points at. Configs are written without a
leading newline, so line numbers count from their first row.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import pytest

import mediagraph
import mediagraph as mg
from mediagraph import (Calculator, ConfigSyntaxError, GraphConfigError, Input, Inputs,
                        Options, OptionsError, Output, SideInput, SideOutput, SubgraphError,
                        UnknownCalculatorError, load_config, option, parse_config,
                        register_subgraph)


class BadScaleOptions(Options, proto_name="mediapipe.BadScaleOptions", extension=390502001):
    factor: int = option(1, default=1)
    name: str = option(2, default="")


class BadOtherOptions(Options, proto_name="mediapipe.BadOtherOptions", extension=390502002):
    level: int = option(1, default=0)


class BadScale(Calculator):
    Options = BadScaleOptions
    value = Input(int, tag="IN")
    out = Output(int, tag="OUT")

    def process(self, cc):
        cc.send(self.out, cc.get(self.value) * self.options.factor)


class BadOther(Calculator):
    Options = BadOtherOptions
    value = Input(int, tag="IN")
    out = Output(int, tag="OUT")

    def process(self, cc):
        cc.send(self.out, cc.get(self.value))


class BadText(Calculator):
    value = Input(str, tag="IN")
    out = Output(str, tag="OUT")

    def process(self, cc):
        cc.send(self.out, cc.get(self.value))


class BadMerge(Calculator):
    values = Inputs(int, tag="IN")
    out = Output(int, tag="OUT")

    def process(self, cc):
        cc.send(self.out, sum(v for v in cc.get(self.values) if v is not None))


class BadSideSource(Calculator):
    value = Input(int, tag="IN")
    side = SideOutput(int, tag="SIDE")
    reader = SideInput(int, tag="READ", optional=True)

    def process(self, cc):
        pass


def _rows(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def _register_subgraphs() -> None:
    for name, other in (("BadLoopA", "BadLoopB"), ("BadLoopB", "BadLoopA")):
        register_subgraph(parse_config(_rows(
            f'type: "{name}"', 'input_stream: "IN:x"', 'output_stream: "OUT:y"',
            f'node {{ calculator: "{other}" input_stream: "IN:x" output_stream: "OUT:y" }}'),
            source=f"{name}.pbtxt"))
    register_subgraph(parse_config(_rows(
        'type: "BadPlainSubgraph"',
        'input_stream: "IN:x"',
        'output_stream: "OUT:y"',
        'node { calculator: "BadScale" input_stream: "IN:x" output_stream: "OUT:y" }')))
    register_subgraph(parse_config(_rows(
        'type: "BadOptionValueSubgraph"',
        'input_stream: "IN:x"',
        'output_stream: "OUT:y"',
        'graph_options { [type.googleapis.com/mediapipe.BadScaleOptions] { factor: 2 } }',
        'node {',
        '  name: "inner"',
        '  calculator: "BadScale"',
        '  input_stream: "IN:x"',
        '  output_stream: "OUT:y"',
        '  option_value: "factor:options/missing"',
        '}')))
    register_subgraph(parse_config(_rows(
        'type: "BadInnerUnknownSubgraph"',
        'input_stream: "IN:x"',
        'output_stream: "OUT:y"',
        'node {',
        '  calculator: "BadScale"',
        '  input_stream: "IN:x"',
        '  output_stream: "OUT:mid"',
        '}',
        'node {',
        '  calculator: "NoSuchInnerCalculator"',
        '  input_stream: "IN:mid"',
        '  output_stream: "OUT:y"',
        '}'), source="bad_inner.pbtxt"))
    register_subgraph(parse_config(_rows(
        'type: "BadInnerStreamSubgraph"',
        'input_stream: "IN:x"',
        'output_stream: "OUT:y"',
        'node { calculator: "BadScale" input_stream: "IN:Upper" output_stream: "OUT:y" }')))


_register_subgraphs()

SCALE = ('node {', '  name: "scale"', '  calculator: "BadScale"', '  input_stream: "IN:a"',
         '  output_stream: "OUT:b"')  # rows 2-6 after an input_stream row; close with "}"


@dataclass(frozen=True)
class Bad:
    id: str
    text: str
    error: type[GraphConfigError]
    words: tuple[str, ...]
    line: int | None
    source: str = "<string>"


CASES = [
    # -- text that does not parse -------------------------------------------------------------
    Bad("syntax_error", _rows(
        'input_stream: "a"',
        'node {',
        '  calculator "BadScale"',
        '}'), ConfigSyntaxError, ('Expected ":"', "node #0"), 3),
    Bad("unterminated_block", _rows(
        'input_stream: "a"',
        'node {',
        '  calculator: "BadScale"',
        '  input_stream: "IN:a"'), ConfigSyntaxError, ('Expected "}"', "node #0"), 4),
    Bad("unknown_top_level_field", _rows(
        'input_stream: "a"',
        'max_queue_sise: 3'), ConfigSyntaxError,
        ('no field named "max_queue_sise"', "did you mean 'max_queue_size'"), 2),
    Bad("unknown_node_field", _rows(
        'input_stream: "a"',
        'node {',
        '  calculator: "BadScale"',
        '  input_streams: "IN:a"',
        '}'), ConfigSyntaxError,
        ('no field named "input_streams"', "did you mean 'input_stream'", "node #0"), 4),
    # -- calculators and ports -------------------------------------------------------------------
    Bad("unknown_calculator", _rows(
        'input_stream: "a"',
        'node {',
        '  name: "detector"',
        '  calculator: "BadScal"',
        '  input_stream: "IN:a"',
        '}'), UnknownCalculatorError,
        ("node 'detector'", "'BadScal'", "did you mean 'BadScale'"), 2),
    Bad("unknown_calculator_inside_subgraph", _rows(
        'input_stream: "a"',
        'node {',
        '  calculator: "BadInnerUnknownSubgraph"',
        '  input_stream: "IN:a"',
        '  output_stream: "OUT:b"',
        '}'), UnknownCalculatorError, ("'NoSuchInnerCalculator'",), 9, source="bad_inner.pbtxt"),
    Bad("node_without_calculator", _rows(
        'input_stream: "a"',
        'node {',
        '  input_stream: "IN:a"',
        '}'), GraphConfigError, ("node #0", "has no calculator"), 2),
    Bad("unknown_tag", _rows(
        'input_stream: "a"', *SCALE[:3],
        '  input_stream: "INN:a"',
        '  output_stream: "OUT:b"',
        '}'), GraphConfigError, ("node 'scale'", "INN", "'a'", "did you mean 'IN'"), 2),
    Bad("required_port_unconnected", _rows(
        'input_stream: "a"', *SCALE[:3],
        '  output_stream: "OUT:b"',
        '}'), GraphConfigError, ("node 'scale'", "required input stream IN", "not connected"), 2),
    Bad("duplicate_producer", _rows(
        'input_stream: "a"', *SCALE, '}',
        'node {',
        '  name: "again"',
        '  calculator: "BadScale"',
        '  input_stream: "IN:a"',
        '  output_stream: "OUT:b"',
        '}'), GraphConfigError, ("stream 'b' has two producers", "'scale'", "'again'"), 8),
    Bad("missing_producer", _rows(
        'input_stream: "a"', *SCALE[:3],
        '  input_stream: "IN:nowhere"',
        '  output_stream: "OUT:b"',
        '}'), GraphConfigError, ("'nowhere'", "node 'scale'", "produced by no node"), 2),
    Bad("duplicate_graph_input_stream", _rows(
        'input_stream: "a"',
        'input_stream: "a"'), GraphConfigError, ("graph input stream 'a'", "declared twice"), 2),
    Bad("bad_graph_input_stream_name", _rows(
        'input_stream: "Frames"'), GraphConfigError, ("'Frames'", "[a-z_][a-z0-9_]*"), 1),
    Bad("graph_output_stream_without_producer", _rows(
        'input_stream: "a"', *SCALE, '}',
        'output_stream: "missing"'), GraphConfigError,
        ("graph output stream 'missing'", "produced by no node"), 8),
    Bad("duplicate_node_name", _rows(
        'input_stream: "a"', *SCALE, '}',
        'node {',
        '  name: "scale"',
        '  calculator: "BadScale"',
        '  input_stream: "IN:a"',
        '  output_stream: "OUT:c"',
        '}'), GraphConfigError, ("node name 'scale'", "used twice"), 8),
    Bad("duplicate_side_packet_producer", _rows(
        'input_stream: "a"',
        'node { name: "one" calculator: "BadSideSource" input_stream: "IN:a" '
        'output_side_packet: "SIDE:s" }',
        'node { name: "two" calculator: "BadSideSource" input_stream: "IN:a" '
        'output_side_packet: "SIDE:s" }'), GraphConfigError,
        ("side packet 's' has two producers", "'one'", "'two'"), 3),
    # -- cycles and back edges -------------------------------------------------------------------
    Bad("unannotated_cycle", _rows(
        'input_stream: "a"',
        'node { name: "left" calculator: "BadMerge" input_stream: "IN:0:a" '
        'input_stream: "IN:1:c" output_stream: "OUT:b" }',
        'node { name: "right" calculator: "BadScale" input_stream: "IN:b" '
        'output_stream: "OUT:c" }'), GraphConfigError,
        ("cycle without a back edge", "left", "right", "[b]", "[c]", "back_edge"), 2),
    Bad("back_edge_tag_index_names_no_input", _rows(
        'input_stream: "a"', *SCALE,
        '  input_stream_info { tag_index: "IN:1" back_edge: true }',
        '}'), GraphConfigError, ("node 'scale'", "tag_index 'IN:1'", "names no input stream"), 2),
    Bad("back_edge_tag_index_bad_grammar", _rows(
        'input_stream: "a"', *SCALE,
        '  input_stream_info { tag_index: "in" back_edge: true }',
        '}'), GraphConfigError, ("node 'scale'", "tag_index 'in'"), 2),
    # -- stream name grammar and indexes ---------------------------------------------------------
    Bad("uppercase_stream_name", _rows(
        'input_stream: "a"', *SCALE[:3],
        '  input_stream: "IN:Frames"',
        '  output_stream: "OUT:b"',
        '}'), GraphConfigError, ("node 'scale'", "'IN:Frames'", "[a-z_][a-z0-9_]*"), 2),
    Bad("bad_index_leading_zero", _rows(
        'input_stream: "a"',
        'node {',
        '  name: "merge"',
        '  calculator: "BadMerge"',
        '  input_stream: "IN:01:a"',
        '  output_stream: "OUT:b"',
        '}'), GraphConfigError, ("node 'merge'", "'IN:01:a'", "index '01'"), 2),
    Bad("empty_tag", _rows(
        'input_stream: "a"', *SCALE[:3],
        '  input_stream: ":a"',
        '  output_stream: "OUT:b"',
        '}'), GraphConfigError, ("node 'scale'", "':a'", "empty tag"), 2),
    Bad("duplicate_index", _rows(
        'input_stream: "a"',
        'node {',
        '  name: "merge"',
        '  calculator: "BadMerge"',
        '  input_stream: "IN:0:a"',
        '  input_stream: "IN:0:a"',
        '  output_stream: "OUT:b"',
        '}'), GraphConfigError, ("node 'merge'", "IN:0 is given twice", "'a'"), 2),
    Bad("index_gap", _rows(
        'input_stream: "a"',
        'node {',
        '  name: "merge"',
        '  calculator: "BadMerge"',
        '  input_stream: "IN:0:a"',
        '  input_stream: "IN:2:a"',
        '  output_stream: "OUT:b"',
        '}'), GraphConfigError, ("node 'merge'", "indexes of IN must be 0..1", "[0, 2]"), 2),
    Bad("type_mismatch", _rows(
        'input_stream: "a"', *SCALE, '}',
        'node {',
        '  name: "text"',
        '  calculator: "BadText"',
        '  input_stream: "IN:b"',
        '  output_stream: "OUT:c"',
        '}'), GraphConfigError,
        ("type mismatch on stream 'b'", "'scale'", "produces int", "'text'", "takes str"), 8),
    # -- options ---------------------------------------------------------------------------------
    Bad("unknown_option_field", _rows(
        'input_stream: "a"', *SCALE,
        '  options {',
        '    [mediapipe.BadScaleOptions.ext] { factr: 2 }',
        '  }',
        '}'), OptionsError, ("node #0", 'no field named "factr"', "did you mean 'factor'"), 8),
    Bad("wrong_option_type", _rows(
        'input_stream: "a"', *SCALE,
        '  node_options {',
        '    [type.googleapis.com/mediapipe.BadScaleOptions] { factor: "two" }',
        '  }',
        '}'), OptionsError, ("node #0", "mediapipe.BadScaleOptions", "integer"), 8),
    Bad("options_of_another_calculator", _rows(
        'input_stream: "a"', *SCALE,
        '  options { [mediapipe.BadOtherOptions.ext] { level: 1 } }',
        '}'), OptionsError,
        ("node 'scale'", "takes options mediapipe.BadScaleOptions",
         "not mediapipe.BadOtherOptions"), 2),
    # -- subgraphs and option_value --------------------------------------------------------------
    Bad("subgraph_recursion", _rows(
        'input_stream: "a"',
        'node {',
        '  calculator: "BadLoopA"',
        '  input_stream: "IN:a"',
        '  output_stream: "OUT:b"',
        '}'), SubgraphError, ("subgraph recursion", "BadLoopA -> BadLoopB -> BadLoopA"), 4,
        source="BadLoopB.pbtxt"),
    Bad("subgraph_node_uses_tag_it_does_not_offer", _rows(
        'input_stream: "a"',
        'node {',
        '  name: "plain"',
        '  calculator: "BadPlainSubgraph"',
        '  input_stream: "IMAGE:a"',
        '  output_stream: "OUT:b"',
        '}'), SubgraphError, ("node 'plain'", "no input stream IMAGE:0", "it offers: IN:0"), 2),
    Bad("subgraph_inner_node_bad_stream_name", _rows(
        'input_stream: "a"',
        'node {',
        '  name: "inner_bad"',
        '  calculator: "BadInnerStreamSubgraph"',
        '  input_stream: "IN:a"',
        '  output_stream: "OUT:b"',
        '}'), GraphConfigError,
        ("node 'BadScale' in subgraph BadInnerStreamSubgraph", "'IN:Upper'"), 2),
    Bad("subgraph_node_bad_stream_name", _rows(
        'input_stream: "a"',
        'node {',
        '  name: "plain"',
        '  calculator: "BadPlainSubgraph"',
        '  input_stream: "IN:A"',
        '  output_stream: "OUT:b"',
        '}'), GraphConfigError, ("node 'plain'", "'IN:A'"), 2),
    Bad("option_value_names_missing_field", _rows(
        'input_stream: "a"',
        'node {',
        '  calculator: "BadOptionValueSubgraph"',
        '  input_stream: "IN:a"',
        '  output_stream: "OUT:b"',
        '}'), SubgraphError, ("node 'inner' in subgraph BadOptionValueSubgraph",
                              "option_value 'factor:options/missing'", "no field 'missing'"), 2),
    Bad("option_value_without_colon", _rows(
        'input_stream: "a"', *SCALE,
        '  option_value: "factor"',
        '}',
        'graph_options { [type.googleapis.com/mediapipe.BadScaleOptions] { factor: 2 } }'),
        SubgraphError, ("node 'scale'", "option_value 'factor'", "node_field:graph_field"), 2),
    # -- executors -------------------------------------------------------------------------------
    Bad("unknown_executor", _rows(
        'input_stream: "a"', *SCALE,
        '  executor: "fast"',
        '}'), GraphConfigError, ("node 'scale'", "executor 'fast'", "not declared"), 2),
    Bad("reserved_executor_name", _rows(
        'input_stream: "a"',
        'executor { name: "pool" }',
        'executor { name: "default" type: "ThreadPoolExecutor" }'), GraphConfigError,
        ("executor name 'default'", "reserved"), 3),
    Bad("reserved_executor_prefix", _rows(
        'executor { name: "__gpu" }'), GraphConfigError, ("executor name '__gpu'", "reserved"), 1),
    Bad("duplicate_executor", _rows(
        'executor { name: "pool" }',
        'executor { name: "pool" }'), GraphConfigError, ("executor 'pool'", "declared twice"), 2),
    Bad("unknown_executor_type", _rows(
        'executor { name: "pool" type: "FiberExecutor" }'), GraphConfigError,
        ("executor 'pool'", "unknown type 'FiberExecutor'"), 1),
    Bad("num_threads_with_default_executor_config", _rows(
        'num_threads: 4',
        'input_stream: "a"',
        'executor {',
        '  name: ""',
        '  options { [mediapipe.ThreadPoolExecutorOptions.ext] { num_threads: 2 } }',
        '}'), GraphConfigError, ("num_threads cannot be combined", "default executor"), 3),
    # -- input stream handlers and queues --------------------------------------------------------
    Bad("unknown_input_stream_handler", _rows(
        'input_stream: "a"', *SCALE,
        '  input_stream_handler { input_stream_handler: "ImmediateInputStreamHandlr" }',
        '}'), GraphConfigError,
        ("node 'scale'", "'ImmediateInputStreamHandlr'",
         "did you mean 'ImmediateInputStreamHandler'"), 2),
    Bad("bad_fixed_size_handler_options", _rows(
        'input_stream: "a"', *SCALE,
        '  input_stream_handler {',
        '    input_stream_handler: "FixedSizeInputStreamHandler"',
        '    options {',
        '      [mediapipe.FixedSizeInputStreamHandlerOptions.ext] {',
        '        trigger_queue_size: 2',
        '        target_queue_size: 3',
        '      }',
        '    }',
        '  }',
        '}'), OptionsError,
        ("node 'scale'", "FixedSizeInputStreamHandler", "target_queue_size (3)",
         "trigger_queue_size (2)"), 2),
    Bad("max_queue_size_below_minus_one", _rows(
        'input_stream: "a"',
        'max_queue_size: -2'), GraphConfigError, ("max_queue_size -2", "-1 (unbounded)"), 2),
    Bad("negative_max_in_flight", _rows(
        'input_stream: "a"', *SCALE,
        '  max_in_flight: -1',
        '}'), GraphConfigError, ("node 'scale'", "max_in_flight"), 2),
    # -- code is not imported unless allowed -----------------------------------------------------
    Bad("dotted_path_without_allow_imports", _rows(
        'input_stream: "a"',
        'node {',
        f'  calculator: "{__name__}.BadScale"',
        '  input_stream: "IN:a"',
        '  output_stream: "OUT:b"',
        '}'), UnknownCalculatorError, (f"'{__name__}.BadScale'", "dotted path", "allow_imports"),
        2),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_config_raises_located_error(case):
    with pytest.raises(GraphConfigError) as excinfo:
        mediagraph.Graph(parse_config(case.text))
    error = excinfo.value
    assert type(error) is case.error, f"{type(error).__name__}: {error}"
    message = str(error)
    for word in case.words:
        assert word in message, f"{word!r} not in {message!r}"
    assert error.line == case.line, message
    assert error.source == case.source
    assert message.startswith(f"{case.source}:{case.line}")


def test_at_least_thirty_bad_configs():
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


def test_dotted_path_loads_with_allow_imports():
    text = next(c.text for c in CASES if c.id == "dotted_path_without_allow_imports")
    graph = mediagraph.Graph(parse_config(text), allow_imports=[__name__.split(".")[0]])
    assert graph.spec.nodes[0].calculator is BadScale


def test_errors_carry_node_and_stream():
    text = next(c.text for c in CASES if c.id == "missing_producer")
    with pytest.raises(GraphConfigError) as excinfo:
        mediagraph.Graph(text)
    assert (excinfo.value.node, excinfo.value.stream) == ("scale", "nowhere")


# -- configs that never reach validation ---------------------------------------------------------


def test_missing_config_file_raises(tmp_path):
    path = tmp_path / "nowhere.pbtxt"
    with pytest.raises(GraphConfigError) as excinfo:
        load_config(path)
    assert type(excinfo.value) is GraphConfigError
    assert str(excinfo.value).startswith(f"{path}: cannot read graph config")
    assert excinfo.value.source == str(path)


@pytest.mark.parametrize("data", [b"\xff\xff\xff\xff", b"\x0a\x05ab", b"not a config at all\x00"],
                         ids=["bad_varint", "truncated", "text_bytes"])
def test_binary_garbage_raises_syntax_error(tmp_path, data):
    path = tmp_path / "garbage.binarypb"
    path.write_bytes(data)
    with pytest.raises(ConfigSyntaxError) as excinfo:
        load_config(path)
    assert "not a binary CalculatorGraphConfig" in str(excinfo.value)
    assert excinfo.value.source == str(path)
    with pytest.raises(ConfigSyntaxError):
        parse_config(data)


def test_binary_text_file_raises_syntax_error(tmp_path):
    path = tmp_path / "graph.pbtxt"
    path.write_bytes(b"\x0a\x8f\xff\xfe")
    with pytest.raises(ConfigSyntaxError) as excinfo:
        load_config(path)
    assert "not UTF-8" in str(excinfo.value)


def test_corrupt_packed_options_raise_options_error():
    config = parse_config('input_stream: "a"')
    node = config.node.add(name="scale", calculator="BadScale", input_stream=["IN:a"],
                           output_stream=["OUT:b"])
    node.node_options.add(type_url="type.googleapis.com/mediapipe.BadScaleOptions",
                          value=b"\x08")  # a varint tag with no value
    with pytest.raises(OptionsError) as excinfo:
        mediagraph.Graph(parse_config(config.SerializeToString()))
    assert "node 'scale'" in str(excinfo.value)
    assert "mediapipe.BadScaleOptions" in str(excinfo.value)


def test_file_errors_name_the_file_and_line(tmp_path):
    case = next(c for c in CASES if c.id == "unknown_tag")
    path = tmp_path / "graph.pbtxt"
    path.write_text(case.text)
    with pytest.raises(GraphConfigError) as excinfo:
        mediagraph.Graph(path)
    assert str(excinfo.value).startswith(f"{path}:{case.line}: ")


def test_every_broken_node_is_reported_at_once():
    text = (
        'input_stream: "a"\n'
        'node { calculator: "NoSuchCalculatorAtAll" input_stream: "a" output_stream: "b" }\n'
        'node { calculator: "PassThroughCalculator" input_stream: "BAD_TAG_HERE:a" '
        'output_stream: "c" }\n'
        'node { calculator: "PassThroughCalculator" input_stream: "missing" output_stream: "d" }\n'
    )
    with pytest.raises(mediagraph.GraphConfigError) as excinfo:
        mediagraph.Graph(mediagraph.parse_config(text, source="three.pbtxt"))
    errors = excinfo.value.errors
    assert len(errors) == 2  # node problems first; stream checks run once nodes are sound
    assert "NoSuchCalculatorAtAll" in str(errors[0]) and errors[0].line == 2
    assert "BAD_TAG_HERE" in str(errors[1]) and errors[1].line == 3
    assert "1 more error" in str(excinfo.value)


@pytest.mark.parametrize("field, text", [
    ("packet_generator", 'packet_generator { packet_generator: "X" output_side_packet: "a" }'),
    ("packet_factory", 'packet_factory { packet_factory: "Y" output_side_packet: "b" }'),
    ("status_handler", 'status_handler { status_handler: "Z" }'),
])
def test_deprecated_mediapipe_mechanisms_are_refused_clearly(field, text):
    with pytest.raises(GraphConfigError, match=f"{field}.*not supported"):
        mediagraph.Graph(text + '\nnode { calculator: "CountingSourceCalculator" '
                                'output_stream: "n" }')


# -- special files: only regular files are read, and only up to a size ------------------------

@pytest.mark.timeout(20)
def test_a_fifo_config_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "graph.pbtxt"
    os.mkfifo(fifo)
    with pytest.raises(mg.GraphConfigError, match="not a regular file"):
        mg.load_config(fifo)


@pytest.mark.timeout(20)
def test_a_device_config_is_refused():
    with pytest.raises(mg.GraphConfigError, match="not a regular file"):
        mg.load_config("/dev/zero")


def test_a_config_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.pbtxt"
    path.write_text('input_stream: "a"\n' * 100)
    monkeypatch.setenv("MEDIAGRAPH_MAX_CONFIG_BYTES", "1000")
    with pytest.raises(mg.GraphConfigError, match="over the limit of 1000"):
        mg.load_config(path)


@pytest.mark.timeout(20)
def test_a_fifo_on_the_graph_search_path_is_skipped(tmp_path, monkeypatch):
    from mediagraph.config import library

    monkeypatch.setattr(library, "_search_path", [])
    os.mkfifo(tmp_path / "trap.pbtxt")
    (tmp_path / "real.pbtxt").write_text('type: "FifoNeighbour"\ninput_stream: "IN:a"\n'
                                         'output_stream: "OUT:b"\nnode { calculator: '
                                         '"PassThroughCalculator" input_stream: "a" '
                                         'output_stream: "b" }\n')
    mg.add_search_path(tmp_path)
    graph = mg.Graph('input_stream: "x" node { calculator: "FifoNeighbour" '
                     'input_stream: "IN:x" output_stream: "OUT:y" }')
    assert [p.value for p in graph.run({"x": [(1, 0)]}, timeout=10)["y"]] == [1]


def test_a_missing_config_file_says_so(tmp_path):
    with pytest.raises(mg.GraphConfigError, match="No such file"):
        mg.Graph(str(tmp_path / "missing.pbtxt"))
    with pytest.raises(mg.GraphConfigError, match="No such file"):
        mg.Graph("missing.binarypb")


# -- subgraph expansion is bounded -----------------------------------------------------------

def _bomb(levels: int, copies: int) -> str:
    for level in range(levels):
        inner = "PassThroughCalculator" if level == 0 else f"BombLevel{level - 1}"
        ports = ('input_stream: "a"', "output_stream") if level == 0 else \
            ('input_stream: "IN:a"', "output_stream: \"OUT")
        nodes = "".join(
            f'node {{ calculator: "{inner}" {ports[0]} '
            + (f'output_stream: "b{i}" }}' if level == 0 else f'output_stream: "OUT:b{i}" }}')
            for i in range(copies))
        mg.register_subgraph(mg.parse_config(
            f'type: "BombLevel{level}" input_stream: "IN:a" output_stream: "OUT:b0" {nodes}'))
    return (f'input_stream: "x" node {{ calculator: "BombLevel{levels - 1}" '
            'input_stream: "IN:x" output_stream: "OUT:y" }')


@pytest.mark.timeout(60)
def test_a_subgraph_bomb_stops_at_the_node_limit(monkeypatch):
    monkeypatch.setenv("MEDIAGRAPH_MAX_EXPANDED_NODES", "500")
    with pytest.raises(mg.SubgraphError, match="more than 500 nodes"):
        mg.Graph(_bomb(levels=4, copies=10))


@pytest.mark.timeout(60)
def test_a_slow_expansion_stops_at_the_time_limit(monkeypatch):
    monkeypatch.setenv("MEDIAGRAPH_EXPAND_TIMEOUT_S", "0")
    with pytest.raises(mg.SubgraphError, match="took longer than 0 s"):
        mg.Graph(_bomb(levels=2, copies=3))


def test_a_subgraph_file_is_read_once_per_load(tmp_path, monkeypatch):
    from mediagraph.config import library

    monkeypatch.setattr(library, "_search_path", [])
    (tmp_path / "once.pbtxt").write_text(
        'type: "ReadOnceSubgraph" input_stream: "IN:a" output_stream: "OUT:b" '
        'node { calculator: "PassThroughCalculator" input_stream: "a" output_stream: "b" }')
    mg.add_search_path(tmp_path)
    reads = []
    real = library.read
    monkeypatch.setattr(library, "read", lambda r: reads.append(r) or real(r))
    nodes = "".join(f'node {{ calculator: "ReadOnceSubgraph" input_stream: "IN:x" '
                    f'output_stream: "OUT:y{i}" }}' for i in range(10))
    graph = mg.Graph('input_stream: "x" ' + nodes)
    assert len(graph.spec.nodes) == 10 and len(reads) == 1


def test_deeply_nested_options_print_as_an_error_not_a_recursion_error(tmp_path):
    from mediagraph.cli import main
    from mediagraph.config import pool

    inner = pool.CalculatorGraphConfig()
    for _ in range(400):
        outer = pool.CalculatorGraphConfig()
        outer.node.add(calculator="PassThroughCalculator").node_options.add().Pack(inner)
        inner = outer
    path = tmp_path / "deep.binarypb"
    path.write_bytes(inner.SerializeToString())
    with pytest.raises(mg.ConfigSyntaxError, match="nested too deeply"):
        mg.to_text(mg.load_config(path))
    assert main(["show", str(path)]) == 1


PASS = 'node { calculator: "PassThroughCalculator" input_stream: "a" output_stream: "b" %s }'


@pytest.mark.parametrize("config, message", [
    ('num_threads: 100000 input_stream: "a" ' + PASS % "", "num_threads 100000 must be 1..1024"),
    ('num_threads: -2 input_stream: "a" ' + PASS % "", "num_threads -2 must be 1..1024"),
    ('input_stream: "a" executor { name: "io" options { [mediapipe.ThreadPoolExecutorOptions.ext]'
     ' { num_threads: 5000 } } } ' + PASS % 'executor: "io"', "num_threads 5000 must be 1..1024"),
    ('input_stream: "a" ' + PASS % "max_in_flight: 100000", "max_in_flight 100000 must be 1..1024"),
    ('input_stream: "a" ' + PASS % "process_timeout: 1e300", "process_timeout must be 0 (off)"),
    ('input_stream: "a" ' + PASS % "process_timeout: -1", "process_timeout must be 0 (off)"),
    ('process_timeout: nan input_stream: "a" ' + PASS % "", "process_timeout must be 0 (off)"),
])
def test_limits_out_of_range_fail_validation(config, message):
    with pytest.raises(mg.GraphConfigError, match=re.escape(message)):
        mg.Graph(config)


@pytest.mark.parametrize("size", [0, -5, 2.5, True])
def test_a_queue_size_override_must_be_positive_or_unbounded(size):
    graph = mg.Graph('input_stream: "a" ' + PASS % "")
    with pytest.raises(ValueError, match="positive int or -1"):
        graph.set_max_queue_size("b", size)
    graph.set_max_queue_size("b", -1)
    graph.set_max_queue_size("b", 3)
