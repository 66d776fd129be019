"""AudioLevelCalculator and AudioToRenderDataCalculator."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.audio.audio_level import AudioLevel
from mediagraph import CalculatorError, GraphConfigError, MediaGraphError
from mediagraph.formats import AudioFrame, ImageFrame, RenderData
from mediagraph.testing import CalculatorRunner, timestamps, values
from tests.calculators.audio._signals import feed, tone

pytestmark = pytest.mark.timeout(60)


def levels(frames, **options):
    return CalculatorRunner("AudioLevelCalculator", options=options or None).run(
        {"AUDIO": frames})["LEVEL"]


def test_sine_reads_minus_3_db_rms_and_its_peak():
    out = levels(feed(tone(1000.0, 48000, 0.1, amplitude=0.5, channels=2), 48000, 480))
    assert timestamps(out) == [n * 10_000 for n in range(10)]
    for level in values(out):
        assert level.rms == pytest.approx(0.5 / np.sqrt(2), rel=1e-3)
        assert level.rms_dbfs == pytest.approx(20 * np.log10(0.5) - 3.0103, abs=0.01)
        assert level.peak_dbfs == pytest.approx(20 * np.log10(0.5), abs=0.01)
        assert level.num_samples == 480


def test_silence_reads_the_floor():
    [level] = values(levels([(AudioFrame(np.zeros((100, 1)), 8000), 0)], min_dbfs=-90.0))
    assert level == AudioLevel(0.0, 0.0, -90.0, -90.0, 100)


def test_non_audio_raises_naming_node_and_port():
    with pytest.raises(MediaGraphError) as info:
        levels([([0.1, 0.2], 0)])
    assert isinstance(info.value, CalculatorError)
    assert "under_test" in str(info.value) and "input AUDIO" in str(info.value)


def draw(render: RenderData, size=(120, 160)) -> np.ndarray:
    frame = ImageFrame(np.zeros(size + (3,), np.uint8))
    out = CalculatorRunner("AnnotationOverlayCalculator").run(
        {"IMAGE": [(frame, 0)], "": [(render, 0)]})["IMAGE"]
    return out[0].value.to_ndarray()


def test_meter_bar_grows_with_the_level():
    quiet = AudioLevel(0.01, 0.02, -40.0, -34.0)
    loud = AudioLevel(0.5, 0.9, -6.0, -1.0)
    out = CalculatorRunner("AudioToRenderDataCalculator").run(
        {"LEVEL": [(quiet, 0), (loud, 1)]})["RENDER_DATA"]
    assert timestamps(out) == [0, 1]
    bars = [a for a in out[0].value.render_annotation if a.kind == "filled_rectangle"]
    quiet_bar, loud_bar = bars[1], [a for a in out[1].value.render_annotation
                                    if a.kind == "filled_rectangle"][1]
    assert loud_bar.coords[2] > quiet_bar.coords[2]
    assert loud_bar.color.r > loud_bar.color.g  # hot from -6 dBFS
    pixels = draw(out[1].value)
    assert pixels.any()


def test_waveform_scrolls_with_the_audio():
    frames = feed(tone(50.0, 8000, 1.0), 8000, 800)
    out = CalculatorRunner("AudioToRenderDataCalculator",
                           options={"waveform_columns": 40, "waveform_seconds": 1.0}).run(
        {"AUDIO": frames})["RENDER_DATA"]
    assert len(out) == 10
    lines = [a for a in out[-1].value.render_annotation if a.kind == "line"]
    assert len(lines) == 40
    heights = [a.coords[3] - a.coords[1] for a in lines]
    assert min(heights) > 0  # a full second of tone fills every column
    first = [a.coords[3] - a.coords[1] for a in out[0].value.render_annotation
             if a.kind == "line"]
    assert first[0] == 0 and first[-1] > 0  # the newest audio is on the right


def test_needs_an_input_at_validation():
    with pytest.raises(GraphConfigError, match="needs a LEVEL or an AUDIO input"):
        CalculatorRunner("AudioToRenderDataCalculator",
                         outputs=["RENDER_DATA"]).run({})
