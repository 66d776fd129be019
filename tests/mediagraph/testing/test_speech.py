"""mediagraph.testing.speech: espeak-ng phrases placed between known silences."""

from __future__ import annotations

import numpy as np
import pytest

from mediagraph.testing import speech
from mediagraph.testing.speech import (
    SpeechSynthesisUnavailable,
    make_speech,
    read_wav,
    write_wav,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def espeak():
    try:
        speech._espeak()
    except SpeechSynthesisUnavailable as exc:
        pytest.skip(str(exc))


def test_phrases_sit_between_known_silences(tmp_path, espeak):
    path, intervals = make_speech(tmp_path / "s.wav", ["hello", "good morning"], silence_s=0.5,
                                  rate=16000)
    samples, rate = read_wav(path)
    assert rate == 16000 and len(intervals) == 2
    assert intervals[0][0] == 0.5
    assert intervals[1][0] == pytest.approx(intervals[0][1] + 0.5)
    assert len(samples) / rate == pytest.approx(intervals[1][1] + 0.5, abs=1 / rate)
    for start, end in intervals:
        voiced = samples[round(start * rate):round(end * rate)]
        assert np.abs(voiced).max() > 0.1
        assert abs(voiced[0]) > 0 and abs(voiced[-1]) > 0  # trimmed to the audible part
    quiet = np.concatenate([samples[:round(intervals[0][0] * rate)],
                            samples[round(intervals[0][1] * rate):round(intervals[1][0] * rate)]])
    assert not quiet.any()  # digital silence between phrases


def test_rate_is_honoured(tmp_path, espeak):
    path, intervals = make_speech(tmp_path / "s.wav", ["hello"], silence_s=0.25, rate=8000)
    _, rate = read_wav(path)
    assert rate == 8000 and intervals[0][0] == 0.25


def test_missing_espeak_names_the_debian_package(monkeypatch, tmp_path):
    monkeypatch.setattr(speech.shutil, "which", lambda _name: None)
    with pytest.raises(SpeechSynthesisUnavailable, match="apt install espeak-ng"):
        make_speech(tmp_path / "s.wav", ["hello"])


def test_wav_round_trip(tmp_path):
    samples = np.linspace(-1, 1, 101, dtype=np.float32)
    back, rate = read_wav(write_wav(tmp_path / "r.wav", samples, 22050))
    assert rate == 22050 and back == pytest.approx(samples, abs=1e-4)
