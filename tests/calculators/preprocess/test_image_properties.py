"""ImagePropertiesCalculator: SIZE is (width, height)."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import MediaGraphError
from mediagraph.formats import ImageFrame
from mediagraph.testing import CalculatorRunner, values
from tests.calculators.preprocess._helpers import error_text

pytestmark = pytest.mark.timeout(60)


def test_size_is_width_then_height():
    frames = [(ImageFrame(np.zeros((3, 5, 3), np.uint8)), 0),
              (ImageFrame(np.zeros((7, 2), np.float32)), 1)]
    out = CalculatorRunner("ImagePropertiesCalculator").run({"IMAGE": frames})
    assert values(out["SIZE"]) == [(5, 3), (2, 7)]


def test_non_image_raises_naming_the_port():
    with pytest.raises(MediaGraphError) as info:
        CalculatorRunner("ImagePropertiesCalculator").run({"IMAGE": [("frame", 0)]})
    assert "input IMAGE needs an ImageFrame, got str" in error_text(info.value)


def test_mediapipes_image_cpu_tag_is_accepted():
    import numpy as np

    from mediagraph.formats import ImageFrame
    from mediagraph.testing import CalculatorRunner

    frame = ImageFrame(np.zeros((5, 7, 3), np.uint8))
    out = CalculatorRunner("ImagePropertiesCalculator").run({"IMAGE_CPU": [(frame, 0)]})
    assert [p.value for p in out["SIZE"]] == [(7, 5)]
