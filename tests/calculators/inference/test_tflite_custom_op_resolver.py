"""TfLiteCustomOpResolverCalculator: an OP_RESOLVER marker InferenceCalculator accepts."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.inference.tflite_custom_op_resolver import (
    OpResolver, TfLiteCustomOpResolverCalculatorOptions)
from mediagraph import Graph, models, parse_config
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("use_gpu", [False, True])
def test_outputs_an_op_resolver_marker(use_gpu):
    runner = CalculatorRunner("TfLiteCustomOpResolverCalculator", options={"use_gpu": use_gpu},
                              side_outputs=["OP_RESOLVER"])
    runner.run()
    resolver = runner.output_side_packets["OP_RESOLVER"]
    assert isinstance(resolver, OpResolver) and resolver.use_gpu is use_gpu


def test_mediapipe_options_load():
    config = parse_config("""
        node { calculator: "TfLiteCustomOpResolverCalculator"
               output_side_packet: "OP_RESOLVER:op_resolver"
               options { [mediapipe.TfLiteCustomOpResolverCalculatorOptions.ext] {
                 use_gpu: true } } }""")
    assert TfLiteCustomOpResolverCalculatorOptions.extension_number == 252087553
    message = config.node[0].options.Extensions[
        TfLiteCustomOpResolverCalculatorOptions.extension()]
    assert message.use_gpu


def test_inference_accepts_and_ignores_the_op_resolver():
    try:
        models.resolve("selfie_segmentation.tflite")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    graph = Graph("""
        input_stream: "in"
        output_stream: "out"
        node { calculator: "TfLiteCustomOpResolverCalculator"
               output_side_packet: "OP_RESOLVER:op_resolver" }
        node { calculator: "InferenceCalculator"
               input_stream: "TENSORS:in" output_stream: "TENSORS:out"
               input_side_packet: "OP_RESOLVER:op_resolver"
               options { [mediapipe.InferenceCalculatorOptions.ext] {
                 model_path: "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite"
                 delegate { xnnpack {} } } } }""")
    tensor = np.zeros((1, 256, 256, 3), np.float32)
    out = graph.run({"in": [([tensor], 0)]}, timeout=30)["out"]
    assert out[0].value[0].shape == (1, 256, 256, 1)
