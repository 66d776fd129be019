"""ResampleCalculator: frequency, energy, no clicks, sample counts, exact timestamps."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import CalculatorError, GraphConfigError, MediaGraphError, Timestamp
from mediagraph.formats import AudioFrame, AudioHeader
from mediagraph.testing import CalculatorRunner, timestamps
from tests.calculators.audio._signals import feed, joined, tone

pytestmark = pytest.mark.timeout(60)


def resample(frames, target, **options):
    runner = CalculatorRunner("ResampleCalculator",
                              options={"target_sample_rate": target, **options})
    return runner.run({"AUDIO": frames})["AUDIO"]


def peak_hz(samples: np.ndarray, rate: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


@pytest.mark.parametrize("source, target", [(44100, 16000), (16000, 48000), (48000, 44100),
                                            (22050, 8000)])
def test_tone_keeps_its_frequency_and_energy(source, target):
    signal = tone(1000.0, source, 1.0)
    out = joined(resample(feed(signal, source, 1024), target))[:, 0]
    assert abs(peak_hz(out, target) - 1000.0) <= 2.0
    edge = target // 50  # skip the zero-padded ends
    assert rms(out[edge:-edge]) == pytest.approx(rms(signal[:, 0]), rel=0.01)


@pytest.mark.parametrize("source, target", [(44100, 16000), (8000, 44100), (48000, 44100)])
def test_sample_count_is_ceil_of_the_ratio(source, target):
    n = source + 123
    out = resample(feed(tone(440.0, source, n / source), source, 999), target)
    expected = n * target / source
    assert abs(sum(p.value.num_samples for p in out) - expected) <= 1


@pytest.mark.parametrize("sizes", [1024, 441, [1, 7, 3000, 2, 5000, 100000]],
                         ids=["1024", "441", "ragged"])
def test_streaming_equals_resampling_the_whole_signal_no_clicks(sizes):
    signal = tone(997.0, 44100, 0.5, channels=2) * np.array([1.0, 0.5], np.float32)
    whole = joined(resample(feed(signal, 44100, len(signal)), 16000))
    streamed = joined(resample(feed(signal, 44100, sizes), 16000))
    assert streamed.shape == whole.shape and streamed.shape[1] == 2
    np.testing.assert_allclose(streamed, whole, atol=1e-6)
    # and no jump anywhere: the largest sample-to-sample step is the tone's own
    steps = np.abs(np.diff(streamed[100:-100, 0]))
    assert steps.max() <= 0.5 * 2 * np.pi * 997.0 / 16000 * 1.01


def test_timestamps_are_each_frames_first_output_sample():
    out = resample(feed(tone(440.0, 44100, 0.3), 44100, 1000, t0=5_000), 16000)
    starts = np.cumsum([0] + [p.value.num_samples for p in out[:-1]])
    assert timestamps(out) == [5_000 + int(s) * 1_000_000 // 16000 for s in starts]
    assert all(p.value.sample_rate == 16000 for p in out)


def test_timestamps_do_not_drift_over_ten_minutes_of_44k1():
    rate, size = 44100, 44100 + 7
    block = AudioFrame(tone(440.0, rate, size / rate), rate)
    frames = [(block, i * size * 1_000_000 // rate) for i in range(600)]
    out = resample(frames, 16000, zero_crossings=2)
    starts = np.cumsum([0] + [p.value.num_samples for p in out[:-1]])
    assert timestamps(out)[-1] == int(starts[-1]) * 1_000_000 // 16000
    assert timestamps(out) == [int(s) * 1_000_000 // 16000 for s in starts]


@pytest.mark.parametrize("inputs, expected", [
    ({"AUDIO": [(np.zeros((10, 1), np.float32), 0)]}, "needs an AudioFrame, got ndarray"),
    ({"AUDIO": [(AudioFrame(np.zeros((10, 2)), 16000), 0)],
      "AUDIO_HEADER": [(AudioHeader(16000, 1, 0.0, 0), Timestamp.PRE_STREAM)]},
     "2 channel(s), but its AUDIO_HEADER says 1"),
    ({"AUDIO": [(AudioFrame(np.zeros((10, 1)), 16000), 0),
                (AudioFrame(np.zeros((10, 2)), 16000), 1000)]},
     "but the stream started as 1 ch"),
], ids=["not_audio_frame", "channels_vs_header", "channels_change"])
def test_bad_input_raises_naming_node_and_port(inputs, expected):
    with pytest.raises(MediaGraphError) as info:
        CalculatorRunner("ResampleCalculator", options={"target_sample_rate": 8000}).run(inputs)
    error = info.value
    assert isinstance(error, CalculatorError)
    assert "under_test" in str(error) and "AUDIO" in str(error) and expected in str(error)


def test_missing_target_rate_fails_at_validation():
    with pytest.raises(GraphConfigError, match="target_sample_rate must be > 0"):
        CalculatorRunner("ResampleCalculator").run({"AUDIO": []})
