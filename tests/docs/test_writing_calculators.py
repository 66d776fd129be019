"""docs/writing_calculators.md's template is real code: its rules reject what it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import mediagraph as mg
from mediagraph import registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "writing_calculators.md"
BASE = ('input_stream: "frame" input_stream: "mask" input_stream: "w" input_side_packet: "c"\n'
        'node { calculator: "BlendCalculator" input_stream: "IMAGE:frame" %s '
        'output_stream: "IMAGE:out" %s }')
OPTIONS = ("node_options { [type.googleapis.com/mediagraph.BlendCalculator.Options] "
           "{ %s } }")


@pytest.fixture(scope="module", autouse=True)
def template():
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    yield namespace["BlendCalculator"]
    registry.unregister_calculator("BlendCalculator")


def test_a_good_config_validates():
    mg.Graph(BASE % ('input_stream: "OVERLAY:mask"', OPTIONS % "alpha: 0.25"))


@pytest.mark.parametrize("wiring, options, message", [
    ('input_stream: "OVERLAY:mask"', OPTIONS % "alpha: 2", "alpha must be within 0..1"),
    ('input_stream: "OVERLAY:mask" input_side_packet: "COLOR:c"', "",
     "exactly one of OVERLAY (input stream) and COLOR (input side packet)"),
    ("", "", "exactly one of OVERLAY"),
    ('input_stream: "OVERLAY:mask" input_stream: "WEIGHT:w"', OPTIONS % 'mode: "add"',
     "WEIGHT only applies to mode 'mix'"),
])
def test_the_templates_rules_fail_validation(wiring, options, message):
    with pytest.raises(mg.GraphConfigError, match=re.escape(message)) as info:
        mg.Graph(BASE % (wiring, options))
    assert info.value.line == 2 and info.value.node == "BlendCalculator"
