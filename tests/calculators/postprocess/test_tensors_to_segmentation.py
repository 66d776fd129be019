"""TensorsToSegmentationCalculator: activations, output sizes, and errors naming node and port."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.postprocess.tensors_to_segmentation import (
    Activation,
    TensorsToSegmentationCalculatorOptions,
)
from mediagraph import GraphConfigError, MediaGraphError, parse_config, to_binary
from mediagraph.formats import ImageFormat, ImageFrame
from mediagraph.testing import CalculatorRunner, timestamps
from tests.calculators.preprocess._helpers import error_text

pytestmark = pytest.mark.timeout(60)


def segment(tensor, size=None, **options):
    opts = TensorsToSegmentationCalculatorOptions.from_dict(options) if options else None
    runner = CalculatorRunner("TensorsToSegmentationCalculator", options=opts, outputs=["MASK"])
    inputs = {"TENSORS": [([tensor], 0)]}
    if size is not None:
        inputs["OUTPUT_SIZE"] = [(size, 0)]
    return runner.run(inputs)["MASK"]


def ramp(height=4, width=6, channels=1) -> np.ndarray:
    values = np.linspace(-3.0, 3.0, height * width * channels, dtype=np.float32)
    return values.reshape(1, height, width, channels)


def test_none_passes_probabilities_through_as_a_vec32f1_frame():
    tensor = np.random.default_rng(0).random((1, 8, 5, 1), dtype=np.float32)
    [packet] = segment(tensor)
    mask = packet.value
    assert isinstance(mask, ImageFrame) and mask.format == ImageFormat.VEC32F1
    assert (mask.width, mask.height) == (5, 8)
    np.testing.assert_array_equal(mask.data[:, :, 0], tensor[0, :, :, 0])


def test_none_clips_to_the_unit_range():
    mask = segment(ramp())[0].value.data
    assert mask.min() == 0.0 and mask.max() == 1.0


def test_sigmoid_applies_the_logistic_function():
    tensor = ramp()
    mask = segment(tensor, activation=Activation.SIGMOID)[0].value.data[:, :, 0]
    np.testing.assert_allclose(mask, 1 / (1 + np.exp(-tensor[0, :, :, 0])), rtol=1e-6)


@pytest.mark.parametrize("layer", [0, 1])
def test_softmax_outputs_the_chosen_channels_probability(layer):
    tensor = ramp(channels=2)
    mask = segment(tensor, activation="SOFTMAX", output_layer_index=layer)[0].value.data[:, :, 0]
    e = np.exp(tensor[0].astype(np.float64))
    np.testing.assert_allclose(mask, e[:, :, layer] / e.sum(axis=2), rtol=1e-5)


def test_sigmoid_of_huge_logits_does_not_overflow():
    tensor = np.array([[-1e30, 1e30]], np.float32).reshape(1, 1, 2, 1)
    mask = segment(tensor, activation="SIGMOID")[0].value.data[0, :, 0]
    np.testing.assert_array_equal(mask, [0.0, 1.0])


def test_output_size_resizes_the_mask_bilinearly():
    tensor = np.zeros((1, 4, 4, 1), np.float32)
    tensor[0, :, 2:, 0] = 1.0  # right half foreground
    [packet] = segment(tensor, size=(40, 20))
    mask = packet.value.data[:, :, 0]
    assert mask.shape == (20, 40)
    assert (mask[:, :15] == 0).all() and (mask[:, 25:] == 1).all()
    assert 0 < mask[10, 20] < 1  # the edge is interpolated


def test_a_timestamp_without_output_size_produces_no_mask():
    runner = CalculatorRunner("TensorsToSegmentationCalculator", outputs=["MASK"])
    tensor = np.ones((1, 2, 2, 1), np.float32)
    out = runner.run({"TENSORS": [([tensor], 0), ([tensor], 1)], "OUTPUT_SIZE": [((4, 4), 1)]})
    assert timestamps(out["MASK"]) == [1]


@pytest.mark.parametrize("tensor, options, message", [
    (np.zeros((2, 4, 4, 1), np.float32), {}, "batch of 1"),
    (np.zeros((4,), np.float32), {}, "1xHxWxC"),
    (np.zeros((1, 4, 4, 2), np.float32), {}, "NONE needs a 1-channel tensor"),
    (np.zeros((1, 4, 4, 3), np.float32), {"activation": "SOFTMAX"}, "2-channel"),
    (np.zeros((1, 4, 4, 1), np.uint8), {}, "float tensor"),
], ids=["batch", "rank", "channels_none", "channels_softmax", "dtype"])
def test_bad_tensor_shapes_raise_naming_node_and_port(tensor, options, message):
    with pytest.raises(MediaGraphError) as info:
        segment(tensor, **options)
    text = error_text(info.value)
    assert "under_test" in text and "TENSORS" in text and message in text


def test_bad_output_size_raises_naming_the_port():
    with pytest.raises(MediaGraphError) as info:
        segment(np.zeros((1, 4, 4, 1), np.float32), size=(0, 5))
    assert "OUTPUT_SIZE" in error_text(info.value)


def test_softmax_layer_index_is_checked_at_validation():
    with pytest.raises(GraphConfigError) as info:
        segment(ramp(channels=2), activation="SOFTMAX", output_layer_index=2)
    assert "output_layer_index" in error_text(info.value)


def test_options_parse_with_mediapipes_numbers_in_text_and_binary():
    config = parse_config("""
        input_stream: "t"
        node { calculator: "TensorsToSegmentationCalculator"
               input_stream: "TENSORS:t" output_stream: "MASK:m"
               options { [mediapipe.TensorsToSegmentationCalculatorOptions.ext] {
                 activation: SOFTMAX output_layer_index: 0 gpu_origin: TOP_LEFT } } }
    """)
    ext = TensorsToSegmentationCalculatorOptions.extension()
    assert ext.number == 374311106
    message = config.node[0].options.Extensions[ext]
    assert [f.number for f, _ in message.ListFields()] == [1, 2, 3]
    assert message.activation == 2 and message.output_layer_index == 0
    again = parse_config(to_binary(config))
    assert again.node[0].options.Extensions[ext] == message
