"""graphs/voice_activity.pbtxt: espeak-ng speech with known silences in, segments out."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
import mediagraph as mg
from mediagraph.calculators.audio.segments_sink import read_segments
from mediagraph.calculators.io.microphone_source import MicrophoneSourceCalculator
from mediagraph import models
from mediagraph.testing.speech import (
    SpeechSynthesisUnavailable,
    make_speech,
    read_wav,
    write_wav,
)

ROOT = Path(__file__).resolve().parents[2]
GRAPH = ROOT / "graphs" / "voice_activity.pbtxt"
PHRASES = ["hello there, how are you today", "the quick brown fox jumps over the dog",
           "one two three four five", "see you tomorrow morning"]
TOLERANCE_S = 0.15
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", autouse=True)
def model():
    try:
        models.resolve("silero_vad.onnx")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    try:
        return make_speech(tmp_path_factory.mktemp("speech") / "speech.wav", PHRASES,
                           silence_s=1.0)
    except SpeechSynthesisUnavailable as exc:
        pytest.skip(f"no test speech: {exc}")


def detect(audio_path, out_path):
    mg.Graph(GRAPH).run(side_packets={"input_audio_path": str(audio_path),
                                      "output_path": str(out_path)}, timeout=60)
    return read_segments(out_path)


def test_each_phrase_is_found_within_tolerance(speech, tmp_path):
    path, known = speech
    found = detect(path, tmp_path / "segments.jsonl")
    assert len(found) == len(known), (found, known)
    for (start, end), (true_start, true_end) in zip(found, known):
        assert abs(start - true_start) <= TOLERANCE_S, (found, known)
        assert abs(end - true_end) <= TOLERANCE_S, (found, known)


@pytest.mark.parametrize("kind", ["white_noise", "silence", "zero_samples"])
def test_no_speech_gives_no_segments(tmp_path, kind):
    rng = np.random.default_rng(0)
    samples = {"white_noise": rng.normal(0, 0.01, 5 * 16000),
               "silence": np.zeros(5 * 16000),
               "zero_samples": np.zeros(0)}[kind]
    audio = write_wav(tmp_path / "in.wav", samples, 16000)
    out = tmp_path / "segments.srt"
    assert detect(audio, out) == [] and out.read_text() == ""


def test_a_zero_byte_file_fails_with_a_clear_error(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(mg.CalculatorError, match="empty"):
        detect(empty, tmp_path / "segments.srt")


def cli(*args, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "mediagraph", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=ROOT, check=False)


def test_cli_writes_a_valid_srt(speech, tmp_path):
    path, known = speech
    out = tmp_path / "segments.srt"
    result = cli("run", str(GRAPH), "--input", str(path), "--output", str(out))
    assert result.returncode == 0, result.stderr
    blocks = out.read_text().strip().split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == [str(i + 1) for i in range(len(known))]
    assert all(len(b.splitlines()) == 3 and " --> " in b for b in blocks)
    assert len(read_segments(out)) == len(known)


def has_input_device():
    try:
        import sounddevice
        return any(d["max_input_channels"] > 0 for d in sounddevice.query_devices())
    except Exception:  # noqa: BLE001 - no PortAudio, no devices: no microphone
        return False


@pytest.mark.skipif(has_input_device(), reason="this machine has a microphone")
def test_cli_mic_without_a_device_fails_with_a_clear_error(tmp_path):
    result = cli("run", str(GRAPH), "--input", "mic", "--output", str(tmp_path / "s.srt"),
                 timeout=60)
    assert result.returncode != 0
    assert "AudioInputCalculator" in result.stderr
    assert any(w in result.stderr.lower() for w in ("portaudio", "input device", "microphone"))


class VanishingMic:
    """A microphone backend that plays `samples` in blocks, then stops calling back
    (unplugged): the graph's source must notice and end the run with an error."""

    def __init__(self, samples):
        self.samples = samples

    def __call__(self):
        return self

    def input_stream(self, *, blocksize, callback, **_):
        samples = self.samples

        class Stream:
            def start(self):
                def deliver():
                    for i in range(0, len(samples), blocksize):
                        block = samples[i:i + blocksize, None]
                        callback(block, len(block), None, None)
                self.thread = threading.Thread(target=deliver, daemon=True)
                self.thread.start()

            def stop(self):
                self.thread.join(timeout=10)

            def close(self):
                pass

        return Stream()


def test_microphone_that_disappears_ends_the_run_with_segments_written(tmp_path, monkeypatch):
    try:
        path, known = make_speech(tmp_path / "short.wav", ["one two three"], silence_s=0.3)
    except SpeechSynthesisUnavailable as exc:
        pytest.skip(f"no test speech: {exc}")
    samples, _ = read_wav(path)
    # at most 60 frames: the microphone's queue (64) never overflows, whatever the pace
    samples = samples[:60 * 512]
    monkeypatch.setattr(MicrophoneSourceCalculator, "backend", VanishingMic(samples))
    ticks = itertools.count()
    monkeypatch.setattr(MicrophoneSourceCalculator, "clock",
                        lambda: next(ticks) * 3_000_000_000)  # 3 s per reading: fast timeout
    out = tmp_path / "segments.jsonl"
    with pytest.raises(mg.CalculatorError, match="delivered no audio") as info:
        mg.Graph(GRAPH).run(side_packets={"input_audio_path": "mic", "output_path": str(out)},
                            timeout=60)
    assert "AudioInputCalculator" in str(info.value)
    found = read_segments(out)
    assert len(found) == 1
    assert abs(found[0][0] - known[0][0]) <= TOLERANCE_S
