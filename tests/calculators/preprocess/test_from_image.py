"""FromImageCalculator: an IMAGE goes on unchanged as IMAGE_CPU."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import GraphConfigError, MediaGraphError
from mediagraph.formats import ImageFormat, ImageFrame
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("frame", [
    ImageFrame(np.zeros((4, 6, 3), np.uint8)),
    ImageFrame(np.zeros((4, 6, 1), np.float32), ImageFormat.VEC32F1)], ids=["srgb", "mask"])
def test_image_passes_through_as_the_same_object(frame):
    out = CalculatorRunner("FromImageCalculator", outputs=["IMAGE_CPU"]).run(
        {"IMAGE": [(frame, 3), (frame, 7)]})
    assert [int(p.timestamp) for p in out["IMAGE_CPU"]] == [3, 7]
    assert all(p.value is frame for p in out["IMAGE_CPU"])


def test_non_image_raises():
    with pytest.raises((MediaGraphError, GraphConfigError), match="ImageFrame"):
        CalculatorRunner("FromImageCalculator", outputs=["IMAGE_CPU"]).run({"IMAGE": [("x", 0)]})
