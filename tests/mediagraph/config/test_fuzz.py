"""Whatever bytes or text arrive, loading and validating raise GraphConfigError or nothing.

Random binary, random text, and random edits (characters and config tokens) of valid
configs go through `parse_config` and then `mediagraph.Graph`; any other exception type
is a bug in the config layer. Sized to run in a few seconds.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mediagraph
from mediagraph import (Calculator, GraphConfigError, Input, Inputs, Options, Output, SideInput,
                        SideOutput, option, parse_config, register_subgraph, to_binary)

pytestmark = [
    pytest.mark.timeout(60),
    # protobuf's text parser warns on escapes such as "\d" inside strings; harmless here.
    pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning"),
]

FUZZ = settings(deadline=None, max_examples=300, database=None,
                suppress_health_check=[HealthCheck.too_slow])


class FzOptions(Options, proto_name="mediapipe.FzOptions", extension=390503001):
    factor: int = option(1, default=1)
    label: str = option(2, default="")
    weights: tuple[float, ...] = option(3, default=())
    limit: int = option(4, default=0, proto="int64")


class FzScale(Calculator):
    Options = FzOptions
    value = Input(int, tag="IN")
    out = Output(int, tag="OUT")
    side = SideOutput(int, tag="SIDE", optional=True)
    model = SideInput(int, tag="MODEL", optional=True)

    def process(self, cc):
        cc.send(self.out, cc.get(self.value))


class FzMerge(Calculator):
    values = Inputs(int, tag="IN")
    out = Output(int, tag="OUT")

    def process(self, cc):
        cc.send(self.out, 0)


class FzText(Calculator):
    value = Input(str, tag="IN")
    out = Output(str, tag="OUT")

    def process(self, cc):
        cc.send(self.out, cc.get(self.value))


register_subgraph(parse_config("""
type: "FzSubgraph"
input_stream: "IN:x"
output_stream: "OUT:y"
input_side_packet: "MODEL:m"
graph_options { [type.googleapis.com/mediapipe.FzOptions] { factor: 3 weights: 1 weights: 2 } }
node {
  name: "inner"
  calculator: "FzScale"
  input_stream: "IN:x"
  output_stream: "OUT:mid"
  input_side_packet: "MODEL:m"
  option_value: "factor:options/factor"
  option_value: "weights:options/weights"
}
node {
  calculator: "FzScale"
  input_stream: "IN:mid"
  output_stream: "OUT:y"
  option_value: "OPTIONS:options"
}
"""))

SEEDS = [
    """input_stream: "in"
output_stream: "out"
max_queue_size: 4
node {
  name: "scale"
  calculator: "FzScale"
  input_stream: "IN:in"
  output_stream: "OUT:out"
  options { [mediapipe.FzOptions.ext] { factor: 2 label: "x" weights: 0.5 limit: -7 } }
}
""",
    """input_stream: "in"
num_threads: 2
executor {
  name: "pool"
  type: "ThreadPoolExecutor"
  options { [mediapipe.ThreadPoolExecutorOptions.ext] { num_threads: 2 } }
}
node {
  calculator: "FzMerge"
  input_stream: "IN:0:in"
  input_stream: "IN:1:loop"
  output_stream: "OUT:sum"
  executor: "pool"
  input_stream_info { tag_index: "IN:1" back_edge: true }
  input_stream_handler {
    input_stream_handler: "FixedSizeInputStreamHandler"
    options { [mediapipe.FixedSizeInputStreamHandlerOptions.ext] { trigger_queue_size: 3 } }
  }
}
node {
  calculator: "FzScale"
  input_stream: "IN:sum"
  output_stream: "OUT:loop"
  output_side_packet: "SIDE:side"
  node_options { [type.googleapis.com/mediapipe.FzOptions] { factor: 4 } }
}
""",
    """input_stream: "frames"
input_side_packet: "model"
output_stream: "scaled"
node {
  name: "sub"
  calculator: "FzSubgraph"
  input_stream: "IN:frames"
  output_stream: "OUT:scaled"
  input_side_packet: "MODEL:model"
  options { [mediapipe.FzOptions.ext] { factor: 5 } }
  node_options { [type.googleapis.com/mediapipe.Undeclared] { a: 1 } }
}
node { calculator: "FzText" input_stream: "IN:words" output_stream: "OUT:more_words" }
input_stream: "words"
""",
]
for _seed in SEEDS:  # the seeds themselves are valid
    mediagraph.Graph(parse_config(_seed))

TOKENS = [
    "{", "}", "<", ">", "[", "]", ":", '"', "'", "#", "\n", ",", ";", "\\", "/",
    "node", "input_stream", "output_stream", "options", "node_options", "graph_options",
    "executor", "name", "calculator", "option_value", "input_stream_info", "back_edge: true",
    "tag_index", "max_queue_size", "num_threads", "type", "input_side_packet",
    "[mediapipe.FzOptions.ext]", "[type.googleapis.com/mediapipe.FzOptions]",
    "[mediapipe.ThreadPoolExecutorOptions.ext]", "[mediapipe.Unknown.ext]",
    "[type.googleapis.com/]", "[type.googleapis.com/mediapipe.CalculatorGraphConfig]",
    "-1", "0", "01", "2147483648", "99999999999999999999999", "-inf", "nan", "1e9", "0x7f",
    "true", "FAST", '"IN:0:x"', '"IN:01:x"', '":x"', '"OUT:Y"', '"a:b:c:d"', '""',
    '"FzSubgraph"', '"FzScale"', '"FzMerge"', '"default"', '"__gpu"', '"x:options/weights/0"',
    '"OPTIONS:options"', '"factor:"', '":factor"', '"IN:1"',
]


@st.composite
def edited(draw, seeds=SEEDS):
    """A seed config with a few characters or tokens inserted, deleted or replaced."""
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "token"]))
        if op == "delete":
            end = at + draw(st.integers(1, 8))
            text = text[:at] + text[end:]
        elif op == "token":
            text = text[:at] + draw(st.sampled_from(TOKENS)) + text[at:]
        else:
            char = draw(st.characters(codec="utf-8") | st.sampled_from('{}[]:"\\\n#<>/'))
            text = text[:at] + char + text[at + (op == "replace"):]
    return text


@st.composite
def edited_binary(draw):
    data = bytearray(to_binary(parse_config(draw(st.sampled_from(SEEDS)))))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["set", "insert", "delete"]))
        if op == "set":
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        else:
            del data[at:at + draw(st.integers(1, 4))]
    return bytes(data)


def load_and_validate(data: str | bytes) -> None:
    try:
        config = parse_config(data)
        mediagraph.Graph(config)
    except GraphConfigError:
        pass


@FUZZ
@given(st.binary(max_size=256))
def test_random_bytes_raise_only_config_errors(data):
    load_and_validate(data)


@FUZZ
@given(edited_binary())
def test_edited_binary_configs_raise_only_config_errors(data):
    load_and_validate(data)


@FUZZ
@given(st.text(st.characters(exclude_categories=()), max_size=256))  # surrogates too
def test_random_text_raises_only_config_errors(text):
    load_and_validate(text)


@FUZZ
@given(st.text(alphabet='{}[]<>:"\'#\n ,;/\\.-_0123456789aAeEnNIOTxz', max_size=200))
def test_random_punctuation_raises_only_config_errors(text):
    load_and_validate(text)


@settings(FUZZ, max_examples=1200)
@given(edited())
def test_edited_text_configs_raise_only_config_errors(text):
    load_and_validate(text)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_token_soup_raises_only_config_errors(tokens):
    load_and_validate(" ".join(tokens))


@FUZZ
@given(st.text(alphabet="abcxyzOPTIONSoptions/0123:_", max_size=30))
def test_random_option_value_rules_raise_only_config_errors(rule):
    config = SEEDS[0].replace('  output_stream: "OUT:out"\n',
                              f'  output_stream: "OUT:out"\n  option_value: "{rule}"\n')
    config += 'graph_options { [type.googleapis.com/mediapipe.FzOptions] { weights: 1 } }\n'
    load_and_validate(config)
