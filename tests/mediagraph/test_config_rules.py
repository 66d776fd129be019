"""Declared config rules: port groups, `Options.check()` and `check_config` fail at validation."""

from __future__ import annotations

import pytest

import mediagraph as mg

pytestmark = pytest.mark.timeout(60)


class RuleProbeOptions(mg.Options):
    window: int = 3
    pairs: int = 1

    def check(self) -> None:
        if self.window < 1:
            raise ValueError(f"window must be at least 1, got {self.window}")


class RuleProbeCalculator(mg.Calculator):
    """Declares one rule of each kind, so each can be broken on its own."""

    Options = RuleProbeOptions
    image = mg.Input(float, optional=True)
    image_cpu = mg.Input(float, optional=True)
    width = mg.Input(int, optional=True)
    height = mg.Input(int, optional=True)
    allow = mg.Input(bool, optional=True)
    allow_side = mg.SideInput(bool, optional=True, tag="ALLOW")
    extras = mg.Outputs(float)
    out = mg.Output(float, optional=True)
    groups = (mg.one_of(image, image_cpu), mg.all_or_none(width, height),
              mg.at_most_one(allow, allow_side))

    @classmethod
    def check_config(cls, node: mg.NodeConfig) -> None:
        if node.count(cls.extras) > node.options.pairs:
            raise ValueError(f"{node.count(cls.extras)} EXTRAS outputs but pairs is "
                             f"{node.options.pairs}")

    def process(self, cc: mg.CalculatorContext) -> None:
        cc.send(self.out, 1.0)


def _config(ports: str, options: str = "") -> str:
    node_options = (f"node_options {{ [type.googleapis.com/{RuleProbeOptions.proto_name}] "
                    f"{{ {options} }} }}" if options else "")
    return ('input_stream: "a"\ninput_stream: "b"\ninput_stream: "w"\ninput_stream: "h"\n'
            'input_stream: "ok"\n'
            f'node {{\n  calculator: "RuleProbeCalculator"\n  name: "probe"\n  {ports}\n'
            f'  {node_options}\n}}\n')


GOOD = 'input_stream: "IMAGE:a" output_stream: "OUT:o"'


def test_a_config_that_keeps_every_rule_builds():
    mg.Graph(_config(GOOD + ' input_stream: "WIDTH:w" input_stream: "HEIGHT:h"'))


@pytest.mark.parametrize("ports, options, expected", [
    ('input_stream: "IMAGE:a" input_stream: "IMAGE_CPU:b"', "",
     r"connect exactly one of IMAGE and IMAGE_CPU \(connected: IMAGE, IMAGE_CPU\)"),
    ('output_stream: "OUT:o"', "",
     r"connect exactly one of IMAGE and IMAGE_CPU \(connected: none\)"),
    (GOOD + ' input_stream: "WIDTH:w"', "", r"connect all or none of WIDTH and HEIGHT"),
    (GOOD + ' input_stream: "ALLOW:ok" input_side_packet: "ALLOW:s"', "",
     r"at most one of ALLOW \(input stream\) and ALLOW \(input side packet\)"),
    (GOOD, "window: 0", "window must be at least 1, got 0"),
    (GOOD + ' output_stream: "EXTRAS:0:x" output_stream: "EXTRAS:1:y"', "",
     "2 EXTRAS outputs but pairs is 1"),
])
def test_a_broken_rule_fails_validation_naming_file_line_and_node(ports, options, expected):
    with pytest.raises(mg.GraphConfigError, match=expected) as caught:
        mg.Graph(_config(ports, options))
    error = caught.value
    assert error.node == "probe"
    assert error.line == 6  # the node's `calculator:` line
    assert "node 'probe' (RuleProbeCalculator)" in str(error)


def test_a_bad_option_value_is_an_options_error():
    with pytest.raises(mg.OptionsError, match="window must be"):
        mg.Graph(_config(GOOD, "window: -2"))


def test_a_group_message_may_be_given():
    class Probe(mg.Calculator, register=False):
        a = mg.Input(int, optional=True)
        b = mg.Input(int, optional=True)
        groups = (mg.at_least_one(a, b, message="give the probe A or B"),)

    assert Probe.groups[0].problem(lambda port: False) == "give the probe A or B (connected: none)"
    assert Probe.groups[0].problem(lambda port: port is Probe.b) is None


def test_a_group_of_foreign_ports_is_rejected_at_class_definition():
    stray = mg.Input(int, optional=True)
    with pytest.raises(TypeError, match="does not declare"):
        class Probe(mg.Calculator, register=False):
            a = mg.Input(int, optional=True)
            groups = (mg.one_of(a, stray),)


def test_a_group_is_built_from_ports():
    with pytest.raises(TypeError, match="takes ports"):
        mg.one_of("IMAGE", "IMAGE_CPU")  # type: ignore[arg-type]
