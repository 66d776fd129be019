"""MicrophoneSourceCalculator through a fake audio backend in real graphs; a real one if present."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.io._devices import DeviceUnavailableError
from mediagraph.calculators.io.microphone_source import MicrophoneSourceCalculator
from mediagraph import (
    Calculator,
    CalculatorContext,
    CalculatorError,
    Graph,
    GraphBuilder,
    Input,
    MediaGraphError,
    MissingDependencyError,
)
from mediagraph.formats import AudioFrame

pytestmark = pytest.mark.timeout(120)


class FakePortAudioError(Exception):
    pass


class FakeInputStream:
    """Calls back `blocks` times (block i holds the value i) from its own thread, or in
    start() itself with `synchronous`; `blocks=None` calls back until stopped."""

    def __init__(self, kwargs, blocks, synchronous):
        self.kwargs = kwargs
        self.blocks = blocks
        self.synchronous = synchronous
        self.stopped = threading.Event()
        self.closed = False
        self.thread = None

    def _deliver(self):
        frames, channels = self.kwargs["blocksize"], self.kwargs["channels"]
        i = 0
        while (self.blocks is None or i < self.blocks) and not self.stopped.is_set():
            block = np.full((frames, channels), float(i), np.float32)
            self.kwargs["callback"](block, frames, None, None)
            block[:] = -1.0  # PortAudio reuses its buffer: the calculator must have copied
            i += 1

    def start(self):
        if self.synchronous:
            self._deliver()
        else:
            self.thread = threading.Thread(target=self._deliver, daemon=True)
            self.thread.start()

    def stop(self):
        self.stopped.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
            assert not self.thread.is_alive()

    def close(self):
        self.closed = True


class FakeAudioBackend:
    def __init__(self, blocks=None, synchronous=False, error=None):
        self.blocks, self.synchronous, self.error = blocks, synchronous, error
        self.streams = []

    def __call__(self):  # the calculator calls its backend factory once per run
        return self

    def input_stream(self, **kwargs):
        if self.error is not None:
            raise self.error
        stream = FakeInputStream(kwargs, self.blocks, self.synchronous)
        self.streams.append(stream)
        return stream


def mic_graph(options, consumer=None):
    b = GraphBuilder()
    b.node("MicrophoneSourceCalculator", outputs=["AUDIO:audio"], options=options)
    if consumer is not None:
        b.node(consumer, inputs=["AUDIO:audio"])
    return Graph(b.build())


@pytest.fixture
def backend(monkeypatch):
    fake = FakeAudioBackend()
    monkeypatch.setattr(MicrophoneSourceCalculator, "backend", fake)
    return fake


def test_frames_are_copied_and_timestamped_by_sample_count(backend, monkeypatch):
    backend.blocks = 8
    monkeypatch.setattr(MicrophoneSourceCalculator, "clock", lambda: 7_000_000_123)
    out = mic_graph({"sample_rate": 16000, "channels": 2, "frame_size": 160,
                     "max_frames": 8}).run(outputs=["audio"], timeout=30)["audio"]
    assert [int(p.timestamp) for p in out] == [7_000_000 + i * 10_000 for i in range(8)]
    assert [float(p.value.to_ndarray()[0, 0]) for p in out] == list(range(8))
    assert all(p.value.to_ndarray().shape == (160, 2) and p.value.sample_rate == 16000
               for p in out)
    [stream] = backend.streams
    assert stream.kwargs["samplerate"] == 16000 and stream.kwargs["dtype"] == "float32"
    assert stream.stopped.is_set() and stream.closed


def test_full_queue_drops_new_frames_and_counts_them(backend):
    backend.blocks, backend.synchronous = 5, True
    graph = mic_graph({"frame_size": 100, "queue_size": 2, "max_frames": 2})
    out = graph.run(outputs=["audio"], timeout=30)["audio"]
    assert [float(p.value.to_ndarray()[0, 0]) for p in out] == [0.0, 1.0]
    [row] = [r for r in graph.profile().nodes if r.calculator == "MicrophoneSourceCalculator"]
    assert row.dropped == 3


class StopAfterThreeFramesForMicTest(Calculator):
    audio = Input(AudioFrame)

    def open(self, cc: CalculatorContext) -> None:
        self.seen = 0

    def process(self, cc: CalculatorContext) -> None:
        self.seen += 1
        if self.seen == 3:
            cc.request_stop()


def test_an_endless_stream_stops_cleanly_when_the_graph_stops(backend):
    graph = mic_graph({"frame_size": 64}, consumer=StopAfterThreeFramesForMicTest)
    graph.run(timeout=30)
    [stream] = backend.streams
    assert stream.stopped.is_set() and stream.closed and not stream.thread.is_alive()


def root_cause(error):
    while error.__cause__ is not None:
        error = error.__cause__
    return error


@pytest.mark.parametrize("device, named", [("", "the default input device"),
                                           ("7", "input device 7"),
                                           ("USB Mic", "input device 'USB Mic'")])
def test_missing_input_device_fails_in_open_naming_it(backend, device, named):
    backend.error = FakePortAudioError("Error querying device -1")
    with pytest.raises(MediaGraphError) as info:
        mic_graph({"device": device}).run(timeout=30)
    assert isinstance(info.value, CalculatorError) and info.value.method == "open"
    assert isinstance(info.value.__cause__, DeviceUnavailableError)
    assert f"cannot open {named}" in str(info.value) and "Error querying device" in str(info.value)


def test_silent_device_raises_after_the_timeout(backend):
    backend.blocks = 0
    with pytest.raises(MediaGraphError, match="delivered no audio for 0.3 s"):
        mic_graph({"timeout_s": 0.3}).run(timeout=30)
    assert backend.streams[0].closed


def test_missing_sounddevice_package_is_a_missing_dependency(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    with pytest.raises(MediaGraphError) as info:
        mic_graph({}).run(timeout=30)
    assert isinstance(info.value.__cause__, MissingDependencyError)
    assert "sounddevice" in str(info.value)


def _portaudio_state():
    try:
        import sounddevice
    except ImportError:
        return "no sounddevice"
    except OSError:
        return "no portaudio"
    try:
        sounddevice.query_devices(kind="input")
    except Exception:
        return "no input device"
    return "ok"


@pytest.mark.skipif(_portaudio_state() != "no portaudio", reason="PortAudio is installed")
def test_missing_portaudio_names_what_to_install():
    with pytest.raises(MediaGraphError) as info:
        mic_graph({}).run(timeout=30)
    assert isinstance(root_cause(info.value), DeviceUnavailableError)
    assert "PortAudio" in str(info.value) and "install" in str(info.value)


@pytest.mark.skipif(_portaudio_state() != "ok", reason="no microphone on this machine")
def test_real_microphone_delivers_frames():
    out = mic_graph({"max_frames": 3, "frame_size": 256}).run(outputs=["audio"], timeout=30)
    frames = out["audio"]
    assert len(frames) == 3 and frames[0].value.num_samples == 256
    stamps = [int(p.timestamp) for p in frames]
    assert stamps == sorted(set(stamps))
