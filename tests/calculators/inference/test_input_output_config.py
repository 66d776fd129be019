"""InferenceCalculator's input_output_config: tensor order maps and feedback links, on real models."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mediagraph.calculators  # noqa: F401  (registers the calculators)
from mediagraph.calculators.inference.inference_calculator import InferenceCalculatorOptions
from mediagraph import CalculatorError, GraphConfigError, models, parse_config, to_binary
from mediagraph.config.options_access import find_node_options
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


def _model(name: str) -> str:
    try:
        return str(models.resolve(name))
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


def _run(model: str, io_config: str, batches: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    node = parse_config(f"""node {{ calculator: "InferenceCalculator"
        input_stream: "TENSORS:in" output_stream: "TENSORS:out"
        options {{ [mediapipe.InferenceCalculatorOptions.ext] {{
          model_path: "{model}" delegate {{ xnnpack {{}} }} {io_config} }} }} }}""").node[0]
    options = InferenceCalculatorOptions.from_message(
        find_node_options(node, "mediapipe.InferenceCalculatorOptions"))
    runner = CalculatorRunner("InferenceCalculator", options=options)
    out = runner.run({"TENSORS": [(batch, i) for i, batch in enumerate(batches)]})
    return [packet.value for packet in out["TENSORS"]]


SILERO_FEEDBACK = """input_output_config { feedback_tensor_links {
    from_output_tensor_name: "stateN" to_input_tensor_name: "state" } }"""


def _silero_chunks(count: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(4)
    return [[rng.uniform(-0.5, 0.5, (1, 576)).astype(np.float32), np.array(16000, np.int64)]
            for _ in range(count)]


def test_feedback_carries_silero_vads_state_from_call_to_call():
    model = _model("silero_vad.onnx")
    ort = pytest.importorskip("onnxruntime")
    chunks = _silero_chunks(4)
    got = _run(model, SILERO_FEEDBACK, chunks)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    state = np.zeros((2, 1, 128), np.float32)
    for (audio, rate), outputs in zip(chunks, got):
        want, state = session.run(None, {"input": audio, "state": state, "sr": rate})
        assert len(outputs) == 1  # the state stays inside: only "output" comes out
        np.testing.assert_allclose(outputs[0], want, atol=1e-6)
    # The state must matter: fed zeros every time, later calls would differ.
    fresh = session.run(None, {"input": chunks[3][0], "state": np.zeros((2, 1, 128), np.float32),
                               "sr": chunks[3][1]})[0]
    assert not np.allclose(fresh, got[3][0], atol=1e-6)


def test_feedback_state_starts_from_zeros_in_each_run():
    model = _model("silero_vad.onnx")
    chunks = _silero_chunks(2)
    first, again = _run(model, SILERO_FEEDBACK, chunks), _run(model, SILERO_FEEDBACK, chunks)
    np.testing.assert_array_equal(first[0][0], again[0][0])


@pytest.fixture(scope="module")
def face_input() -> list[np.ndarray]:
    return [np.random.default_rng(9).uniform(-1, 1, (1, 128, 128, 3)).astype(np.float32)]


FACE = "face_detection_short_range.tflite"


@pytest.mark.parametrize("io_config", [
    "input_output_config { output_tensor_indices_map { model_tensor_indices: [1, 0] } }",
    "input_output_config { output_tensor_names_map { tensor_names: ['classificators', "
    "'regressors'] } }"])
def test_outputs_come_out_in_the_mapped_order(face_input: list[np.ndarray], io_config: str):
    model = _model(FACE)
    plain = _run(model, "", [face_input])[0]
    mapped = _run(model, io_config, [face_input])[0]
    assert [a.shape for a in plain] == [(1, 896, 16), (1, 896, 1)]
    np.testing.assert_array_equal(mapped[0], plain[1])
    np.testing.assert_array_equal(mapped[1], plain[0])


def test_inputs_can_be_named(face_input: list[np.ndarray]):
    model = _model(FACE)
    named = _run(model, "input_output_config { input_tensor_names_map { "
                        "tensor_names: 'input' } }", [face_input])[0]
    np.testing.assert_array_equal(named[0], _run(model, "", [face_input])[0][0])


@pytest.mark.parametrize(("io_config", "message"), [
    ("input_output_config { input_tensor_names_map { tensor_names: 'image' } }",
     r"input_tensor_names_map 'image' is not one of the model's inputs \(input\)"),
    ("input_output_config { output_tensor_indices_map { model_tensor_indices: [0, 2] } }",
     r"output_tensor_indices_map has 2, but the model's outputs are 0..1"),
    ("input_output_config { output_tensor_indices_map { model_tensor_indices: [0] } }",
     r"the output map \[0\] must name each of the model's 2 output tensors \[0, 1\] once"),
    ("input_output_config { feedback_tensor_links { from_output_tensor_name: 'scores' "
     "to_input_tensor_name: 'input' } }",
     r"feedback from_output_tensor_name 'scores' is not one of the model's outputs "
     r"\(regressors, classificators\)")])
def test_a_map_that_does_not_fit_the_model_fails_at_open_naming_it(
        face_input: list[np.ndarray], io_config: str, message: str):
    model = _model(FACE)
    with pytest.raises(CalculatorError, match=message) as info:
        _run(model, io_config, [face_input])
    assert "face_detection_short_range.tflite" in str(info.value)


def test_a_side_with_both_maps_fails_at_validation(face_input: list[np.ndarray]):
    with pytest.raises(GraphConfigError, match="sets both output_tensor_indices_map and "
                                               "output_tensor_names_map"):
        _run(_model(FACE), "input_output_config { output_tensor_indices_map { "
             "model_tensor_indices: [0, 1] } output_tensor_names_map { "
             "tensor_names: ['regressors', 'classificators'] } }", [face_input])


def test_options_round_trip_through_mediapipes_binary_form():
    text = f"""node {{ calculator: "InferenceCalculator" options {{
        [mediapipe.InferenceCalculatorOptions.ext] {{ model_path: "m.tflite" input_output_config {{
          input_tensor_indices_map {{ model_tensor_indices: [2, 0] }}
          feedback_tensor_links {{ from_output_tensor_name: "stateN"
                                   to_input_tensor_name: "state" }} }} }} }} }}"""
    node = parse_config(to_binary(parse_config(text))).node[0]
    message = find_node_options(node, "mediapipe.InferenceCalculatorOptions")
    options: Any = InferenceCalculatorOptions.from_message(message)
    config = options.input_output_config
    assert list(config.input_tensor_indices_map.model_tensor_indices) == [2, 0]
    assert config.feedback_tensor_links[0].to_input_tensor_name == "state"


def _tensor_graph(model: str, inputs: str, outputs: str) -> str:
    return f"""input_stream: "image_tensor"
        node {{ calculator: "InferenceCalculator" {inputs} {outputs}
          options {{ [mediapipe.InferenceCalculatorOptions.ext] {{
            model_path: "{model}" delegate {{ xnnpack {{}} }} }} }} }}"""


def test_one_stream_per_tensor_in_and_out(face_input: list[np.ndarray]):
    import mediagraph as mg

    model = _model(FACE)
    graph = mg.Graph(_tensor_graph(model, 'input_stream: "TENSOR:0:image_tensor"',
                                   'output_stream: "TENSOR:0:boxes" '
                                   'output_stream: "TENSOR:1:scores"'))
    out = graph.run({"image_tensor": [(face_input[0], 0), (face_input[0] * 0.5, 1)]}, timeout=30)
    plain = _run(model, "", [face_input, [face_input[0] * 0.5]])
    for t in range(2):
        np.testing.assert_array_equal(out["boxes"][t].value, plain[t][0])
        np.testing.assert_array_equal(out["scores"][t].value, plain[t][1])


@pytest.mark.parametrize(("inputs", "outputs", "message"), [
    ('input_stream: "TENSOR:0:image_tensor" input_stream: "TENSORS:image_tensors"',
     'output_stream: "TENSORS:out"', "connect either TENSORS or TENSOR:0..N inputs, not both"),
    ('input_stream: "TENSOR:0:image_tensor"', "",
     "connect either TENSORS or TENSOR:0..N outputs, not neither")])
def test_tensor_streams_both_or_neither_fail_at_validation(inputs: str, outputs: str,
                                                            message: str):
    import mediagraph as mg

    config = _tensor_graph(_model(FACE), inputs, outputs)
    if "image_tensors" in inputs:
        config = 'input_stream: "image_tensors"\n' + config
    with pytest.raises(GraphConfigError, match=message):
        mg.Graph(config)


def test_tensor_streams_that_do_not_fit_the_model_fail_at_open():
    import mediagraph as mg

    config = _tensor_graph(_model(FACE), 'input_stream: "TENSOR:0:image_tensor"',
                           'output_stream: "TENSOR:0:boxes"')
    feeds = {"image_tensor": [(np.zeros((1, 128, 128, 3), np.float32), 0)]}
    with pytest.raises(CalculatorError,
                       match="1 TENSOR outputs, but model face_detection_short_range.tflite has 2"):
        mg.Graph(config).run(feeds, timeout=30)


def _scaling_model(folder, count: int) -> str:
    """An ONNX model with inputs x0..xN-1 and outputs yI = xI * (I + 1)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    nodes, inputs, outputs, inits = [], [], [], []
    for i in range(count):
        inputs.append(helper.make_tensor_value_info(f"x{i}", TensorProto.FLOAT, [1, 3]))
        outputs.append(helper.make_tensor_value_info(f"y{i}", TensorProto.FLOAT, [1, 3]))
        inits.append(helper.make_tensor(f"k{i}", TensorProto.FLOAT, [1], [float(i + 1)]))
        nodes.append(helper.make_node("Mul", [f"x{i}", f"k{i}"], [f"y{i}"]))
    graph = helper.make_graph(nodes, "scales", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = folder / f"scales{count}.onnx"
    onnx.save(model, str(path))
    return str(path)


@pytest.fixture(scope="module")
def scales(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _scaling_model(tmp_path_factory.mktemp("io"), 4)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(inputs=st.permutations(range(4)), outputs=st.permutations(range(4)),
       by_name=st.booleans())
def test_any_permutation_routes_each_tensor_to_its_model_port(scales, inputs, outputs, by_name):
    if by_name:
        config = ("input_output_config { input_tensor_names_map { tensor_names: [%s] } "
                  "output_tensor_names_map { tensor_names: [%s] } }"
                  % (", ".join(f"'x{i}'" for i in inputs), ", ".join(f"'y{i}'" for i in outputs)))
    else:
        config = ("input_output_config { input_tensor_indices_map { model_tensor_indices: %s } "
                  "output_tensor_indices_map { model_tensor_indices: %s } }"
                  % (list(inputs), list(outputs)))
    feeds = [np.full((1, 3), 10.0 * (n + 1), np.float32) for n in range(4)]
    got = _run(scales, config, [feeds])[0]
    # Calculator input n is model input inputs[n]; model output j is that input times j+1.
    model_in = {inputs[n]: feeds[n] for n in range(4)}
    for n, index in enumerate(outputs):
        np.testing.assert_array_equal(got[n], model_in[index] * (index + 1))
