"""ToImageCalculator: CPU images pass through unchanged under IMAGE."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import GraphConfigError, MediaGraphError
from mediagraph.formats import ImageFrame
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("tag", ["IMAGE", "IMAGE_CPU"])
def test_image_passes_through_as_the_same_object(tag):
    frame = ImageFrame(np.zeros((4, 6, 3), np.uint8))
    out = CalculatorRunner("ToImageCalculator", outputs=["IMAGE"]).run({tag: [(frame, 5)]})
    assert [(p.value, int(p.timestamp)) for p in out["IMAGE"]] == [(frame, 5)]
    assert out["IMAGE"][0].value is frame


def test_both_inputs_connected_raise_at_validation():
    frame = ImageFrame(np.zeros((4, 6, 3), np.uint8))
    with pytest.raises(GraphConfigError, match="exactly one of IMAGE and IMAGE_CPU"):
        CalculatorRunner("ToImageCalculator", outputs=["IMAGE"]).run(
            {"IMAGE": [(frame, 0)], "IMAGE_CPU": [(frame, 0)]})


def test_non_image_raises():
    with pytest.raises((MediaGraphError, GraphConfigError), match="ImageFrame"):
        CalculatorRunner("ToImageCalculator", outputs=["IMAGE"]).run({"IMAGE": [("x", 0)]})
