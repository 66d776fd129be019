"""AudioInputCalculator: a file through the decoder, `mic`/`mic:N` through the microphone."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.audio.audio_input import AudioInputCalculator, parse_mic
from mediagraph.calculators.io.microphone_source import MicrophoneSourceCalculator
from mediagraph import CalculatorError
from mediagraph.testing.speech import write_wav
from mediagraph.testing import CalculatorRunner, timestamps, values

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("path, device", [("mic", ""), ("MIC", ""), ("mic:2", "2"),
                                          ("mic:USB Audio", "USB Audio"), ("mic.wav", None),
                                          ("/tmp/mic", None), ("microphone.wav", None)])
def test_mic_paths_are_recognised(path, device):
    assert parse_mic(path) == device


def test_a_file_decodes_into_fixed_frames(tmp_path):
    samples = np.sin(np.arange(16000 * 2) / 10.0) * 0.5
    path = write_wav(tmp_path / "a.wav", samples, 16000)
    runner = CalculatorRunner(AudioInputCalculator, options={"sample_rate": 16000,
                                                             "channels": 1, "frame_size": 512})
    out = runner.run(side_packets={"INPUT_FILE_PATH": str(path)})["AUDIO"]
    assert [f.num_samples for f in values(out)] == [512] * 62 + [256]
    assert timestamps(out) == [i * 32_000 for i in range(63)]
    decoded = np.concatenate([f.data[:, 0] for f in values(out)])
    assert decoded == pytest.approx(samples, abs=1e-4)


class OneBlockMic:
    def __call__(self):
        return self

    def input_stream(self, **kwargs):
        self.kwargs = kwargs
        callback, size = kwargs["callback"], kwargs["blocksize"]

        class Stream:
            def start(self):
                callback(np.ones((size, 1), np.float32), size, None, None)

            def stop(self):
                pass

            def close(self):
                pass

        return Stream()


def test_mic_path_captures_from_the_microphone_device(monkeypatch):
    mic = OneBlockMic()
    monkeypatch.setattr(MicrophoneSourceCalculator, "backend", mic)
    # 10 s per clock reading: the first empty poll is past the 5 s no-audio timeout
    monkeypatch.setattr(MicrophoneSourceCalculator, "clock",
                        iter(range(0, 10**12, 10**10)).__next__)
    runner = CalculatorRunner(AudioInputCalculator, options={"frame_size": 512})
    # the device stops after one block: the block goes out, then the run fails
    with pytest.raises(CalculatorError, match="delivered no audio"):
        runner.run(side_packets={"INPUT_FILE_PATH": "mic:3"})
    assert mic.kwargs["device"] == 3 and mic.kwargs["samplerate"] == 16000
    assert mic.kwargs["channels"] == 1 and mic.kwargs["blocksize"] == 512
