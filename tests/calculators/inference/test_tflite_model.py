"""TfLiteModelCalculator, and MediaPipe's SelfieSegmentationModelLoader chain it ends:
SwitchContainer -> ResourceProviderCalculator -> TfLiteModelCalculator -> MODEL."""

from __future__ import annotations

import os

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import Graph, MediaGraphError, models
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


def test_model_resource_becomes_a_model_path(tmp_path):
    model = tmp_path / "tiny.tflite"
    model.write_bytes(b"model")
    runner = CalculatorRunner("TfLiteModelCalculator", side_outputs=["MODEL"])
    runner.run({}, {"MODEL_RESOURCE": model})
    assert runner.output_side_packets["MODEL"] == os.fspath(model)


@pytest.mark.parametrize("resource", ["", b"\x00flatbuffer"])
def test_model_resource_that_is_not_a_path_raises(resource):
    runner = CalculatorRunner("TfLiteModelCalculator", side_outputs=["MODEL"])
    with pytest.raises(MediaGraphError):
        runner.run({}, {"MODEL_RESOURCE": resource})


LOADER = """
    input_side_packet: "model_selection"
    output_side_packet: "model"
    node { calculator: "SelfieSegmentationModelLoader"
           input_side_packet: "MODEL_SELECTION:model_selection"
           output_side_packet: "MODEL:model" }
"""


@pytest.mark.parametrize("selection, name, shape", [
    (0, "selfie_segmentation.tflite", (1, 256, 256, 3)),
    (1, "selfie_segmentation_landscape.tflite", (1, 144, 256, 3))])
def test_selfie_model_loader_feeds_inference(selection, name, shape):
    try:
        expected = models.resolve(name)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    graph = Graph(LOADER)
    graph.run({}, {"model_selection": selection}, timeout=20)
    assert graph.get_output_side_packet("model") == os.fspath(expected)

    inference = Graph(LOADER.replace('output_side_packet: "model"\n', '') + """
        input_stream: "in"
        output_stream: "out"
        node { calculator: "InferenceCalculator"
               input_stream: "TENSORS:in" output_stream: "TENSORS:out"
               input_side_packet: "MODEL:model"
               options { [mediapipe.InferenceCalculatorOptions.ext] {
                 delegate { xnnpack {} } } } }""")
    out = inference.run({"in": [([np.zeros(shape, np.float32)], 0)]},
                        {"model_selection": selection}, timeout=30)["out"]
    assert out[0].value[0].shape == shape[:3] + (1,)
