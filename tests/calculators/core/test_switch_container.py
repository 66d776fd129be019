"""SwitchContainer: expansion into demux -> contained nodes -> mux, selection by option,
side packet or stream, SELECT or ENABLE, side packets in and out, and bad selections."""

from __future__ import annotations

import pytest

import mediagraph.calculators  # noqa: F401
import mediagraph as mg
from mediagraph.calculators.core.switch_container import switch_container_config
from mediagraph import (Calculator, CalculatorContext, GraphConfigError, Input, MediaGraphError,
                        Output, SideInput, parse_config)
from mediagraph.testing import values

pytestmark = pytest.mark.timeout(60)


class SwitchTestAddOne(Calculator):
    """VALUE + 1 (+ the OFFSET side packet when connected)."""

    value = Input(int)
    offset = SideInput(int, optional=True)
    out = Output(int, tag="VALUE")

    def process(self, cc: CalculatorContext) -> None:
        cc.send(self.out, cc.get(self.value) + 1 + cc.side(self.offset, 0))


class SwitchTestTimesTen(Calculator):
    """VALUE * 10 (+ the OFFSET side packet when connected)."""

    value = Input(int)
    offset = SideInput(int, optional=True)
    out = Output(int, tag="VALUE")

    def process(self, cc: CalculatorContext) -> None:
        cc.send(self.out, cc.get(self.value) * 10 + cc.side(self.offset, 0))


DATA = [(1, 0), (2, 1), (3, 2)]
ADD_ONE = [2, 3, 4]
TIMES_TEN = [10, 20, 30]


def container(*, control: str = "", options: str = "", extra: str = "",
              graph_inputs: str = "") -> str:
    """A graph around one SwitchContainer over AddOne (channel 0) and TimesTen (1)."""
    return f"""
        input_stream: "x"
        {graph_inputs}
        output_stream: "y"
        node {{
          calculator: "SwitchContainer"
          {control}
          input_stream: "VALUE:x"
          output_stream: "VALUE:y"
          {extra}
          options {{ [mediapipe.SwitchContainerOptions.ext] {{
            {options}
            contained_node {{ calculator: "SwitchTestAddOne" }}
            contained_node {{ calculator: "SwitchTestTimesTen" }}
          }} }}
        }}"""


def run(config: str, inputs=None, side_packets=None) -> dict:
    return mg.Graph(config).run(inputs if inputs is not None else {"x": DATA},
                                side_packets or {}, timeout=20)


def root_cause(error: BaseException) -> BaseException:
    while error.__cause__ is not None:
        error = error.__cause__
    return error


# -- expansion ----------------------------------------------------------------------------

def test_expands_into_demux_channels_and_mux_with_mediapipes_stream_names():
    graph = mg.Graph(container(control='input_side_packet: "SELECT:sel"',
                               graph_inputs='input_side_packet: "sel"'))
    nodes = {n.calculator: n for n in graph.spec.config.node}
    assert list(nodes) == ["SwitchDemuxCalculator", "SwitchTestAddOne", "SwitchTestTimesTen",
                           "SwitchMuxCalculator"]
    demux, mux = nodes["SwitchDemuxCalculator"], nodes["SwitchMuxCalculator"]
    assert list(demux.input_side_packet) == ["SELECT:sel"]
    assert list(demux.input_stream) == ["x"]
    assert [s.rsplit("__", 2)[-2:] for s in demux.output_stream] == [["c0", "x"], ["c1", "x"]]
    # each contained node keeps the container's tags, on its channel's streams
    assert list(nodes["SwitchTestTimesTen"].input_stream) == [f"VALUE:{demux.output_stream[1]}"]
    assert nodes["SwitchTestAddOne"].output_stream[0].endswith("c0__y")
    assert list(mux.output_stream) == ["y"]


def test_config_factory_keeps_untagged_and_indexed_streams_apart():
    node = parse_config("""node {
        calculator: "SwitchContainer" input_stream: "a" input_stream: "b"
        input_stream: "ENABLE:on" output_stream: "OUT:1:q" output_stream: "OUT:0:p"
        options { [mediapipe.SwitchContainerOptions.ext] {
          contained_node { calculator: "PassThroughCalculator" } } } }""").node[0]
    config = switch_container_config(node)
    inner = config.node[1]
    assert list(inner.input_stream) == ["c0__a", ":1:c0__b"]
    assert list(inner.output_stream) == ["OUT:1:c0__q", "OUT:c0__p"]
    assert list(config.node[0].input_stream) == ["ENABLE:on", "a", "b"]


# -- selection ----------------------------------------------------------------------------

@pytest.mark.parametrize("select, expected", [(0, ADD_ONE), (1, TIMES_TEN)])
def test_static_select_option_picks_the_channel(select, expected):
    assert values(run(container(options=f"select: {select}"))["y"]) == expected


def test_no_selection_means_channel_zero():
    assert values(run(container())["y"]) == ADD_ONE


@pytest.mark.parametrize("select, expected", [(0, ADD_ONE), (1, TIMES_TEN)])
def test_select_side_packet_picks_the_channel_and_overrides_the_option(select, expected):
    config = container(control='input_side_packet: "SELECT:sel"', options="select: 0",
                       graph_inputs='input_side_packet: "sel"')
    assert values(run(config, side_packets={"sel": select})["y"]) == expected


def test_select_stream_switches_channels_per_timestamp():
    config = container(control='input_stream: "SELECT:sel"', graph_inputs='input_stream: "sel"')
    out = run(config, {"x": DATA + [(4, 3)], "sel": [(1, 0), (0, 1), (1, 3)]})
    # no SELECT packet at timestamp 2: the last selection (0) holds
    assert [(int(p.timestamp), p.value) for p in out["y"]] == [(0, 10), (1, 3), (2, 4), (3, 40)]


@pytest.mark.parametrize("enable, expected", [("true", TIMES_TEN), ("false", ADD_ONE)])
def test_enable_option_picks_channel_one_when_true(enable, expected):
    assert values(run(container(options=f"enable: {enable}"))["y"]) == expected


@pytest.mark.parametrize("enable, expected", [(True, TIMES_TEN), (False, ADD_ONE)])
def test_enable_side_packet_picks_channel_one_when_true(enable, expected):
    config = container(control='input_side_packet: "ENABLE:on"',
                       graph_inputs='input_side_packet: "on"')
    assert values(run(config, side_packets={"on": enable})["y"]) == expected


def test_enable_stream_switches_channels():
    config = container(control='input_stream: "ENABLE:on"', graph_inputs='input_stream: "on"')
    out = run(config, {"x": DATA, "on": [(False, 0), (True, 1), (False, 2)]})
    assert values(out["y"]) == [2, 20, 4]


def test_outputs_flow_while_the_run_is_open():
    """The idle channel's bounds advance, so the mux never waits for the end of the run."""
    graph = mg.Graph(container(options="select: 1"))
    poller = graph.poll("y")
    graph.start_run()
    try:
        for value, ts in DATA:
            graph.add_packet("x", value, timestamp=ts)
            assert poller.next(timeout=5).value == value * 10
    finally:
        graph.close_all_inputs()
        graph.wait_until_done(timeout=10)


# -- side packets -------------------------------------------------------------------------

@pytest.mark.parametrize("select, expected", [(0, "general.tflite"), (1, "landscape.tflite")])
def test_output_side_packets_come_from_the_selected_channel(select, expected):
    graph = mg.Graph("""
        input_side_packet: "sel"
        output_side_packet: "path"
        node {
          calculator: "SwitchContainer"
          input_side_packet: "SELECT:sel"
          output_side_packet: "PACKET:path"
          options { [mediapipe.SwitchContainerOptions.ext] {
            contained_node { calculator: "ConstantSidePacketCalculator"
              options { [mediapipe.ConstantSidePacketCalculatorOptions.ext] {
                packet { string_value: "general.tflite" } } } }
            contained_node { calculator: "ConstantSidePacketCalculator"
              options { [mediapipe.ConstantSidePacketCalculatorOptions.ext] {
                packet { string_value: "landscape.tflite" } } } }
          } }
        }""")
    graph.run({}, {"sel": select}, timeout=20)
    assert graph.get_output_side_packet("path") == expected


@pytest.mark.parametrize("select, expected", [(0, [102, 103, 104]), (1, [110, 120, 130])])
def test_input_side_packets_reach_the_contained_nodes(select, expected):
    config = container(options=f"select: {select}", extra='input_side_packet: "OFFSET:k"',
                       graph_inputs='input_side_packet: "k"')
    assert values(run(config, side_packets={"k": 100})["y"]) == expected


def test_output_side_packets_with_a_select_stream_raise():
    config = """
        input_stream: "sel"
        output_side_packet: "path"
        node {
          calculator: "SwitchContainer"
          input_stream: "SELECT:sel"
          output_side_packet: "PACKET:path"
          options { [mediapipe.SwitchContainerOptions.ext] {
            contained_node { calculator: "ConstantSidePacketCalculator"
              options { [mediapipe.ConstantSidePacketCalculatorOptions.ext] {
                packet { int_value: 1 } } } }
          } }
        }"""
    with pytest.raises(GraphConfigError, match="fixed for the run"):
        mg.Graph(config)


# -- bad selections and configs -----------------------------------------------------------

def test_select_option_out_of_range_raises_at_load():
    with pytest.raises(GraphConfigError, match=r"select: 2 is out of range.*2 contained nodes"):
        mg.Graph(container(options="select: 2"))


@pytest.mark.parametrize("select", [2, -1])
def test_select_side_packet_out_of_range_raises_naming_the_channel(select):
    config = container(control='input_side_packet: "SELECT:sel"',
                       graph_inputs='input_side_packet: "sel"')
    with pytest.raises(MediaGraphError) as info:
        run(config, side_packets={"sel": select})
    assert f"selected channel {select} is out of range" in str(root_cause(info.value))


def test_select_stream_out_of_range_raises():
    config = container(control='input_stream: "SELECT:sel"', graph_inputs='input_stream: "sel"')
    with pytest.raises(MediaGraphError) as info:
        run(config, {"x": DATA[:1], "sel": [(7, 0)]})
    assert "selected channel 7 is out of range" in str(root_cause(info.value))


@pytest.mark.parametrize("options, control, match", [
    ("select: 0 enable: true", "", "both 'select' and 'enable'"),
    ("", 'input_side_packet: "SELECT:sel" input_stream: "ENABLE:on"', "one of SELECT and ENABLE"),
])
def test_conflicting_selections_raise_at_load(options, control, match):
    config = container(options=options, control=control,
                       graph_inputs='input_side_packet: "sel" input_stream: "on"')
    with pytest.raises(GraphConfigError, match=match):
        mg.Graph(config)


def test_container_without_contained_nodes_raises():
    with pytest.raises(GraphConfigError, match="at least one contained_node"):
        mg.Graph("""input_stream: "x" node { calculator: "SwitchContainer"
                    input_stream: "VALUE:x" output_stream: "VALUE:y" }""")


def test_binary_config_round_trips():
    config = parse_config(mg.to_binary(parse_config(container(options="select: 1"))))
    assert values(run(config)["y"]) == TIMES_TEN
