"""SegmentationSmoothingCalculator: unsure pixels take the previous mask, sure ones stay."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.postprocess.segmentation_smoothing import (
    SegmentationSmoothingCalculatorOptions,
)
from mediagraph import MediaGraphError, parse_config
from mediagraph.formats import ImageFormat, ImageFrame
from mediagraph.testing import CalculatorRunner, timestamps
from tests.calculators.preprocess._helpers import error_text

pytestmark = pytest.mark.timeout(60)

# MediaPipe's polynomial fit of the uncertainty curve, to check ours against it.
_FIT = (5.68842, -0.748699, -57.8051, 291.309, -624.717)


def mediapipe_uncertainty(p: np.ndarray) -> np.ndarray:
    x = (p - 0.5) ** 2
    c1, c2, c3, c4, c5 = _FIT
    return 1.0 - np.minimum(1.0, x * (c1 + x * (c2 + x * (c3 + x * (c4 + x * c5)))))


def frame(values) -> ImageFrame:
    return ImageFrame(np.asarray(values, np.float32).reshape(1, -1), ImageFormat.VEC32F1)


def run(current, previous, ratio):
    opts = SegmentationSmoothingCalculatorOptions(combine_with_previous_ratio=ratio)
    runner = CalculatorRunner("SegmentationSmoothingCalculator", options=opts)
    inputs = {"MASK": [(current, 0)]}
    if previous is not None:
        inputs["MASK_PREVIOUS"] = [(previous, 0)]
    return runner.run(inputs)["MASK_SMOOTHED"]


def test_blend_follows_mediapipes_uncertainty_curve():
    p = np.linspace(0.0, 1.0, 101, dtype=np.float32)
    previous = np.full_like(p, 0.25)
    out = run(frame(p), frame(previous), 0.8)[0].value.data[0, :, 0]
    expected = p + (previous - p) * mediapipe_uncertainty(p) * 0.8
    np.testing.assert_allclose(out, expected, atol=1e-6)   # MediaPipe's own polynomial
    assert out[50] == pytest.approx(0.5 - 0.25 * 0.8, abs=1e-5)  # p = 0.5: fully unsure
    assert out[0] == pytest.approx(0.0, abs=1e-4) and out[-1] == pytest.approx(1.0, abs=1e-4)


def test_ratio_one_at_half_takes_the_previous_value():
    out = run(frame([0.5]), frame([0.9]), 1.0)[0].value.data
    assert out[0, 0, 0] == pytest.approx(0.9, abs=1e-5)


@pytest.mark.parametrize("previous, ratio", [(None, 0.7), (frame([0.0, 0.0]), 0.0)],
                         ids=["first_frame", "ratio_zero"])
def test_current_mask_passes_through(previous, ratio):
    current = frame([0.5, 0.7])
    [packet] = run(current, previous, ratio)
    assert packet.value is current


def test_timestamps_follow_the_current_mask():
    runner = CalculatorRunner("SegmentationSmoothingCalculator",
                              options=SegmentationSmoothingCalculatorOptions(
                                  combine_with_previous_ratio=0.5))
    out = runner.run({"MASK": [(frame([0.5]), 0), (frame([0.5]), 1)],
                      "MASK_PREVIOUS": [(frame([1.0]), 1)]})["MASK_SMOOTHED"]
    assert timestamps(out) == [0, 1]
    assert out[1].value.data[0, 0, 0] == pytest.approx(0.75, abs=1e-5)


@pytest.mark.parametrize("current, previous, message", [
    (frame([0.5, 0.5]), frame([0.5]), "MASK_PREVIOUS is 1x1 but MASK is 2x1"),
    (ImageFrame(np.zeros((2, 2, 3), np.uint8)), frame([0.5]), "MASK needs a VEC32F1"),
    ("mask", None, "MASK needs"),
], ids=["size_mismatch", "wrong_format", "wrong_type"])
def test_bad_masks_raise_naming_node_and_port(current, previous, message):
    with pytest.raises(MediaGraphError) as info:
        run(current, previous, 0.5)
    text = error_text(info.value)
    assert "under_test" in text and message in text


def test_options_parse_with_mediapipes_number():
    config = parse_config("""
        input_stream: "m"
        node { calculator: "SegmentationSmoothingCalculator"
               input_stream: "MASK:m" output_stream: "MASK_SMOOTHED:s"
               options { [mediapipe.SegmentationSmoothingCalculatorOptions.ext] {
                 combine_with_previous_ratio: 0.9 } } }
    """)
    ext = SegmentationSmoothingCalculatorOptions.extension()
    assert ext.number == 377425128
    assert config.node[0].options.Extensions[ext].combine_with_previous_ratio == pytest.approx(0.9)
