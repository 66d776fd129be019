"""The calculator API: ports, registration, options, function calculators, plugins."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib import metadata

import pytest

import mediagraph as mg
from mediagraph import registry
from mediagraph.testing import CalculatorRunner, values

pytestmark = pytest.mark.timeout(60)


def test_tags_come_from_attribute_names_or_are_given():
    class Blend(mg.Calculator):
        base_image = mg.Input(int)
        layers = mg.Inputs(int)
        out = mg.Output(int, tag="IMAGE")
        model = mg.SideInput(str, optional=True)

        def process(self, cc: mg.CalculatorContext) -> None:
            cc.send(self.out, cc.get(self.base_image) + sum(v or 0 for v in cc.get(self.layers)))

    ports = Blend.ports
    assert ports["base_image"].tag == "BASE_IMAGE" and ports["layers"].tag == "LAYERS"
    assert ports["out"].tag == "IMAGE" and ports["model"].optional
    result = CalculatorRunner(Blend).run({"BASE_IMAGE": [(1, 0)], "LAYERS:0": [(10, 0)],
                                          "LAYERS:1": [(100, 0)]})
    assert values(result["IMAGE"]) == [111]


def test_one_index_of_a_multiple_port():
    class Second(mg.Calculator):
        items = mg.Inputs(int, tag="")
        out = mg.Output(int, tag="")

        def process(self, cc: mg.CalculatorContext) -> None:
            cc.send(self.out, cc.get(self.items[1]))

    result = CalculatorRunner(Second).run({"": [(1, 0)], ":1": [(2, 0)]})
    assert values(result[""]) == [2]


def test_registration_is_automatic_and_a_taken_name_raises():
    class UniqueNameForRegistryTest(mg.Calculator):
        def process(self, cc: mg.CalculatorContext) -> None:
            pass

    assert registry.find_calculator("UniqueNameForRegistryTest") is UniqueNameForRegistryTest
    with pytest.raises(TypeError, match="taken"):
        type("PassThroughCalculator", (mg.Calculator,), {"process": lambda self, cc: None})


def test_unknown_calculator_suggests_close_names():
    with pytest.raises(mg.UnknownCalculatorError, match="PassThroughCalculator"):
        mg.Graph('input_stream: "a" node { calculator: "PassThruCalculator" '
                 'input_stream: "a" output_stream: "b" }')


def test_conflicting_ports_are_rejected_at_class_definition():
    with pytest.raises(TypeError, match="both claim"):
        class Clash(mg.Calculator, register=False):
            a = mg.Input(int, tag="X")
            b = mg.Inputs(int, tag="X")


def test_options_dataclass_defaults_and_checks():
    class GainOptions(mg.Options):
        gain: float = 1.0
        name: str = "g"

    options = GainOptions.from_dict({"gain": 2.5})
    assert options.gain == 2.5 and options.name == "g"
    with pytest.raises(AttributeError):
        options.gain = 3.0  # type: ignore[misc]  (frozen)
    with pytest.raises(mg.OptionsError, match="gian"):
        GainOptions.from_dict({"gian": 2.0})
    with pytest.raises(mg.OptionsError):
        GainOptions.from_dict({"gain": "loud"})


def test_function_calculator_with_two_outputs():
    @mg.calculator(outputs=("QUOTIENT", "REMAINDER"))
    def divmod_by(value: int, *, divisor: int = 3):
        return divmod(value, divisor)

    result = CalculatorRunner(divmod_by, options={"divisor": 4}).run({"VALUE": [(10, 0), (7, 1)]})
    assert values(result["QUOTIENT"]) == [2, 1] and values(result["REMAINDER"]) == [2, 3]


def test_dotted_path_needs_allow_imports():
    text = ('input_stream: "a" node { calculator: "tests.mediagraph.plugin_pkg.plugin_calcs.'
            'DottedDouble" input_stream: "a" output_stream: "b" }')
    with pytest.raises(mg.UnknownCalculatorError, match="allow_imports"):
        mg.Graph(text)
    graph = mg.Graph(text, allow_imports=["tests.mediagraph.plugin_pkg"])
    assert values(graph.run({"a": [(4, 0)]}, timeout=10)["b"]) == [8]


def test_entry_point_calculators_load_on_first_lookup(monkeypatch):
    module = "tests.mediagraph.plugin_pkg.plugin_calcs"
    sys.modules.pop(module, None)
    registry.unregister_calculator("PluginTriple")
    point = metadata.EntryPoint(name="plugin", value=module, group=registry.ENTRY_POINT_GROUP)

    def fake_entry_points(**kwargs):
        return [point] if kwargs.get("group") == registry.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(metadata, "entry_points", fake_entry_points)
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    graph = mg.Graph('input_stream: "a" node { calculator: "PluginTriple" input_stream: "a" '
                     'output_stream: "b" }')
    assert values(graph.run({"a": [(2, 0)]}, timeout=10)["b"]) == [6]


def test_importing_next_to_googles_mediapipe_descriptors_does_not_clash():
    """Google's mediapipe registers mediapipe.* in protobuf's default pool; ours is private."""
    code = textwrap.dedent("""
        import base64
        from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool
        from mediagraph.config._descriptors import FILE_DESCRIPTOR_SET_B64
        default = descriptor_pool.Default()
        for f in descriptor_pb2.FileDescriptorSet.FromString(
                base64.b64decode(FILE_DESCRIPTOR_SET_B64)).file:
            if f.name.startswith("google/"):
                continue
            f.name = "mediapipe/framework/" + f.name
            f.dependency[:] = [d if d.startswith("google/") else "mediapipe/framework/" + d
                               for d in f.dependency]
            default.Add(f)
        import mediagraph
        g = mediagraph.Graph('input_stream: "a" node { calculator: "PassThroughCalculator" '
                             'input_stream: "a" output_stream: "b" }')
        print(len(g.run({"a": [(1, 0)]})["b"]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"


def test_graph_builder_matches_text_and_prints_back():
    b = mg.GraphBuilder(max_queue_size=5)
    b.input_stream("a")
    b.node("PassThroughCalculator", inputs=["a"], outputs=["b"], name="pt")
    b.output_stream("b")
    text = b.to_text()
    assert mg.parse_config(text) == b.build()
    assert 'calculator: "PassThroughCalculator"' in text and "max_queue_size: 5" in text
    assert values(mg.Graph(b).run({"a": [(1, 0)]}, timeout=10)["b"]) == [1]


def test_exports_are_sorted():
    assert mg.__all__ == sorted(mg.__all__)


def test_unconnected_optional_input_reads_as_absent():
    class OptGet(mg.Calculator):
        main = mg.Input(int, tag="MAIN")
        extra = mg.Input(int, tag="EXTRA", optional=True)
        more = mg.Inputs(int, tag="MORE")
        out = mg.Output(int, tag="OUT")

        def process(self, cc: mg.CalculatorContext) -> None:
            assert cc.packet(self.extra) is None and cc.get(self.more) == []
            cc.send(self.out, cc.get(self.main) + cc.get(self.extra, 100))

    assert values(CalculatorRunner(OptGet).run({"MAIN": [(1, 0)]})["OUT"]) == [101]


def test_two_enums_may_share_value_names():
    import enum

    class Shape(enum.IntEnum):
        DEFAULT = 0
        ROUND = 1

    class Tone(enum.IntEnum):
        DEFAULT = 0
        WARM = 1

    class LookOptions(mg.Options):
        shape: Shape = Shape.DEFAULT
        tone: Tone = Tone.DEFAULT

    options = LookOptions.from_dict({"shape": "ROUND", "tone": "WARM"})
    assert (options.shape, options.tone) == (Shape.ROUND, Tone.WARM)
    assert LookOptions.from_message(options.to_message()) == options


@pytest.mark.parametrize("body", [
    "async def process(self, cc):\n        cc.send(self.out, 1)",
    "def process(self, cc):\n        yield 1",
    "async def open(self, cc):\n        pass",
    "async def close(self, cc):\n        yield 1",
])
def test_a_lifecycle_method_that_would_never_run_is_refused_at_definition(body):
    source = ("class Broken(mg.Calculator, register=False):\n"
              "    out = mg.Output(int)\n"
              f"    {body}\n")
    with pytest.raises(TypeError, match="its body would never run"):
        exec(source, {"mg": mg})


class ReturnsInsteadOfSending(mg.Calculator):
    """A common slip: returning the result instead of sending it."""
    value = mg.Input(int)
    out = mg.Output(int, tag="VALUE")

    def process(self, cc):
        return cc.get(self.value) * 2


def test_a_value_returned_from_process_is_named_in_a_warning_once(caplog):
    import logging

    graph = mg.Graph('input_stream: "a" node { calculator: "ReturnsInsteadOfSending" '
                     'input_stream: "VALUE:a" output_stream: "VALUE:b" }')
    with caplog.at_level(logging.WARNING, logger="mediagraph.scheduler"):
        out = graph.run({"a": [(1, 0), (2, 1), (3, 2)]}, timeout=10)
        graph.run({"a": [(1, 0)]}, timeout=10)
    assert out["b"] == []
    warnings = [r.getMessage() for r in caplog.records if "is ignored" in r.getMessage()]
    assert len(warnings) == 1 and "ReturnsInsteadOfSending.process returned int" in warnings[0]
    assert "cc.send" in warnings[0]
