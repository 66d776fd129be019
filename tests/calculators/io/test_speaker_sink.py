"""SpeakerSinkCalculator through a fake audio backend in real graphs; a real one if present."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.io._devices import DeviceUnavailableError
from mediagraph.calculators.io.microphone_source import MicrophoneSourceCalculator
from mediagraph.calculators.io.speaker_sink import SpeakerSinkCalculator
from mediagraph import CalculatorError, Graph, GraphBuilder, MediaGraphError
from mediagraph.formats import AudioFrame
from mediagraph.testing import CalculatorRunner
from tests.calculators.io.test_microphone_source import FakeAudioBackend, _portaudio_state

pytestmark = pytest.mark.timeout(120)


class FakeOutputStream:
    def __init__(self, kwargs):
        self.kwargs = kwargs
        self.written = []
        self.events = []

    def start(self):
        self.events.append("start")

    def write(self, data):
        assert data.dtype == np.float32 and data.flags.c_contiguous
        self.written.append(data.copy())

    def stop(self):
        self.events.append("stop")

    def close(self):
        self.events.append("close")


class FakeSpeakerBackend:
    def __init__(self, error=None):
        self.error = error
        self.streams = []

    def __call__(self):
        return self

    def output_stream(self, **kwargs):
        if self.error is not None:
            raise self.error
        stream = FakeOutputStream(kwargs)
        self.streams.append(stream)
        return stream


@pytest.fixture
def speaker(monkeypatch):
    fake = FakeSpeakerBackend()
    monkeypatch.setattr(SpeakerSinkCalculator, "backend", fake)
    return fake


def frames(n, rate=8000, channels=1, size=100):
    return [(AudioFrame(np.full((size, channels), i / 10, np.float32), rate), i * 12_500)
            for i in range(n)]


def play(packets, options=None):
    return CalculatorRunner("SpeakerSinkCalculator", options=options).run({"AUDIO": packets})


def test_frames_are_played_in_order_and_the_device_drains_on_close(speaker):
    play(frames(4, channels=2))
    [stream] = speaker.streams
    assert stream.kwargs == {"samplerate": 8000, "channels": 2, "dtype": "float32",
                             "device": None}
    assert [float(w[0, 0]) for w in stream.written] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert stream.events == ["start", "stop", "close"]


def test_mono_frames_fill_every_channel_of_a_stereo_device(speaker):
    play(frames(2), {"sample_rate": 8000, "channels": 2, "device": "3"})
    [stream] = speaker.streams
    assert stream.kwargs["device"] == 3
    assert all(w.shape == (100, 2) and (w[:, 0] == w[:, 1]).all() for w in stream.written)


@pytest.mark.parametrize("bad, message", [
    (AudioFrame(np.zeros((10, 1), np.float32), 16000), "16000 Hz"),
    (AudioFrame(np.zeros((10, 3), np.float32), 8000), "3 channels"),
])
def test_frames_the_device_cannot_play_raise(speaker, bad, message):
    with pytest.raises(MediaGraphError, match=message):
        play([frames(1, channels=2)[0], (bad, 99_999)])
    assert speaker.streams[0].events[-1] == "close"


@pytest.mark.parametrize("options, method", [({"sample_rate": 8000, "channels": 1}, "open"),
                                             (None, "process")])
def test_missing_output_device_raises_naming_it(speaker, options, method):
    speaker.error = ValueError("No output device matching 'hdmi'")
    with pytest.raises(MediaGraphError) as info:
        play(frames(1), {**(options or {}), "device": "hdmi"})
    assert isinstance(info.value, CalculatorError) and info.value.method == method
    assert isinstance(info.value.__cause__, DeviceUnavailableError)
    assert "cannot open output device 'hdmi'" in str(info.value)


def test_microphone_to_speaker_loopback(speaker, monkeypatch):
    mic = FakeAudioBackend(blocks=5)
    monkeypatch.setattr(MicrophoneSourceCalculator, "backend", mic)
    b = GraphBuilder()
    b.node("MicrophoneSourceCalculator", outputs=["AUDIO:audio"],
           options={"sample_rate": 8000, "frame_size": 80, "max_frames": 5})
    b.node("SpeakerSinkCalculator", inputs=["AUDIO:audio"])
    Graph(b.build()).run(timeout=30)
    [stream] = speaker.streams
    assert [float(w[0, 0]) for w in stream.written] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert stream.kwargs["samplerate"] == 8000


@pytest.mark.skipif(_portaudio_state() != "no portaudio", reason="PortAudio is installed")
def test_missing_portaudio_is_a_clear_error_in_open():
    with pytest.raises(MediaGraphError, match="PortAudio"):
        play(frames(1), {"sample_rate": 8000, "channels": 1})


def _has_output_device():
    try:
        import sounddevice

        sounddevice.query_devices(kind="output")
    except Exception:
        return False
    return True


@pytest.mark.skipif(not _has_output_device(), reason="no speaker on this machine")
def test_real_speaker_plays_a_short_tone():
    t = np.arange(800) / 8000
    tone = (0.05 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[:, None]
    play([(AudioFrame(tone, 8000), 0)])
