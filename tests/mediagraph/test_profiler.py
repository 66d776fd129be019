"""The run's own profile, and the calculator hooks it reads (`dropped`, `profile_info`)."""

from __future__ import annotations

from typing import Any

import pytest

import mediagraph as mg
from mediagraph import Calculator, CalculatorContext, Input, Output

pytestmark = pytest.mark.timeout(60)


class DropOdd(Calculator):
    """Forwards even values, drops odd ones and counts them on the `dropped` hook."""

    value = Input(int, tag="")
    out = Output(int, tag="")

    def open(self, cc: CalculatorContext) -> None:
        self.profile_info = {"backend": "python", "device": "cpu (test)"}

    def process(self, cc: CalculatorContext) -> None:
        value = cc.get(self.value)
        if value % 2:
            self.dropped += 1
        else:
            cc.send(self.out, value)


CONFIG = """
input_stream: "in"
output_stream: "out"
max_queue_size: 3
node { name: "drop" calculator: "DropOdd" input_stream: "in" output_stream: "even" }
node { name: "pass" calculator: "PassThroughCalculator" input_stream: "even" output_stream: "out" }
"""


def run_graph(packets: int) -> mg.Graph:
    graph = mg.Graph(CONFIG)
    graph.observe_output_stream("out", lambda packet: None)
    graph.start_run()
    for i in range(packets):
        graph.add_packet("in", mg.Packet(i, i))
    graph.close_all_inputs()
    graph.wait_until_done(timeout=30)
    return graph


def test_a_calculators_dropped_and_profile_info_show_in_its_row():
    profile = run_graph(10).profile()
    row = profile.node("drop")
    assert row.calls == 10
    assert row.dropped == 5
    assert row.info == {"backend": "python", "device": "cpu (test)"}
    assert "python (cpu (test))" in profile.table()
    assert profile.node("pass").dropped == 0 and profile.node("pass").info == {}
    assert profile.total_dropped == 5


def test_the_run_reports_its_profile_without_internal_nodes():
    graph = run_graph(6)
    profile = graph._run.profile()
    assert [row.name for row in profile.nodes] == ["drop", "pass"]
    assert profile.node("pass").calls == 3
    assert profile.node("drop").queue_limit == 3
    assert 1 <= profile.node("drop").queue_peak <= 3
    assert profile.streams["in"] == {"packets": 6, "dropped_at_input": 0}
    assert profile.streams["out"]["packets"] == 3
    assert profile.wall_s > 0
    assert graph.profile().nodes == profile.nodes


def test_latency_rows_name_observers_by_their_stream():
    graph = mg.Graph(CONFIG)
    graph.enable_latency_tracking()
    graph.observe_output_stream("out", lambda packet: None)
    graph.start_run()
    for i in range(4):
        graph.add_packet("in", mg.Packet(i, i))
    graph.close_all_inputs()
    graph.wait_until_done(timeout=30)
    paths = [row.path for row in graph.profile().latency]
    assert paths == ["in -> out (observer)"]
    assert [row.sink for row in graph._run.profile().latency] != ["out (observer)"]


def test_hooks_default_to_nothing_to_report():
    class Plain(Calculator, register=False):
        def process(self, cc: Any) -> None:
            pass

    calc = Plain()
    assert calc.dropped == 0 and calc.profile_info is None and calc.has_pending_work() is False
