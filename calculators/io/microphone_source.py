"""MicrophoneSourceCalculator: audio from an input device (sounddevice InputStream)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from mediagraph.calculators.io._devices import DeviceUnavailableError, SoundDeviceBackend, parse_device
from mediagraph import Calculator, CalculatorContext, MediaGraphError, Options, Output, Stop
from mediagraph.formats import AudioFrame

_POLL_S = 0.1  # how long one process() call waits for audio before yielding the thread


class MicrophoneSourceCalculatorOptions(Options):
    sample_rate: int = 16000
    channels: int = 1
    frame_size: int = 1024    # samples per AudioFrame (PortAudio's blocksize)
    device: str = ""          # "": the default input; an index ("2") or a name substring
    max_frames: int = 0       # stop after this many frames; 0: run until stopped
    queue_size: int = 64      # frames buffered between the audio thread and the graph
    timeout_s: float = 5.0    # an error when the device delivers nothing for this long

    def check(self) -> None:
        if self.sample_rate <= 0 or self.channels <= 0 or self.frame_size <= 0:
            raise ValueError("sample_rate, channels and frame_size must be positive")
        if self.queue_size <= 0 or self.timeout_s <= 0 or self.max_frames < 0:
            raise ValueError("queue_size and timeout_s must be positive, max_frames not "
                             "negative")


class MicrophoneSourceCalculator(Calculator):
    """Capture float32 AudioFrames of `frame_size` samples from an input device.

    PortAudio calls back on its own thread; frames wait in a queue of `queue_size`.
    When the graph falls behind and the queue is full, new frames are dropped and
    counted (`dropped`, shown by the profiler) rather than blocking the audio thread.
    Timestamps count samples from the monotonic-clock time of the first callback,
    `t0 + index * 1_000_000 // sample_rate` µs, so they are strictly increasing, do
    not jitter, and a dropped frame leaves a gap of exactly its length.

    The stream comes from `backend()` (default: sounddevice), a class attribute tests
    replace; its `input_stream(**sounddevice_kwargs)` returns an object with
    `start()`, `stop()` and `close()` that calls `callback(indata, frames, time, status)`.

    Inputs:  none (a source)
    Outputs: AUDIO (AudioFrame)
    Options: sample_rate, channels, frame_size, device, max_frames, queue_size, timeout_s

    Example config:
        node { calculator: "MicrophoneSourceCalculator" output_stream: "AUDIO:mic"
               node_options { [type.googleapis.com/mediagraph.MicrophoneSourceCalculatorOptions] {
                 sample_rate: 16000 channels: 1 } } }
    """

    Options = MicrophoneSourceCalculatorOptions
    backend: ClassVar[Callable[[], Any] | None] = None
    clock: ClassVar[Callable[[], int]] = time.monotonic_ns

    audio = Output(AudioFrame)

    def open(self, cc: CalculatorContext) -> None:
        opts = self.options
        device = parse_device(opts.device)
        self.what = "the default input device" if device is None else f"input device {device!r}"
        factory = type(self).backend or (lambda: SoundDeviceBackend("MicrophoneSourceCalculator"))
        backend = factory()
        self.clock = type(self).clock
        self.queue: queue.Queue[tuple[int, np.ndarray]] = queue.Queue(maxsize=opts.queue_size)
        self.lock = threading.Lock()
        self.t0: int | None = None
        self.captured = 0
        self.dropped = 0
        self.overflows = 0
        self.sent = 0
        try:
            self.stream = backend.input_stream(
                samplerate=opts.sample_rate, channels=opts.channels, blocksize=opts.frame_size,
                dtype="float32", device=device, callback=self._callback)
        except MediaGraphError:
            raise
        except Exception as exc:
            raise DeviceUnavailableError(
                f"cannot open {self.what} ({opts.channels} ch @ {opts.sample_rate} Hz): "
                f"{exc}; is a microphone connected? list devices with "
                "'python -m sounddevice'") from exc
        self.last_audio = self.clock()
        try:
            self.stream.start()
        except Exception as exc:
            self.stream.close()
            raise DeviceUnavailableError(f"cannot start {self.what}: {exc}") from exc

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        # PortAudio's thread: copy (indata is reused), never block
        with self.lock:
            if self.t0 is None:
                self.t0 = self.clock() // 1000
            index = self.captured
            self.captured += frames
            if status:
                self.overflows += 1
        try:
            self.queue.put_nowait((index, np.array(indata, dtype=np.float32, copy=True)))
        except queue.Full:
            with self.lock:
                self.dropped += 1

    def process(self, cc: CalculatorContext) -> Any:
        opts = self.options
        if opts.max_frames and self.sent >= opts.max_frames:
            return Stop
        try:
            index, data = self.queue.get(timeout=_POLL_S)
        except queue.Empty:
            silent_ns = self.clock() - self.last_audio
            if silent_ns > opts.timeout_s * 1e9:
                raise DeviceUnavailableError(
                    f"{self.what} delivered no audio for {opts.timeout_s:g} s") from None
            return None  # nothing yet: the scheduler calls again (and can stop us)
        self.last_audio = self.clock()
        assert self.t0 is not None
        timestamp = self.t0 + index * 1_000_000 // opts.sample_rate
        cc.send(self.audio, AudioFrame(data, opts.sample_rate), timestamp=timestamp)
        self.sent += 1
        return None

    def close(self, cc: CalculatorContext) -> None:
        try:
            self.stream.stop()
        finally:
            self.stream.close()
